/** Judging the measurements against the targets, printing them, and appending to RESULTS.md. */
import { appendFileSync, existsSync, writeFileSync } from 'node:fs'
import { requestsPerSecond, type WrkResult } from './wrk'

export interface Target {
  /** Minimum req/s as a fraction of the baseline's. */
  ratio: number
  /** Maximum p99 latency in ms, when the scenario has one. */
  p99Ms?: number
}

export interface ScenarioResult {
  id: string
  title: string
  result: WrkResult
  /** Statuses this scenario should answer; anything else is counted as unexpected. */
  expected: number[]
  target: Target | null
  /** CPU the server used during the measured run, as a fraction of one core (null: unknown). */
  cpu: number | null
  /** The baseline, measured right before this scenario: the ratio is to this run. */
  baseline: BaselineResult
  /** The server's answer replayed by a bare Bun.serve, right after (null: not replayed). */
  replay: ReplayResult | null
}

/** A run of the bare Bun.serve baseline, with the CPU its process used. */
export type BaselineResult = WrkResult & { cpu: number | null }

/** A run of the replay: a baseline answering a recorded answer of `bodyBytes`. */
export type ReplayResult = BaselineResult & { bodyBytes: number }

export interface Verdict {
  rps: number
  ratio: number
  p50Ms: number
  p99Ms: number
  unexpected: number
  pass: boolean | null
  why: string[]
}

export const STARTUP_TARGET_MS = 300
export const RSS_TARGET_MB = 150

export function judge(s: ScenarioResult): Verdict {
  const rps = requestsPerSecond(s.result)
  const ratio = rps / requestsPerSecond(s.baseline)
  const p50Ms = s.result.latency_us.p50 / 1000
  const p99Ms = s.result.latency_us.p99 / 1000
  const { connect, read, write, timeout } = s.result.errors
  const unexpectedStatuses = Object.entries(s.result.statuses)
    .filter(([status]) => !s.expected.includes(Number(status)))
    .reduce((sum, [, n]) => sum + n, 0)
  const unexpected = unexpectedStatuses + connect + read + write + timeout
  const why: string[] = []
  if (s.target) {
    if (ratio < s.target.ratio) why.push(`req/s ${pct(ratio)} < ${pct(s.target.ratio)} of baseline`)
    if (s.target.p99Ms !== undefined && p99Ms > s.target.p99Ms) why.push(`p99 ${p99Ms.toFixed(2)} ms > ${s.target.p99Ms} ms`)
  }
  if (unexpected > 0) why.push(`${unexpected} unexpected responses/errors`)
  return { rps, ratio, p50Ms, p99Ms, unexpected, pass: s.target ? why.length === 0 : null, why }
}

export const cpuText = (cpu: number | null) => (cpu === null ? '?' : `${Math.round(cpu * 100)}%`)

export const pct = (x: number) => `${Math.round(x * 100)}%`
const num = (x: number) => Math.round(x).toLocaleString('en-US')
const ms = (x: number) => x.toFixed(2)
const mark = (pass: boolean | null) => (pass === null ? '—' : pass ? 'pass' : '**FAIL**')

export function statusText(r: WrkResult): string {
  const parts = Object.entries(r.statuses)
    .sort(([a], [b]) => Number(a) - Number(b))
    .map(([status, n]) => `${status}×${num(n)}`)
  const { connect, read, write, timeout } = r.errors
  const errors = Object.entries({ connect, read, write, timeout }).filter(([, n]) => n > 0).map(([k, n]) => `${k} errors×${n}`)
  return [...parts, ...errors].join(', ') || 'none'
}

export function targetText(t: Target | null): string {
  if (!t) return '—'
  return `≥ ${pct(t.ratio)}${t.p99Ms !== undefined ? `, p99 ≤ ${t.p99Ms} ms` : ''}`
}

export interface RunInfo {
  date: Date
  commit: string
  nproc: string
  cpu: string
  bunVersion: string
  wrkVersion: string
  connections: number
  threads: number
  seconds: number
  warmupSeconds: number
  serverFlags: string
  seed: string
  /** CPU used by processes other than the bench's during the measurements. */
  otherCpu: string
  /** 1-minute load average at the start (other work on the machine skews the numbers). */
  load: string
}

