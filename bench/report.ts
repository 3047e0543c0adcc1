/** Judging the measurements against the targets, printing them, and writing the latest run into RESULTS.md. */
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import type { WideResult } from './wide'
import { requestsPerSecond, type WrkResult } from './wrk'

export interface Target {
  /** Minimum req/s as a fraction of the baseline's. */
  ratio: number
  /** Maximum p99 latency in ms, when the scenario has one. */
  p99Ms?: number
  /**
   * With `p99Ms`: the p99 may also reach this many times the baseline's p99 in the same round
   * (a loaded machine moves both), whichever is more.
   */
  p99TimesBaseline?: number
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
    const p99Why = p99Refusal(s)
    if (p99Why !== null) why.push(p99Why)
  }
  if (unexpected > 0) why.push(`${unexpected} unexpected responses/errors`)
  return { ...summary, unexpected, pass: s.target ? why.length === 0 : null, why }
}

/**
 * Why the scenario's p99 misses its target, or null. With `p99TimesBaseline`, each round's
 * p99 is held to max(p99Ms, factor × its baseline's p99), and the median of the rounds' shares
 * of their allowance decides.
 */
function p99Refusal(s: ScenarioResult): string | null {
  const target = s.target
  if (target?.p99Ms === undefined) return null
  const { p99Ms, p99TimesBaseline: factor } = target
  const allowance = (round: Round) => Math.max(p99Ms, (factor ?? 0) * (round.baseline.latency_us.p99 / 1000))
  const share = median(s.rounds.map((round) => round.scenario.latency_us.p99 / 1000 / allowance(round)))
  if (share <= 1) return null
  const p99 = median(s.rounds.map((round) => round.scenario.latency_us.p99 / 1000))
  const allowed = median(s.rounds.map(allowance))
  return factor === undefined ? `p99 ${p99.toFixed(2)} ms > ${p99Ms} ms` : `p99 ${p99.toFixed(2)} ms > max(${p99Ms} ms, ${factor} × baseline p99) = ${allowed.toFixed(2)} ms`
}

export const cpuText = (cpu: number | null) => (cpu === null ? '?' : `${Math.round(cpu * 100)}%`)

export const pct = (x: number) => `${Math.round(x * 100)}%`
/** A share to one decimal, rounded down: 59.97% is shown as 59.9%, never as a met 60%. */
export const percentDown = (x: number) => `${(Math.floor(x * 1000) / 10).toFixed(1)}%`
export const num = (x: number) => Math.round(x).toLocaleString('en-US')
export const ms = (x: number) => x.toFixed(2)
export const mark = (pass: boolean | null) => (pass === null ? '—' : pass ? 'pass' : '**FAIL**')

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
  const p99 = t.p99Ms === undefined ? '' : t.p99TimesBaseline === undefined ? `, p99 ≤ ${t.p99Ms} ms` : `, p99 ≤ max(${t.p99Ms} ms, ${t.p99TimesBaseline} × baseline's)`
  return `≥ ${pct(t.ratio)}${p99}`
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
}

/** A markdown table cell's text. */
export const escapeCell = (cell: string) => cell.replaceAll('|', '\\|')

