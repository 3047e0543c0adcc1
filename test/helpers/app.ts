/** A fresh in-memory server for each test: app, core, captured logs and request helpers. */
import { createApp } from '../../src/app'
import type { Clock } from '../../src/clock'
import type { GateLimits } from '../../src/access/gate'
import type { KeyPolicy } from '../../src/core'
import { createCore } from '../../src/create-core'
import { openSqliteStore } from '../../src/store/sqlite/store'
import { jsonLogger } from '../../src/http/logger'
import { EVERYTHING } from '../../src/read-model/changes'
import type { Database, SQLQueryBindings } from 'bun:sqlite'
import type { Store } from '../../src/store/types'
import { onPostgres, testPostgresStore } from './backend'
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

export interface TestServerOptions {
  policy?: Partial<KeyPolicy>
  limits?: Partial<GateLimits>
  metrics?: boolean
  cacheMb?: number
}

/** The tables a request could change. */
const TABLES = ['users', 'orgs', 'org_members', 'apps', 'apikeys', 'audit_events']

/** A server over a scratch SQLite store: for what does not depend on the backend (the document, the routes). */
export function testServer(options: TestServerOptions = {}) {
  const store = openSqliteStore(null)
  const db = store.db
  return serverOver(store, options, {
    db: () => db,
    close: () => store.close(),
    query: async (sql, params) => db.query(sql).all(...(params as SQLQueryBindings[])) as Record<string, unknown>[],
    snapshot: async () => JSON.stringify(TABLES.map((table) => db.query(`SELECT * FROM ${table} ORDER BY 1`).all())),
  })
}

/** A server over this run's backend (TEST_BACKEND): what the API suites use. */
export async function backendServer(options: TestServerOptions = {}) {
  if (!onPostgres) return testServer(options)
  const { store, sql, close } = await testPostgresStore()
  return serverOver(store, options, {
    close,
    db: () => {
      throw new Error('raw SQLite on the PostgreSQL pass: mark the test test.skipIf(onPostgres)')
    },
    // `?` placeholders become PostgreSQL's `$1`, `$2`…
    query: async (text, params) => [...(await sql.unsafe(text.split('?').reduce((out, part, i) => `${out}$${i}${part}`), params as unknown[]))],
    snapshot: async () => JSON.stringify(await Promise.all(TABLES.map((table) => sql.unsafe(`SELECT * FROM ${table} ORDER BY 1`)))),
  })
}

/** Raw access to the backend: its SQLite database (SQLite only), SQL on either, and every row of TABLES as text. */
interface BackendAccess {
  db(): Database
  close(): Promise<void>
  query(sql: string, params: unknown[]): Promise<Record<string, unknown>[]>
  snapshot(): Promise<string>
}

function serverOver<S extends Store>(store: S, options: TestServerOptions, backend: BackendAccess) {
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
  async function writeBehind(sql: string, ...params: SQLQueryBindings[]) {
    await backend.query(sql, params)
    core.readModel.apply([EVERYTHING])
  }
  const server = {
    store, core, clock, app, logs, request, writeBehind,
    /** Runs SQL on the backend, as another process would (`?` placeholders; SQL both dialects read alike). */
    query: (sql: string, ...params: unknown[]) => backend.query(sql, params),
    /** Every row of the tables a request could change, to compare before and after. */
    snapshot: backend.snapshot,
    /** Closes the store (on PostgreSQL it also closes when the test that made it finishes). */
    close: backend.close,
  }
  // Not enumerable: spreading a world must not reach for it (the PostgreSQL pass refuses it).
  return Object.defineProperty(server, 'db', { get: backend.db, enumerable: false }) as typeof server & {
    /** The raw SQLite database (SQLite only). */
    readonly db: Database
  }
}