export interface Summary {
  info: RunInfo
  scenarios: ScenarioResult[]
  startupMs: number
  peakRssMb: number
  baselineRssMb: number | null
}

interface Row {
  name: string
  rps: string
  ratio: string
  p50: string
  p99: string
  statuses: string
  cpu: string
  target: string
  result: string
}

/** The row of a bare Bun.serve run (the baseline, a replay): no target, its ratio to `baseline`. */
function bareRow(name: string, run: BaselineResult, baseline: BaselineResult): Row {
  return {
    name,
    rps: num(requestsPerSecond(run)),
    ratio: pct(requestsPerSecond(run) / requestsPerSecond(baseline)),
    p50: ms(run.latency_us.p50 / 1000),
    p99: ms(run.latency_us.p99 / 1000),
    statuses: statusText(run),
    cpu: cpuText(run.cpu),
    target: '—',
    result: '—',
  }
}

function rows(s: Omit<Summary, 'info'>): { rows: Row[]; failures: string[] } {
  const out: Row[] = []
  const failures: string[] = []
  for (const scenario of s.scenarios) {
    const b = scenario.baseline
    out.push(bareRow(`baseline for (${scenario.id}): bare Bun.serve \`{"ok":true}\``, b, b))
    const v = judge(scenario)
    if (v.pass === false) failures.push(`(${scenario.id}) ${v.why.join('; ')}`)
    out.push({
      name: `(${scenario.id}) ${scenario.title}`,
      rps: num(v.rps),
      ratio: pct(v.ratio),
      p50: ms(v.p50Ms),
      p99: ms(v.p99Ms),
      statuses: statusText(scenario.result),
      cpu: cpuText(scenario.cpu),
      target: targetText(scenario.target),
      result: mark(v.pass),
    })
    const r = scenario.replay
    if (r) out.push(bareRow(`(${scenario.id})'s answer (${num(r.bodyBytes)} bytes) from a bare Bun.serve (no work)`, r, b))
  }
  const startupPass = s.startupMs <= STARTUP_TARGET_MS
  if (!startupPass) failures.push(`startup ${Math.round(s.startupMs)} ms > ${STARTUP_TARGET_MS} ms`)
  out.push({
    name: 'startup: spawn → first 200 on /health',
    rps: `${Math.round(s.startupMs)} ms`,
    ratio: '', p50: '', p99: '', statuses: '', cpu: '',
    target: `≤ ${STARTUP_TARGET_MS} ms`,
    result: mark(startupPass),
  })
  const rssPass = s.peakRssMb <= RSS_TARGET_MB
  if (!rssPass) failures.push(`peak RSS ${s.peakRssMb.toFixed(1)} MB > ${RSS_TARGET_MB} MB`)
  out.push({
    name: 'server peak RSS (VmHWM)',
    rps: `${s.peakRssMb.toFixed(1)} MB`,
    ratio: s.baselineRssMb === null ? '' : `baseline ${s.baselineRssMb.toFixed(1)} MB`,
    p50: '', p99: '', statuses: '', cpu: '',
    target: `≤ ${RSS_TARGET_MB} MB`,
    result: mark(rssPass),
  })
  return { rows: out, failures }
}

const COLUMNS: [keyof Row, string][] = [
  ['name', 'scenario'],
  ['rps', 'req/s'],
  ['ratio', 'vs baseline'],
  ['p50', 'p50 ms'],
  ['p99', 'p99 ms'],
  ['statuses', 'statuses'],
  ['cpu', 'server CPU'],
  ['target', 'target'],
  ['result', 'result'],
]

/** A plain-text table for the terminal. Returns the failed targets. */
export function printSummary(s: Omit<Summary, 'info'>): string[] {
  const { rows: table, failures } = rows(s)
  const widths = COLUMNS.map(([key, title]) => Math.max(title.length, ...table.map((r) => r[key].length)))
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd()
  console.log()
  console.log(line(COLUMNS.map(([, title]) => title)))
  console.log(line(widths.map((w) => '-'.repeat(w))))
  for (const r of table) console.log(line(COLUMNS.map(([key]) => r[key].replaceAll('**', ''))))
  console.log()
  console.log(failures.length === 0 ? 'All targets met.' : `Targets missed:\n${failures.map((f) => `  - ${f}`).join('\n')}`)
  return failures
}

