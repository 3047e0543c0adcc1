/**
 * How the bench's cluster part (bench/cluster.ts) adds up two servers loaded at once and
 * judges PostgreSQL against SQLite, round by round (bench/cluster-report.ts).
 */
import { describe, expect, test } from 'bun:test'
import type { ClusterResult, TargetResult } from '../bench/cluster'
import { judgeCluster } from '../bench/cluster-report'
import type { MeasuredRun } from '../bench/report'
import { mergeRuns } from '../bench/wrk'

/** A wrk result of `rps` requests a second over one second, with this p99 (ms) and these statuses. */
function run(rps: number, p99Ms = 1, statuses: Record<string, number> = { 200: rps }): MeasuredRun {
  return {
    requests: rps,
    duration_us: 1e6,
    bytes: rps * 100,
    errors: { connect: 0, read: 0, write: 0, status: 0, timeout: 0 },
    latency_us: { p50: p99Ms * 400, p90: p99Ms * 800, p99: p99Ms * 1000, p999: p99Ms * 2000, max: p99Ms * 3000, mean: p99Ms * 500 },
    statuses,
    cpu: 0.5,
  }
}

describe('two servers loaded at once', () => {
  test('requests, bytes and statuses add up; latency is the worse of the two, the mean weighted by requests', () => {
    const merged = mergeRuns([run(300, 2, { 200: 290, 503: 10 }), run(100, 6)])
    expect(merged.requests).toBe(400)
    expect(merged.bytes).toBe(40_000)
    expect(merged.statuses).toEqual({ 200: 390, 503: 10 })
    expect(merged.latency_us.p99).toBe(6000)
    expect(merged.latency_us.p50).toBe(2400)
    expect(merged.latency_us.mean).toBe((300 * 1000 + 100 * 3000) / 400)
  })

  test('one run is itself', () => {
    const one = run(100)
    expect(mergeRuns([one])).toBe(one)
  })
})

/** A target whose verify and writes ran at these req/s, round by round. */
function target(id: TargetResult['id'], verify: number[], writes: number[], statuses?: Record<string, number>): TargetResult {
  return {
    id,
    name: id,
    startupMs: [50],
    peakRssMb: [100],
    runs: {
      verify: verify.map((rps) => run(rps, 1, statuses ?? { 200: rps })),
      writes: writes.map((rps) => run(rps, 1, { 200: rps / 2, 201: rps / 2 })),
    },
  }
}

const result = (...targets: TargetResult[]): ClusterResult => ({ postgresVersion: '15', baselines: [run(1000), run(1000), run(1000)], targets, odd: [] })

describe('PostgreSQL verify against SQLite', () => {
  test("judged by the median of the rounds' own ratios: one disturbed round decides nothing", () => {
    const { failures, rows } = judgeCluster(result(target('sqlite', [100, 100, 50], [10, 10, 10]), target('pg1', [85, 60, 90], [1, 1, 1])))
    expect(failures).toEqual([])
    expect(rows.find((r) => r.name.startsWith('pg1: GET'))?.vsSqlite).toBe('85.0% (60-180%)')
  })

  test('under 80% of SQLite fails, for one instance and for two', () => {
    const { failures } = judgeCluster(result(target('sqlite', [100, 100, 100], [10, 10, 10]), target('pg1', [79, 79, 90], [1, 1, 1]), target('pg2', [70, 70, 70], [1, 1, 1])))
    expect(failures).toEqual(["cluster: pg1, verify: verify 79.0% of SQLite's < 80%", "cluster: pg2, verify: verify 70.0% of SQLite's < 80%"])
  })

  test('writes are reported, not judged; an unexpected status fails any row', () => {
    const { failures } = judgeCluster(result(target('sqlite', [100, 100, 100], [10, 10, 10]), target('pg1', [90, 90, 90], [1, 1, 1], { 200: 80, 500: 10 })))
    expect(failures).toEqual(['cluster: pg1, verify: 30 unexpected responses/errors'])
  })

  test('another build on SQLite: this one must keep up with it on verify', () => {
    const { failures } = judgeCluster(result(target('sqlite', [90, 90, 90], [10, 10, 10]), target('compare', [100, 100, 100], [10, 10, 10])))
    expect(failures).toEqual(["cluster: this build's SQLite verify 90.0% of the other build's < 95%"])
  })
})
