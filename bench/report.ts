/** Judging the measurements against the targets, printing them, and appending to RESULTS.md. */
import { appendFileSync, existsSync, writeFileSync } from 'node:fs'
import { requestsPerSecond, type WrkResult } from './wrk'
import { mainThreadUs, type Breakdown } from './profile'

export interface Target {
  /** Minimum req/s as a fraction of the baseline's. */
  ratio: number
  /** Maximum p99 latency in ms, when the scenario has one. */
  p99Ms?: number
}

/**
 * One round of a scenario: a run of the baseline, then the scenario's run, then (for the read
 * scenarios) the replay's. A scenario's ratio is the median of its rounds' own ratios: a round's
 * runs follow each other within seconds, so a machine whose speed drifts (these are shared)
 * moves both sides of each ratio together, and one disturbed run moves only the extreme.
 */
export interface Round {
  baseline: MeasuredRun
  scenario: MeasuredRun
  /** The server's answer replayed by a bare Bun.serve (null: not replayed). */
  replay: ReplayRun | null
}

export interface ScenarioResult {
  id: string
  title: string
  /** Statuses this scenario should answer; anything else is counted as unexpected. */
  expected: number[]
  target: Target | null
  rounds: Round[]
}

/** A wrk run, with the CPU the loaded process used meanwhile, as a fraction of one core (null: unknown). */
export type MeasuredRun = WrkResult & { cpu: number | null }

/** A run of the replay: a bare Bun.serve answering a recorded answer of `bodyBytes`. */
export type ReplayRun = MeasuredRun & { bodyBytes: number }

/** The median of some numbers (the mean of the middle two for an even count; NaN for none). */
export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN
  const sorted = [...values].sort((a, b) => a - b)
  const middle = sorted.length >> 1
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2
}

/**
 * Medians over the rounds' runs of one kind (req/s, ratio, p50, p99, CPU), each run's req/s
 * taken relative to its own round's baseline; statuses and errors are totals.
 */
export interface RunsSummary {
  rps: number
  /** The median of the rounds' ratios, and their range. */
  ratio: number
  ratioMin: number
  ratioMax: number
  p50Ms: number
  p99Ms: number
  cpu: number | null
  /** Statuses and socket errors over all the runs. */
  statuses: Record<string, number>
  errors: WrkResult['errors']
}

export function summarise(runs: readonly MeasuredRun[], baselines: readonly MeasuredRun[]): RunsSummary {
  const ratios = runs.map((run, i) => requestsPerSecond(run) / requestsPerSecond(baselines[i]!))
  const cpus = runs.flatMap((run) => (run.cpu === null ? [] : [run.cpu]))
  const statuses: Record<string, number> = {}
  const errors = { connect: 0, read: 0, write: 0, status: 0, timeout: 0 }
  for (const run of runs) {
    for (const [status, n] of Object.entries(run.statuses)) statuses[status] = (statuses[status] ?? 0) + n
    for (const kind of Object.keys(errors) as (keyof typeof errors)[]) errors[kind] += run.errors[kind]
  }
  return {
    rps: median(runs.map(requestsPerSecond)),
    ratio: median(ratios),
    ratioMin: Math.min(...ratios),
    ratioMax: Math.max(...ratios),
    p50Ms: median(runs.map((run) => run.latency_us.p50)) / 1000,
    p99Ms: median(runs.map((run) => run.latency_us.p99)) / 1000,
    cpu: cpus.length === 0 ? null : median(cpus),
    statuses,
    errors,
  }
}

export interface Verdict extends RunsSummary {
  unexpected: number
  pass: boolean | null
  why: string[]
}

export const STARTUP_TARGET_MS = 300
export const RSS_TARGET_MB = 150