const HEADER = `# Benchmark results

Run with \`npm run bench\` (needs \`wrk\`: \`apt-get install wrk\`). It builds \`dist/codepushgo\`, seeds a
temporary data directory (100 users, 10 orgs, 100 apps, 10,000 keys of mixed modes and limits)
directly with bun:sqlite, starts the binary on it and loads it over loopback with wrk, and loads a
bare \`Bun.serve\` answering \`{"ok":true}\` with the same settings in the same run as the baseline:
right before each scenario, which is compared with that run only, so that a machine whose speed
drifts (these are shared) moves both sides of each ratio together.
Each run appends a section below. Settings: \`BENCH_SECONDS\` (per scenario, default 8),
\`BENCH_WARMUP_SECONDS\` (default 1), \`BENCH_CONNECTIONS\` (default 32), \`BENCH_THREADS\` (default 2).

Scenarios and targets (req/s as a share of the baseline's req/s in the same run):

| scenario | target |
|---|---|
| (a) \`GET /apikey/verify?mode=read&app_id=…\`, rotating over thousands of valid keys | ≥ 60%, p99 ≤ 5 ms |
| (b) \`GET /apikey/\` for a user with 20 keys | ≥ 40%, p99 ≤ 5 ms |
| (c) \`GET /app/\`, rotating over all valid keys | ≥ 40%, p99 ≤ 5 ms |
| (d) \`POST /apikey/\` then \`DELETE /apikey/:id/\`, alternating | ≥ 10% |
| (e) invalid keys (well-formed unknown keys and garbage) → 401 | ≥ 50% |
| startup: spawn → first 200 on \`/health\` | ≤ 300 ms |
| server peak RSS (VmHWM) over the whole run | ≤ 150 MB |

The server runs with \`--auth-failure-limit 999999999/1\` so that (e) measures the rejection
path rather than the per-address throttle (which would answer 429 after 100 failures a minute),
and with \`--usage-flush-seconds 5\` (the default). A scenario also fails when it gets responses
other than the expected ones (2xx for (a)–(d), 401 for (e)) or socket errors.

"(x)'s answer (N bytes) from a bare Bun.serve (no work)", for (a), (b), (c) and (e) (since
2026-11-27 21:30): right after the scenario, its load against a bare \`Bun.serve\` that reads the
request's URL and \`authorization\` header and answers what the server answered one of the
scenario's requests (same status, headers and body; since 21:53 the answer of median size
among 25 of them): what the answer alone costs. The distance from it to the scenario's row is
the server's own work; from the baseline to it, the answer's size and headers and the larger
requests, which no implementation avoids.

"server CPU" is the CPU the server (for the baseline rows: the baseline process) used during the
measured run, as a share of one core (Bun's GC and I/O threads can take it past 100%): near or
above 100% means the server's JavaScript thread was the bottleneck. Each run also records how
much CPU other processes on the machine used meanwhile; with more than ~10% the numbers are
noisy (wrk, the server and anything else share the cores).
`

/** Appends this run's section to RESULTS.md, creating the file with its header if needed. */
export function appendResults(path: string, s: Summary): void {
  if (!existsSync(path)) writeFileSync(path, HEADER)
  const { rows: table } = rows(s)
  const i = s.info
  const esc = (cell: string) => cell.replaceAll('|', '\\|')
  const date = i.date.toISOString().replace('T', ' ').slice(0, 16)
  const md = [
    '',
    `## ${date} UTC — commit ${i.commit}`,
    '',
    `Machine: nproc ${i.nproc} (${i.cpu}), bun ${i.bunVersion}, wrk ${i.wrkVersion}; ${i.connections} connections, ` +
      `${i.threads} threads, ${i.seconds} s per scenario after a ${i.warmupSeconds} s warm-up; server flags \`${i.serverFlags}\`; ` +
      `seed: ${i.seed}; 1-min load average at start ${i.load}; ` +
      `other processes used ${i.otherCpu} during the measurements.`,
    '',
    `| ${COLUMNS.map(([, title]) => title).join(' | ')} |`,
    '|---|---:|---:|---:|---:|---|---:|---|---|',
    ...table.map((r) => `| ${COLUMNS.map(([key]) => esc(r[key])).join(' | ')} |`),
    '',
  ].join('\n')
  appendFileSync(path, md)
}
