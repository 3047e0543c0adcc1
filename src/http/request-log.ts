/**
 * One JSON log line per request: method, route, status, duration, key id. Never a key.
 * The same observation feeds the metrics, when they are on.
 */
import { Elysia } from 'elysia'
import type { Logger } from './logger'
import type { Metrics } from './metrics'

export function requestLog(log: Logger, metrics: Metrics | null) {
  return new Elysia({ name: 'request-log' })
    // The clock starts once the body is parsed (derive), not in onRequest: any onRequest hook
    // sends every request down Elysia's slower path (bench/RESULTS.md). A request refused while
    // its body is read (413, bad JSON) logs a duration of 0.
    .derive({ as: 'global' }, () => ({ startedAt: performance.now() }))
    .onAfterResponse({ as: 'global' }, (ctx) => {
      const start = (ctx as { startedAt?: number }).startedAt
      const ms = start === undefined ? 0 : performance.now() - start
      const principal = (ctx as { principal?: { keyId: number } }).principal
      // The route pattern (`/apikey/:id`), not the raw path: no ids or odd input in logs.
      const route = ctx.route || null
      const status = typeof ctx.set.status === 'number' ? ctx.set.status : 200
      log.info({
        method: ctx.request.method,
        route,
        status,
        duration_ms: Math.round(ms * 1000) / 1000,
        key_id: principal?.keyId ?? null,
      })
      metrics?.observeRequest(ctx.request.method, route, status, ms / 1000)
    })
}