/** The scenario against its target: the median ratio and the median p99 over its rounds. */
export function judge(s: ScenarioResult): Verdict {
  const summary = summarise(
    s.rounds.map((round) => round.scenario),
    s.rounds.map((round) => round.baseline),
  )
  const { connect, read, write, timeout } = summary.errors
  const unexpectedStatuses = Object.entries(summary.statuses)
    .filter(([status]) => !s.expected.includes(Number(status)))
    .reduce((sum, [, n]) => sum + n, 0)
  const unexpected = unexpectedStatuses + connect + read + write + timeout
  const why: string[] = []
  if (s.target) {
    // Written so that what could not be measured (no rounds: NaN; a baseline that answered
    // nothing: Infinity) fails rather than passes.
    if (!Number.isFinite(summary.ratio)) why.push('req/s: no baseline to compare with')
    else if (!(summary.ratio >= s.target.ratio)) why.push(`req/s ${percentDown(summary.ratio)} < ${pct(s.target.ratio)} of baseline`)
    if (s.target.p99Ms !== undefined && !(summary.p99Ms <= s.target.p99Ms)) why.push(`p99 ${summary.p99Ms.toFixed(2)} ms > ${s.target.p99Ms} ms`)
  }
  if (unexpected > 0) why.push(`${unexpected} unexpected responses/errors`)
  return { ...summary, unexpected, pass: s.target ? why.length === 0 : null, why }
}

export const cpuText = (cpu: number | null) => (cpu === null ? '?' : `${Math.round(cpu * 100)}%`)

export const pct = (x: number) => `${Math.round(x * 100)}%`
/** A share to one decimal, rounded down: 59.97% is shown as 59.9%, never as a met 60%. */
const percentDown = (x: number) => `${(Math.floor(x * 1000) / 10).toFixed(1)}%`
const num = (x: number) => Math.round(x).toLocaleString('en-US')
const ms = (x: number) => x.toFixed(2)
const mark = (pass: boolean | null) => (pass === null ? '—' : pass ? 'pass' : '**FAIL**')

export function statusText(r: Pick<WrkResult, 'statuses' | 'errors'>): string {
  const parts = Object.entries(r.statuses)
    .sort(([a], [b]) => Number(a) - Number(b))
    .map(([status, n]) => `${status}×${num(n)}`)
  const { connect, read, write, timeout } = r.errors
  const errors = Object.entries({ connect, read, write, timeout }).filter(([, n]) => n > 0).map(([k, n]) => `${k} errors×${n}`)
  return [...parts, ...errors].join(', ') || 'none'
}

/** The median ratio (to one decimal, rounded down), and with `showRange` the range of the rounds' ratios. */
export function ratioText(s: Pick<RunsSummary, 'ratio' | 'ratioMin' | 'ratioMax'>, showRange: boolean): string {
  return showRange ? `${percentDown(s.ratio)} (${Math.round(s.ratioMin * 100)}-${pct(s.ratioMax)})` : percentDown(s.ratio)
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
  rounds: number
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
  /** With BENCH_PERF=1: one more run of each scenario and of its replay, profiled. */
  profiles?: ProfiledRun[]
}

/** One profiled run: what it was, and where its CPU time went. */
export interface ProfiledRun {
  label: string
  breakdown: Breakdown
}

const microseconds = (x: number) => x.toFixed(1)

/** A markdown table cell's text. */
const escapeCell = (cell: string) => cell.replaceAll('|', '\\|')

