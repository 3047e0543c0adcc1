/**
 * Prometheus metrics (issue #6): requests by route and status, failed authentications by
 * reason, a latency histogram, and the number of keys. Off unless `--metrics` is given.
 */
import type { Database } from 'bun:sqlite'
import { Elysia } from 'elysia'
import type { AppError } from '../errors'
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

  render(keysTotal: number): string {
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
      `codepushgo_api_keys ${keysTotal}`,
    ]
    return `${lines.join('\n')}\n`
  }
}

/** GET /metrics, in the Prometheus text format. Unauthenticated: scrape it from a trusted network. */
export function metricsRoute(metrics: Metrics, db: Database) {
  const countKeys = db.prepare<{ n: number }, []>('SELECT count(*) AS n FROM apikeys')
  return new Elysia({ name: 'metrics' }).get(
    '/metrics',
    () => new Response(metrics.render(countKeys.get()!.n), { headers: { ...API_HEADERS, 'content-type': 'text/plain; version=0.0.4; charset=utf-8' } }),
    { detail: { hide: true } },
  )
}
