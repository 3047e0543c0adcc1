/** A fresh in-memory server for each test: app, core, captured logs and request helpers. */
import { createApp } from '../../src/app'
import type { Clock } from '../../src/clock'
import type { GateLimits } from '../../src/access/gate'
import type { KeyPolicy } from '../../src/core'
import { createCore } from '../../src/create-core'
import { openSqliteStore } from '../../src/store/sqlite/store'
import { jsonLogger } from '../../src/http/logger'
import { EVERYTHING } from '../../src/read-model/changes'
import type { SQLQueryBindings } from 'bun:sqlite'
import { conform, type Exchange } from './openapi-contract'

/** A clock tests move by hand. */
export function manualClock(start = '2026-01-01T00:00:00.000Z') {
  let now = new Date(start).getTime()
  return {
    now: () => new Date(now),
    nowMs: () => now,
    advance(ms: number) {
      now += ms
    },
  } satisfies Clock & { advance(ms: number): void }
}

/** Checks an answer of `app` against the OpenAPI document it serves; throws when it breaks it. */
export function conformsToDocument(app: { handle(request: Request): Promise<Response> }, exchange: Exchange): Promise<void> {
  return conform(exchange, async () => (await app.handle(new Request('http://localhost/swagger/json'))).json())
}

export function testServer(options: { policy?: Partial<KeyPolicy>; limits?: Partial<GateLimits>; metrics?: boolean; cacheMb?: number } = {}) {
  const store = openSqliteStore(null)
  const db = store.db
  const clock = manualClock()
  const logs: string[] = []
  const core = createCore(store, { clock, policy: { maxKeyLifetimeDays: null, keyRateLimit: null, ...options.policy }, cacheMb: options.cacheMb })
  const app = createApp({ ...core, log: jsonLogger((line) => logs.push(line)), version: 'test', limits: options.limits, metrics: options.metrics })

  /** Sends a request; `body` objects are sent as JSON, strings as they are. */
  async function request(method: string, path: string, options: { key?: string | null; body?: unknown; headers?: Record<string, string> } = {}) {
    const headers: Record<string, string> = { ...options.headers }
    if (options.key) headers.authorization = options.key
    let body: string | undefined
    if (options.body !== undefined) {
      body = typeof options.body === 'string' ? options.body : JSON.stringify(options.body)
      headers['content-type'] ??= 'application/json'
    }
    const response = await app.handle(new Request(`http://localhost${path}`, { method, headers, body }))
    const text = await response.text()
    // Elysia runs after-response hooks (the request log) once the response is out.
    await new Promise((resolve) => setImmediate(resolve))
    let json: any
    try {
      json = JSON.parse(text)
    } catch {
      json = undefined
    }
    await conformsToDocument(app, { method, path, status: response.status, headers: response.headers, text })
    return { status: response.status, headers: response.headers, text, json }
  }
  /**
   * Runs SQL straight on the database, as another process would, and lets the read model
   * notice it as it would within FOREIGN_COMMITS_POLL_MS.
   */
  function writeBehind(sql: string, ...params: SQLQueryBindings[]) {
    db.run(sql, params)
    core.readModel.apply([EVERYTHING])
  }
  return { db, store, core, clock, app, logs, request, writeBehind }
}
