/**
 * Every answer leaves through one hook: Elysia's global `mapResponse`, which sees what a route
 * returned and what the error handler returned alike. There the value becomes JSON with the
 * security headers, and the request is logged and counted.
 *
 * One hook does what four did (default headers, drain, request log, metrics) because each
 * Elysia hook costs on every request; an `onAfterResponse` hook alone schedules a task per
 * request (docs/performance.md, "Tried and dropped").
 */
import { Elysia } from 'elysia'
import type { AdmittedKey } from '../access/auth-plugin'
import type { Logger } from './logger'
import type { Metrics } from './metrics'
import { JsonText } from './json-text'
import { API_HEADERS } from './security-headers'

/**
 * Built once: a Response copies the Headers it is given, and copying a Headers object costs
 * a fraction of building one from a plain object. Headers a route adds are set on the
 * response's own copy, a quarter of the cost of a second copy (docs/performance.md, "Tried and dropped").
 */
const JSON_HEADERS = new Headers({ ...API_HEADERS, 'content-type': 'application/json' })

interface Timed {
  startedAt?: number
}

/** How many requests have been answered (src/memory.ts tells from it when the server is idle). */
export interface Activity {
  answered: number
}

export interface RespondOptions {
  log: Logger
  metrics: Metrics | null
  /** True once the server is shutting down: answers then close their connection. */
  draining?: () => boolean
  /** Counts every answer, errors included. */
  activity?: Activity
  /** Told the answer to every request a key got in with (its usage counts: UsageCounts). */
  keyUsage?: { answered(keyId: number, status: number): void }
}

export function respond({ log, metrics, draining, activity, keyUsage }: RespondOptions) {
  return new Elysia({ name: 'respond' })
    // The clock starts before validation, and on a route without a body before authentication.
    // A route with a body authenticates and reads it before (its `parse` hook, src/access/
    // auth-plugin.ts), so a request refused there (401, 413, bad JSON), or one that matches no
    // route, logs a duration of 0.
    .onTransform({ as: 'global' }, (ctx) => {
      ;(ctx as Timed).startedAt = performance.now()
    })
    .mapResponse({ as: 'global' }, (ctx) => {
      const value = ctx.responseValue
      let response: Response
      if (value instanceof Response) {
        // Made by the route itself (the docs, /metrics), with its own headers.
        response = value
      } else {
        const status = typeof ctx.set.status === 'number' ? ctx.set.status : 200
        const body = value instanceof JsonText ? value.text : JSON.stringify(value)
        response = new Response(body, { status, headers: JSON_HEADERS })
        const extra = ctx.set.headers
        for (const name in extra) response.headers.set(name, String(extra[name]))
        // The response now carries the status and headers; left in `set`, Elysia would apply
        // them again by copying the whole response.
        ctx.set.status = 200
        ctx.set.headers = {}
      }
      if (draining?.() === true) response.headers.set('connection', 'close')
      const start = (ctx as Timed).startedAt
      const ms = start === undefined ? 0 : performance.now() - start
      // The route pattern (`/apikey/:id`), not the raw path: no ids or odd input in logs.
      const route = ctx.route || null
      const keyId = (ctx as AdmittedKey).admittedKeyId
      log.request({
        method: ctx.request.method,
        route,
        status: response.status,
        duration_ms: Math.round(ms * 1000) / 1000,
        key_id: keyId ?? null,
      })
      // Here, where the answer is known, and only here: a 403 may come from any route or service.
      if (keyId !== undefined) keyUsage?.answered(keyId, response.status)
      metrics?.observeRequest(ctx.request.method, route, response.status, ms / 1000)
      if (activity) activity.answered++
      return response
    })
}
