/**
 * How the bench judges a scenario measured in rounds (bench/report.ts): by the median of the
 * rounds' own ratios to their baselines, so that one disturbed run cannot pass or fail it.
 */
import { describe, expect, test } from 'bun:test'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { judge, LATEST_RUN_MARK, median, ratioText, smallMarkdown, summarise, writeLatestRun, writeSection, type MeasuredRun, type Round, type ScenarioResult } from '../bench/report'

/** A wrk result of `rps` requests a second over one second, with this p99 (ms) and these statuses. */
function run(rps: number, p99Ms = 1, statuses: Record<string, number> = { 200: rps }): MeasuredRun {
  return {
    requests: rps,
    duration_us: 1e6,
    bytes: 0,
    errors: { connect: 0, read: 0, write: 0, status: 0, timeout: 0 },
    latency_us: { p50: 500, p90: 800, p99: p99Ms * 1000, p999: p99Ms * 2000, max: p99Ms * 3000, mean: 600 },
    statuses,
    cpu: 0.9,
  }
}

/** Rounds from [baseline req/s, scenario req/s, scenario p99 ms] triples. */
const rounds = (...triples: [number, number, number?][]): Round[] =>
  triples.map(([baseline, rps, p99]) => ({ baseline: run(baseline), scenario: run(rps, p99), replay: null }))

const scenario = (r: Round[]): ScenarioResult => ({ id: 'a', title: 't', expected: [200], target: { ratio: 0.6, p99Ms: 5 }, rounds: r })

describe('median', () => {
  test.each([
    [[3], 3],
    [[5, 1, 3], 3],
    [[4, 1, 3, 2], 2.5],
    [[], Number.NaN],
  ] as const)('%p → %p', (values, expected) => {
    expect(median([...values])).toBe(expected)
  })
})

describe('a scenario in rounds', () => {
  test.each([
    // One baseline run a third slower than the others does not pass the scenario.
    ['a disturbed baseline run', rounds([100, 50], [66, 50], [100, 50]), 0.5, false],
    ['one slow scenario run does not fail it', rounds([100, 65], [100, 30], [100, 64]), 0.64, true],
    // The median of the ratios (0.7, 0.9, 0.3), not the ratio of the medians (60/100).
    ['ratios are taken within each round', rounds([100, 70], [50, 45], [200, 60]), 0.7, true],
    ['a single round is judged by itself', rounds([100, 59]), 0.59, false],
  ] as const)('%s', (_name, r, ratio, pass) => {
    const verdict = judge(scenario(r))
    expect(verdict.ratio).toBeCloseTo(ratio, 10)
    expect(verdict.pass).toBe(pass)
  })

  test('a ratio just under its target says so to one decimal, rounded down', () => {
    expect(judge(scenario(rounds([1000, 599], [1000, 598], [1000, 700]))).why).toEqual(['req/s 59.9% < 60% of baseline'])
    expect(judge(scenario(rounds([10000, 5999]))).why).toEqual(['req/s 59.9% < 60% of baseline'])
  })

  test.each([
    ['no rounds', [] as Round[], 'req/s: no baseline to compare with'],
    ['a baseline that answered nothing', rounds([0, 90]), 'req/s: no baseline to compare with'],
  ] as const)('what could not be measured fails: %s', (_name, r, why) => {
    const verdict = judge(scenario([...r]))
    expect(verdict.pass).toBe(false)
    expect(verdict.why).toContain(why)
  })

  test('p99 is the median of the rounds\' p99', () => {
    expect(judge(scenario(rounds([100, 90, 4], [100, 90, 40], [100, 90, 4.5]))).p99Ms).toBe(4.5)
    expect(judge(scenario(rounds([100, 90, 6], [100, 90, 1], [100, 90, 5.5]))).why).toEqual(['p99 5.50 ms > 5 ms'])
  })

  test('unexpected statuses of any round are counted, and fail the scenario', () => {
    const r = rounds([100, 90], [100, 90], [100, 90])
    r[1]!.scenario = run(90, 1, { 200: 89, 500: 1 })
    const verdict = judge(scenario(r))
    expect(verdict.statuses).toEqual({ 200: 269, 500: 1 })
    expect(verdict.unexpected).toBe(1)
    expect(verdict.pass).toBe(false)
  })

  test('the range of the rounds\' ratios is kept and shown', () => {
    const summary = summarise([run(50), run(30), run(60)], [run(100), run(100), run(100)])
    expect([summary.ratioMin, summary.ratio, summary.ratioMax]).toEqual([0.3, 0.5, 0.6])
    expect(ratioText(summary, true)).toBe('50.0% (30-60%)')
    expect(ratioText(summary, false)).toBe('50.0%')
    // Rounded down: a share just under a target never reads as the target.
    expect(ratioText({ ratio: 0.5996, ratioMin: 0.59, ratioMax: 0.61 }, false)).toBe('59.9%')
  })
})

