/**
 * One JSON log line per request: method, route, status, duration, key id. Never a key.
 * The same observation feeds the metrics, when they are on.
 */
import { Elysia } from 'elysia'
import type { Logger } from './logger'
import type { Metrics } from './metrics'

export function requestLog(log: Logger, metrics: Metrics | null) {
  const started = new WeakMap<Request, number>()
  return new Elysia({ name: 'request-log' })
    .onRequest(({ request }) => {
      started.set(request, performance.now())
    })
    .onAfterResponse({ as: 'global' }, (ctx) => {
      const start = started.get(ctx.request)
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