/** A row of a table of runs: every cell as shown. */
export interface Row {
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

/** The columns of the small part's table (the cluster part's adds one). */
export const COLUMNS: [keyof Row, string][] = [
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

/** A plain-text table for the terminal, columns padded to their widest cell. */
export function printTable<R extends { [K in keyof R]: string }>(columns: readonly [keyof R, string][], table: readonly R[]): void {
  const widths = columns.map(([key, title]) => Math.max(title.length, ...table.map((r) => r[key]!.length)))
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd()
  console.log()
  console.log(line(columns.map(([, title]) => title)))
  console.log(line(widths.map((w) => '-'.repeat(w))))
  for (const r of table) console.log(line(columns.map(([key]) => r[key]!.replaceAll('**', ''))))
}

/** The small part as a plain-text table for the terminal. Returns the failed targets. */
export function printSummary(s: Omit<Summary, 'info'>): string[] {
  const { rows: table, failures } = rows(s)
  printTable(COLUMNS, table)
  return failures
}

/** The small part's table as markdown lines. */
export function smallMarkdown(s: Omit<Summary, 'info'>): string[] {
  const { rows: table } = rows(s)
  return [
    `| ${COLUMNS.map(([, title]) => title).join(' | ')} |`,
    '|---|---:|---:|---:|---:|---|---:|---|---|',
    ...table.map((r) => `| ${COLUMNS.map(([key]) => escapeCell(r[key])).join(' | ')} |`),
  ]
}

// ---- the wide part ---------------------------------------------------------------------------

export const WIDE_RSS_TARGET_MB = 200
/** (f) against (a), p99 of both, the event loop's delay under (f), (a)'s last round against its first. */
export const WIDE_TARGETS = { ratio: 0.6, p99Ms: 10, loopDelayP99Ms: 5, hotDrift: 0.1 }

interface WideRow {
  name: string
  value: string
  detail: string
  target: string
  result: string
}

const ratioRange = (ratios: number[]) => `${percentDown(median(ratios))} (${Math.round(Math.min(...ratios) * 100)}-${pct(Math.max(...ratios))})`
const msList = (values: number[]) => values.map((v) => v.toFixed(2)).join(', ')

/** The wide part against its targets: one row per number. */
export function judgeWide(w: WideResult): { rows: WideRow[]; failures: string[] } {
  const out: WideRow[] = []
  const failures: string[] = []
  const row = (name: string, value: string, detail: string, target: string, pass: boolean | null) => {
    out.push({ name, value, detail, target, result: mark(pass) })
    if (pass === false) failures.push(`wide: ${name}: ${value} (target ${target})`)
  }
  const rps = requestsPerSecond
  const hot = w.rounds.map((r) => r.hot)
  const wide = w.rounds.map((r) => r.wide)
  row('startup on the 1M-key database', `${Math.round(w.startupMs)} ms`, 'spawn → first 200 on /health', `≤ ${STARTUP_TARGET_MS} ms`, w.startupMs <= STARTUP_TARGET_MS)
  row('(a) 1,000 hot keys: req/s vs baseline', ratioRange(w.rounds.map((r) => rps(r.hot) / rps(r.baseline))), `${num(median(hot.map(rps)))} req/s (rounds: ${hot.map((r) => num(rps(r))).join(', ')})`, '—', null)
  const fRatios = w.rounds.map((r) => rps(r.wide) / rps(r.hot))
  row('(f) 100,000 keys: req/s vs (a)', ratioRange(fRatios), `${num(median(wide.map(rps)))} req/s (rounds: ${wide.map((r) => num(rps(r))).join(', ')})`, `≥ ${pct(WIDE_TARGETS.ratio)}`, median(fRatios) >= WIDE_TARGETS.ratio)
  for (const [name, runs] of [['(a)', hot], ['(f)', wide]] as const) {
    const p99s = runs.map((r) => r.latency_us.p99 / 1000)
    row(`${name} p99`, `${median(p99s).toFixed(2)} ms`, `rounds: ${msList(p99s)}`, `≤ ${WIDE_TARGETS.p99Ms} ms`, median(p99s) <= WIDE_TARGETS.p99Ms)
  }
  for (const [name, runs] of [['(a)', hot], ['(f)', wide]] as const) {
    const delays = runs.flatMap((r) => (r.loopDelay === null ? [] : [r.loopDelay]))
    const p99 = median(delays.map((d) => d.p99Ms))
    const target = name === '(f)' ? `p99 ≤ ${WIDE_TARGETS.loopDelayP99Ms} ms` : '—'
    row(`event-loop delay under ${name}`, `p99 ${p99.toFixed(2)} ms, max ${Math.max(...delays.map((d) => d.maxMs)).toFixed(1)} ms`, `p99 rounds: ${msList(delays.map((d) => d.p99Ms))}; max: ${msList(delays.map((d) => d.maxMs))}`, target, name === '(f)' ? p99 <= WIDE_TARGETS.loopDelayP99Ms : null)
  }
  const drift = rps(hot.at(-1)!) / rps(hot[0]!) - 1
  const first = w.rounds[0]!
  const last = w.rounds.at(-1)!
  const relativeDrift = rps(last.hot) / rps(last.baseline) / (rps(first.hot) / rps(first.baseline)) - 1
  const signed = (x: number) => `${x >= 0 ? '+' : ''}${(x * 100).toFixed(1)}%`
  row(
    "(a)'s last round against its first",
    signed(drift),
    `${num(rps(hot[0]!))} → ${num(rps(hot.at(-1)!))} req/s; against each round's baseline ${signed(relativeDrift)}`,
    `within ±${pct(WIDE_TARGETS.hotDrift)}`,
    Math.abs(drift) <= WIDE_TARGETS.hotDrift + 1e-9,
  )
  for (const c of w.paging) {
    const cost = median(c.runs.map((r) => 1 / rps(r)))
    const reference = c.comparedWith === undefined ? null : w.paging.find((p) => p.label === c.comparedWith)!
    const relative = reference === null ? null : cost / median(reference.runs.map((r) => 1 / rps(r)))
    const p99 = median(c.runs.map((r) => r.latency_us.p99 / 1000))
    row(
      `(g) ${c.label}`,
      `${num(median(c.runs.map(rps)))} req/s`,
      `p99 ${p99.toFixed(2)} ms${relative === null ? '' : `; costs ${relative.toFixed(2)}× the first page`}`,
      c.maxCost === undefined ? '—' : `≤ ${c.maxCost}× the first page`,
      c.maxCost === undefined || relative === null ? null : relative <= c.maxCost,
    )
  }
  const failed = Object.values(w.writes.failures).reduce((sum, n) => sum + n, 0)
  row(
    `POST /apikey/ × ${num(w.writes.keys + failed)} (125 writers, 32 at a time)`,
    `${num(w.writes.keys / w.writes.seconds)} keys/s`,
    `${w.writes.seconds.toFixed(1)} s; p50 ${w.writes.p50Ms.toFixed(1)} ms, p99 ${w.writes.p99Ms.toFixed(1)} ms${failed > 0 ? `; failures ${JSON.stringify(w.writes.failures)}` : ''}`,
    'no failure',
    failed === 0,
  )
  const madeRatios = w.madeRounds.map((r) => rps(r.made) / rps(r.hot))
  row('verify over the keys made through the API: req/s vs (a)', ratioRange(madeRatios), `${num(median(w.madeRounds.map((r) => rps(r.made))))} req/s, p99 ${median(w.madeRounds.map((r) => r.made.latency_us.p99 / 1000)).toFixed(2)} ms`, '—', null)
  row('server peak RSS (VmHWM) through (a), (f) and (g)', `${w.peakRssInUseMb.toFixed(1)} MB`, '100,000 keys of 1,000,000 in use', `≤ ${WIDE_RSS_TARGET_MB} MB`, w.peakRssInUseMb <= WIDE_RSS_TARGET_MB)
  row('server peak RSS (VmHWM) over the whole wide part', `${w.peakRssMb.toFixed(1)} MB`, `with the 100,000 keys made through the API in use too; read model at the end: ${num(w.readModel.entries)} entries, ${w.readModel.mb.toFixed(1)} of ${w.readModel.budgetMb.toFixed(0)} MB; key lookups ${num(w.readModel.hits)} hits, ${num(w.readModel.misses)} misses`, '—', null)
  const unexpected = [...hot, ...wide, ...w.paging.flatMap((c) => c.runs), ...w.madeRounds.flatMap((r) => [r.hot, r.made])].reduce(
    (sum, run) => sum + Object.entries(run.statuses).filter(([status]) => status !== '200').reduce((n, [, count]) => n + count, 0) + run.errors.connect + run.errors.read + run.errors.write + run.errors.timeout,
    0,
  )
  row('unexpected answers or socket errors in the wide part', num(unexpected), '', '0', unexpected === 0)
  return { rows: out, failures }
}

const WIDE_COLUMNS: [keyof WideRow, string][] = [['name', 'wide part'], ['value', 'measured'], ['detail', 'detail'], ['target', 'target'], ['result', 'result']]

/** The wide part as a plain-text table for the terminal. Returns the failed targets. */
export function printWide(w: WideResult): string[] {
  const { rows: table, failures } = judgeWide(w)
  printTable(WIDE_COLUMNS, table)
  return failures
}

export function wideMarkdown(w: WideResult): string[] {
  const { rows: table } = judgeWide(w)
  return [
    `| ${WIDE_COLUMNS.map(([, title]) => title).join(' | ')} |`,
    '|---|---:|---|---|---|',
    ...table.map((r) => `| ${WIDE_COLUMNS.map(([key]) => escapeCell(r[key])).join(' | ')} |`),
  ]
}

// ---- RESULTS.md ------------------------------------------------------------------------------

/** Everything in RESULTS.md after this line is the latest run, which each run replaces. */
export const LATEST_RUN_MARK = '<!-- The latest run: npm run bench writes everything below this line. -->'

/** Replaces the latest run in RESULTS.md (keeping the method and the summary above it). */
export function writeLatestRun(path: string, lines: readonly string[]): void {
  const before = existsSync(path) ? readFileSync(path, 'utf8') : '# Benchmark results\n\n'
  const at = before.indexOf(LATEST_RUN_MARK)
  const kept = at === -1 ? `${before.trimEnd()}\n\n` : before.slice(0, at)
  writeFileSync(path, `${kept}${LATEST_RUN_MARK}\n\n${lines.join('\n')}\n`)
}

/** The run's heading and machine line. */
export function runHeading(i: RunInfo): string[] {
  return [`## Latest run: ${runDate(i)} UTC, commit ${i.commit}`, '', machineLine(i), '']
}

export const runDate = (i: RunInfo) => i.date.toISOString().replace('T', ' ').slice(0, 16)

/** How the run was made: the machine, the tools, the load's settings, and how busy the machine was. */
export function machineLine(i: RunInfo): string {
  return (
    `Machine: nproc ${i.nproc} (${i.cpu}), bun ${i.bunVersion}, wrk ${i.wrkVersion}; ${i.connections} connections, ` +
    `${i.threads} threads; ${i.rounds} rounds of ${i.seconds} s runs per scenario, after a ${i.warmupSeconds} s warm-up of each; ` +
    `server flags \`${i.serverFlags}\`; ${i.seed === '' ? '' : `${i.seed}; `}1-min load average at start ${i.load}; ` +
    `other processes used ${i.otherCpu} during the measurements.`
  )
}

/**
 * Replaces the section of RESULTS.md between `<!-- NAME: begin -->` and `<!-- NAME: end -->`
 * (put just before the latest run when there is none yet): a part run on its own (the cluster
 * part) keeps its latest numbers there, and leaves the other parts' latest run alone.
 */
export function writeSection(path: string, name: string, lines: readonly string[]): void {
  const begin = `<!-- ${name}: begin -->`
  const end = `<!-- ${name}: end -->`
  const before = existsSync(path) ? readFileSync(path, 'utf8') : '# Benchmark results\n\n'
  const section = `${begin}\n\n${lines.join('\n').trim()}\n\n${end}`
  const from = before.indexOf(begin)
  const to = before.indexOf(end)
  let after: string
  if (from !== -1 && to > from) after = before.slice(0, from) + section + before.slice(to + end.length)
  else {
    const at = before.indexOf(LATEST_RUN_MARK)
    after = at === -1 ? `${before.trimEnd()}\n\n${section}\n` : `${before.slice(0, at)}${section}\n\n${before.slice(at)}`
  }
  writeFileSync(path, after)
}