/** The profiles as markdown: a table of µs of CPU per request, then each run's top functions. */
export function profileLines(profiles: readonly ProfiledRun[]): string[] {
  if (profiles.length === 0) return []
  return [
    "Where the CPU time went (BENCH_PERF=1: `perf record -g` during one more run after the rounds, not measured; compiled " +
      "JavaScript named from JSC's JIT dump), µs per request (\"native\": Bun's code, and JavaScript JSC interprets rather than compiles):",
    '',
    '| run | kernel: waking the client | kernel: other | native, no compiled JS on the stack | compiled JS | native called from JS | main thread | other threads |',
    '|---|---:|---:|---:|---:|---:|---:|---:|',
    ...profiles.map(({ label, breakdown: b }) =>
      `| ${escapeCell(label)} | ${[b.kernelWakingReader, b.kernelOther, b.nativeWithoutJs, b.js, b.nativeFromJs, mainThreadUs(b), b.otherThreads].map(microseconds).join(' | ')} |`),
    '',
    'The JavaScript functions the main thread was in or under, counting what they called through glue code such as call trampolines ' +
      '(µs per request; in brackets, in the native and kernel code they called):',
    '',
    ...profiles.map(({ label, breakdown: b }) =>
      `- ${label}: ${b.functions.map((f) => `\`${f.name}\` ${microseconds(f.total)} (${microseconds(f.called)})`).join(', ') || 'none'}`),
    '',
  ]
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

/** A row from the summary of some runs. */
function summaryRow(name: string, summary: RunsSummary, showRange: boolean, target: Target | null, result: string): Row {
  return {
    name,
    rps: num(summary.rps),
    ratio: ratioText(summary, showRange),
    p50: ms(summary.p50Ms),
    p99: ms(summary.p99Ms),
    statuses: statusText(summary),
    cpu: cpuText(summary.cpu),
    target: targetText(target),
    result,
  }
}

function rows(s: Omit<Summary, 'info'>): { rows: Row[]; failures: string[] } {
  const out: Row[] = []
  const failures: string[] = []
  for (const scenario of s.scenarios) {
    const baselines = scenario.rounds.map((round) => round.baseline)
    const showRange = scenario.rounds.length > 1
    // Each baseline run is its own round's 100%: no range to show.
    out.push(summaryRow(`baseline for (${scenario.id}): bare Bun.serve \`{"ok":true}\``, summarise(baselines, baselines), false, null, '—'))
    const v = judge(scenario)
    if (v.pass === false) failures.push(`(${scenario.id}) ${v.why.join('; ')}`)
    out.push(summaryRow(`(${scenario.id}) ${scenario.title}`, v, showRange, scenario.target, mark(v.pass)))
    // Each replay against the baseline of its own round.
    const replayed = scenario.rounds.flatMap(({ baseline, replay }) => (replay === null ? [] : [{ baseline, replay }]))
    if (replayed.length > 0) {
      const name = `(${scenario.id})'s answer (${num(replayed[0]!.replay.bodyBytes)} bytes) from a bare Bun.serve (no work)`
      const summary = summarise(replayed.map((r) => r.replay), replayed.map((r) => r.baseline))
      out.push(summaryRow(name, summary, replayed.length > 1, null, '—'))
    }
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
bare \`Bun.serve\` answering \`{"ok":true}\` with the same settings in the same run as the baseline.
Each scenario runs in rounds (default 3): the baseline, right before the scenario, then the
scenario, then (for the read scenarios) the replay below. Each round's ratio is to its own
baseline run, so that a machine whose speed drifts (these are shared) moves both sides of it
together, and the scenario is judged by the median of its rounds (req/s, ratio, p50, p99 and
CPU are medians, statuses are totals; the ratios' range is shown in brackets), so that one
disturbed run decides nothing.
Each run appends a section below. Settings: \`BENCH_ROUNDS\` (odd, default 3), \`BENCH_SECONDS\` (per
run, default 4), \`BENCH_WARMUP_SECONDS\` (before a scenario's first round, default 1),
\`BENCH_CONNECTIONS\` (default 32), \`BENCH_THREADS\` (default 2), \`BENCH_PERF=1\` (after the rounds,
one more run of each scenario and of its replay, profiled with Linux perf: the "Where the CPU time went"
tables; before 2026-11-28 00:40, round 1 itself was profiled).

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
scenario's requests (same status, headers and body; since 21:53 the answer of median size among 25
of them; since the run of 2026-11-27 22:41 in each round, after the scenario, and recorded after
its first run, with the keys' last use filled in as the scenario saw it: the runs of 22:41 to 22:53
recorded it before, 29 bytes shorter for (a)): what the answer alone costs. The distance from it to
the scenario's row is the server's own work; from the baseline to it, the answer's size and headers
and the larger requests, which no implementation avoids.

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
  const date = i.date.toISOString().replace('T', ' ').slice(0, 16)
  const md = [
    '',
    `## ${date} UTC — commit ${i.commit}`,
    '',
    `Machine: nproc ${i.nproc} (${i.cpu}), bun ${i.bunVersion}, wrk ${i.wrkVersion}; ${i.connections} connections, ` +
      `${i.threads} threads; ${i.rounds} rounds of ${i.seconds} s runs per scenario (baseline, scenario, replay), after a ` +
      `${i.warmupSeconds} s warm-up of each; server flags \`${i.serverFlags}\`; ` +
      `seed: ${i.seed}; 1-min load average at start ${i.load}; ` +
      `other processes used ${i.otherCpu} during the measurements.`,
    '',
    `| ${COLUMNS.map(([, title]) => title).join(' | ')} |`,
    '|---|---:|---:|---:|---:|---|---:|---|---|',
    ...table.map((r) => `| ${COLUMNS.map(([key]) => escapeCell(r[key])).join(' | ')} |`),
    '',
    ...profileLines(s.profiles ?? []),
  ].join('\n')
  appendFileSync(path, md)
}