test('in the table, each replay is compared with the baseline of its own round', () => {
  const r = rounds([100, 50], [50, 25], [100, 50])
  r[0]!.replay = { ...run(90), bodyBytes: 10 }
  r[2]!.replay = { ...run(90), bodyBytes: 10 }
  const table = smallMarkdown({ scenarios: [scenario(r)], startupMs: 100, peakRssMb: 100, baselineRssMb: null })
  expect(table.find((line) => line.startsWith("| (a)'s answer"))).toContain('| 90.0% (90-90%) |')
})

test("a p99 target relative to the baseline allows the more of the two, round by round", () => {
  const relative = (r: Round[]): ScenarioResult => ({ ...scenario(r), target: { ratio: 0.6, p99Ms: 5, p99TimesBaseline: 2 } })
  // Baseline p99s of 4 ms allow 8 ms; of 1 ms, 5 ms.
  const loaded = rounds([100, 90, 7], [100, 90, 7], [100, 90, 7])
  for (const round of loaded) round.baseline = run(100, 4)
  expect(judge(relative(loaded)).pass).toBe(true)
  const quiet = rounds([100, 90, 7], [100, 90, 7], [100, 90, 7])
  expect(judge(relative(quiet)).why).toEqual(['p99 7.00 ms > max(5 ms, 2 × baseline p99) = 5.00 ms'])
})

test('the latest run replaces the one before, below the mark; what is above it stays', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bench-report-'))
  try {
    const path = join(dir, 'RESULTS.md')
    writeLatestRun(path, ['first run'])
    const withMethod = readFileSync(path, 'utf8').replace(LATEST_RUN_MARK, `## Method\n\nkept\n\n${LATEST_RUN_MARK}`)
    writeFileSync(path, withMethod)
    writeLatestRun(path, ['second run'])
    const text = readFileSync(path, 'utf8')
    expect(text).toContain('## Method\n\nkept')
    expect(text).toContain('second run')
    expect(text).not.toContain('first run')
    expect(text.split(LATEST_RUN_MARK)).toHaveLength(2)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

test("a part's own section is replaced where it is, and neither it nor the latest run touches the other", () => {
  const dir = mkdtempSync(join(tmpdir(), 'bench-report-'))
  try {
    const path = join(dir, 'RESULTS.md')
    writeLatestRun(path, ['latest small run'])
    writeSection(path, 'cluster part', ['first cluster run'])
    writeSection(path, 'cluster part', ['second cluster run'])
    let text = readFileSync(path, 'utf8')
    expect(text).not.toContain('first cluster run')
    expect(text.indexOf('second cluster run')).toBeLessThan(text.indexOf(LATEST_RUN_MARK))
    expect(text).toContain('latest small run')
    writeLatestRun(path, ['next small run'])
    text = readFileSync(path, 'utf8')
    expect(text).toContain('second cluster run')
    expect(text).toContain('next small run')
    expect(text).not.toContain('latest small run')
    expect(text.split('<!-- cluster part: begin -->')).toHaveLength(2)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})
