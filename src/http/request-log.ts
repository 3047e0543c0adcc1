/** One JSON log line per request: method, route, status, duration, key id. Never a key. */
import { Elysia } from 'elysia'
import type { Logger } from './logger'

export function requestLog(log: Logger) {
  const started = new WeakMap<Request, number>()
  return new Elysia({ name: 'request-log' })
    .onRequest(({ request }) => {
      started.set(request, performance.now())
    })
    .onAfterResponse({ as: 'global' }, (ctx) => {
      const start = started.get(ctx.request)
      const principal = (ctx as { principal?: { keyId: number } }).principal
      log.info({
        method: ctx.request.method,
        // The route pattern (`/apikey/:id`), not the raw path: no ids or odd input in logs.
        route: ctx.route || null,
        status: typeof ctx.set.status === 'number' ? ctx.set.status : 200,
        duration_ms: start === undefined ? null : Math.round((performance.now() - start) * 1000) / 1000,
        key_id: principal?.keyId ?? null,
      })
    })
}
