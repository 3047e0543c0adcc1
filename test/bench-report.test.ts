/**
 * How the bench judges a scenario measured in rounds (bench/report.ts): by the median of the
 * rounds' own ratios to their baselines, so that one disturbed run cannot pass or fail it.
 */
import { describe, expect, test } from 'bun:test'
import { judge, median, ratioText, summarise, type BaselineResult, type Round, type ScenarioResult } from '../bench/report'

/** A wrk result of `rps` requests a second over one second, with this p99 (ms) and these statuses. */
function run(rps: number, p99Ms = 1, statuses: Record<string, number> = { 200: rps }): BaselineResult {
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
  triples.map(([baseline, rps, p99]) => ({ baseline: run(baseline), result: run(rps, p99), cpu: 1, replay: null }))

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
    // The median of the ratios, not the ratio of the medians (that would be 60/100).
    ['ratios are taken within each round', rounds([100, 70], [50, 30], [200, 60]), 0.6, true],
    ['a single round is judged by itself', rounds([100, 59]), 0.59, false],
  ] as const)('%s', (_name, r, ratio, pass) => {
    const verdict = judge(scenario(r))
    expect(verdict.ratio).toBeCloseTo(ratio, 10)
    expect(verdict.pass).toBe(pass)
  })

  test('a ratio just under its target says so to one decimal', () => {
    expect(judge(scenario(rounds([1000, 599], [1000, 598], [1000, 700]))).why).toEqual(['req/s 59.9% < 60% of baseline'])
  })

  test('p99 is the median of the rounds\' p99', () => {
    expect(judge(scenario(rounds([100, 90, 4], [100, 90, 40], [100, 90, 4.5]))).p99Ms).toBe(4.5)
    expect(judge(scenario(rounds([100, 90, 6], [100, 90, 1], [100, 90, 5.5]))).why).toEqual(['p99 5.50 ms > 5 ms'])
  })

  test('unexpected statuses of any round are counted, and fail the scenario', () => {
    const r = rounds([100, 90], [100, 90], [100, 90])
    r[1]!.result = run(90, 1, { 200: 89, 500: 1 })
    const verdict = judge(scenario(r))
    expect(verdict.statuses).toEqual({ 200: 269, 500: 1 })
    expect(verdict.unexpected).toBe(1)
    expect(verdict.pass).toBe(false)
  })

  test('the range of the rounds\' ratios is kept and shown', () => {
    const summary = summarise([run(50), run(30), run(60)], [run(100), run(100), run(100)])
    expect([summary.ratioMin, summary.ratio, summary.ratioMax]).toEqual([0.3, 0.5, 0.6])
    expect(ratioText(summary, 3)).toBe('50% (30-60%)')
    expect(ratioText(summary, 1)).toBe('50%')
  })
})
