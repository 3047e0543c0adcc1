/**
 * Prometheus metrics (issue #6): requests by route and status, failed authentications by
 * reason, a latency histogram, the number of keys, the event loop's delay, the read model's
 * size and hits, and WAL checkpoints. Off unless `--metrics` is given.
 */
import type { ApiKeyRepo } from '../store/types'
import { Elysia } from 'elysia'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import type { Background, BackgroundStats } from '../store/sqlite/background'
import type { AppError } from '../errors'
import type { ReadModelStats } from '../read-model/read-model'
import { API_HEADERS } from './security-headers'

/** Latency buckets in seconds: sub-millisecond resolution where this server lives. */
const BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5]

const label = (value: string) => value.replaceAll('\\', '\\\\').replaceAll('"', '\\"').replaceAll('\n', '\\n')

export class Metrics {
  private requests = new Map<string, number>()
  private authFailures = new Map<string, number>()
  private bucketCounts = BUCKETS.map(() => 0)
  private durationSum = 0
  private durationCount = 0
  /**
   * How late the event loop runs a 10 ms timer: how long requests wait behind synchronous
   * work. Reported since the previous scrape, and then started afresh (as prom-client does).
   */
  private readonly loopDelay = monitorEventLoopDelay({ resolution: 10 })

  constructor() {
    this.loopDelay.enable()
  }

  /** `route` is the pattern (`/apikey/:id`) or null when no route matched: labels stay few. */
  observeRequest(method: string, route: string | null, status: number, seconds: number): void {
    const key = `method="${label(method)}",route="${label(route ?? 'unmatched')}",status="${status}"`
    this.requests.set(key, (this.requests.get(key) ?? 0) + 1)
    BUCKETS.forEach((le, i) => {
      if (seconds <= le) this.bucketCounts[i]!++
    })
    this.durationSum += seconds
    this.durationCount++
  }

  /** Counts refusals at the door: the 401 codes, and 429s. */
  observeError(error: AppError): void {
    if (error.status !== 401 && error.status !== 429) return
    this.authFailures.set(error.code, (this.authFailures.get(error.code) ?? 0) + 1)
  }

  render(sources: MetricSources): string {
    const delay = this.loopDelay
    // The histogram is in nanoseconds; with no sample yet, it reads 0 rather than its sentinels.
    const delaySeconds = (ns: number) => (delay.count === 0 ? 0 : ns / 1e9)
    const model = sources.readModel()
    const background = sources.background
    const lines = [
      '# HELP codepushgo_http_requests_total HTTP requests by method, route and status.',
      '# TYPE codepushgo_http_requests_total counter',
      ...[...this.requests].map(([labels, n]) => `codepushgo_http_requests_total{${labels}} ${n}`),
      '# HELP codepushgo_auth_failures_total Requests refused before authorization, by reason (401 codes, rate_limited).',
      '# TYPE codepushgo_auth_failures_total counter',
      ...[...this.authFailures].map(([reason, n]) => `codepushgo_auth_failures_total{reason="${label(reason)}"} ${n}`),
      '# HELP codepushgo_http_request_duration_seconds Time from request to response.',
      '# TYPE codepushgo_http_request_duration_seconds histogram',
      ...BUCKETS.map((le, i) => `codepushgo_http_request_duration_seconds_bucket{le="${le}"} ${this.bucketCounts[i]}`),
      `codepushgo_http_request_duration_seconds_bucket{le="+Inf"} ${this.durationCount}`,
      `codepushgo_http_request_duration_seconds_sum ${this.durationSum}`,
      `codepushgo_http_request_duration_seconds_count ${this.durationCount}`,
      '# HELP codepushgo_api_keys API keys stored.',
      '# TYPE codepushgo_api_keys gauge',
      `codepushgo_api_keys ${sources.keys}`,
      '# HELP codepushgo_event_loop_delay_p50_seconds Median delay of the event loop since the previous scrape.',
      '# TYPE codepushgo_event_loop_delay_p50_seconds gauge',
      `codepushgo_event_loop_delay_p50_seconds ${delaySeconds(delay.percentile(50))}`,
      '# HELP codepushgo_event_loop_delay_p99_seconds 99th percentile of the delay of the event loop since the previous scrape.',
      '# TYPE codepushgo_event_loop_delay_p99_seconds gauge',
      `codepushgo_event_loop_delay_p99_seconds ${delaySeconds(delay.percentile(99))}`,
      '# HELP codepushgo_event_loop_delay_max_seconds Longest delay of the event loop since the previous scrape.',
      '# TYPE codepushgo_event_loop_delay_max_seconds gauge',
      `codepushgo_event_loop_delay_max_seconds ${delaySeconds(delay.max)}`,
      '# HELP codepushgo_read_model_entries Entries (keys, memberships, apps, lists) the read model holds.',
      '# TYPE codepushgo_read_model_entries gauge',
      `codepushgo_read_model_entries ${model.entries}`,
      '# HELP codepushgo_read_model_bytes Estimated bytes the read model holds, and its budget (--cache-mb).',
      '# TYPE codepushgo_read_model_bytes gauge',
      `codepushgo_read_model_bytes ${model.bytes}`,
      `codepushgo_read_model_budget_bytes ${model.budgetBytes}`,
      '# HELP codepushgo_read_model_key_lookups_total Keys looked up by hash, found in memory (hit) or not (miss).',
      '# TYPE codepushgo_read_model_key_lookups_total counter',
      `codepushgo_read_model_key_lookups_total{result="hit"} ${model.hits}`,
      `codepushgo_read_model_key_lookups_total{result="miss"} ${model.misses}`,
    ]
    if (background !== null)
      lines.push(
        '# HELP codepushgo_wal_checkpoints_total WAL checkpoints made off the event loop.',
        '# TYPE codepushgo_wal_checkpoints_total counter',
        `codepushgo_wal_checkpoints_total ${background.checkpoints}`,
        '# HELP codepushgo_wal_frames Frames in the WAL at the last checkpoint.',
        '# TYPE codepushgo_wal_frames gauge',
        `codepushgo_wal_frames ${background.lastFrames}`,
      )
    delay.reset()
    return `${lines.join('\n')}\n`
  }
}

/** Where the metrics of things other than requests come from. */
export interface MetricSources {
  /** Keys stored. */
  keys: number
  readModel(): ReadModelStats
  /** The background Worker's (src/store/sqlite/background.ts), under `serve`; null without one. */
  background: BackgroundStats | null
}

/** The background Worker, as /metrics uses it. */
export type MetricsBackground = Pick<Background, 'stats' | 'countKeys'>

/**
 * GET /metrics, in the Prometheus text format. Unauthenticated: scrape it from a trusted
 * network. Keys are counted by the background Worker when there is one (`count(*)` over a
 * million keys holds a connection for tens of milliseconds): a scrape shows the count the
 * previous one asked for. Without one (tests), they are counted here.
 */
export function metricsRoute(metrics: Metrics, apikeys: Pick<ApiKeyRepo, 'countAll'>, readModel: () => ReadModelStats, background: MetricsBackground | null) {
  const countKeys = async () => {
    if (background === null) return await apikeys.countAll()
    background.countKeys()
    return background.stats.keys ?? 0
  }
  return new Elysia({ name: 'metrics' }).get(
    '/metrics',
    async () => {
      const sources: MetricSources = { keys: await countKeys(), readModel, background: background?.stats ?? null }
      return new Response(metrics.render(sources), { headers: { ...API_HEADERS, 'content-type': 'text/plain; version=0.0.4; charset=utf-8' } })
    },
    { detail: { hide: true } },
  )
}
