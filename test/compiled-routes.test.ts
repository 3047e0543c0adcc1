/**
 * Elysia compiles each route into one function, and decides from the source text of the
 * route's hooks and handler whether that function must be async: awaiting on every request
 * costs about a sixth of a cheap one (docs/performance.md, "Hot path"). The internal check is
 * needed because no answer shows the difference, only its cost: on SQLite, whose read model
 * answers at once, the hot routes stay synchronous (src/http/hot-route.ts). On PostgreSQL they
 * may wait, but must not make Elysia read the whole request (headers, cookies) for nothing
 * (docs/performance.md, "PostgreSQL").
 */
import { describe, expect, test } from 'bun:test'
import { createApp } from '../src/app'
import { createCore } from '../src/create-core'
import { jsonLogger } from '../src/http/logger'
import { openPostgresStore } from '../src/store/postgres/store'
import { manualClock, testServer } from './helpers/app'
import { findPostgres, usePostgresCluster } from './helpers/postgres'

const HOT_ROUTES = ['GET /apikey/verify', 'GET /apikey/', 'GET /app/']

type Route = ReturnType<typeof createApp>['routes'][number]
const name = (route: Route) => `${route.method} ${route.path}`
const compiled = (route: Route) => (route as unknown as { compile(): (context: unknown) => unknown }).compile()
const find = (routes: readonly Route[], wanted: string) => {
  const route = routes.find((route) => name(route) === wanted)
  expect(route).toBeDefined()
  return route!
}

describe('on SQLite the hot routes compile to synchronous handlers', () => {
  const { app } = testServer({ metrics: true })

  test.each(HOT_ROUTES)('%s', (hot) => {
    expect(compiled(find(app.routes, hot)).constructor.name).toBe('Function')
  })

  test('a route that awaits the store compiles to an async handler (the check can fail)', () => {
    expect(compiled(find(app.routes, 'GET /apikey/:id')).constructor.name).toBe('AsyncFunction')
  })
})

const bin = findPostgres()

describe.skipIf(!bin)('on PostgreSQL', () => {
  const cluster = usePostgresCluster(bin)

  /** What Elysia does on every request for a handler that might read anything. */
  const READS_EVERYTHING = ['parseCookie', 'headers.toJSON']

  test('the hot routes wait, and read of the request only what they use', async () => {
    const store = await openPostgresStore(await cluster().createDatabase())
    try {
      const core = createCore(store, { clock: manualClock(), policy: { maxKeyLifetimeDays: null, keyRateLimit: null } })
      const app = createApp({ ...core, log: jsonLogger(() => {}), version: 'test' })
      const seen = HOT_ROUTES.map((hot) => {
        const handler = compiled(find(app.routes, hot))
        return { hot, kind: handler.constructor.name, needless: READS_EVERYTHING.filter((what) => handler.toString().includes(what)) }
      })
      expect(seen).toEqual(HOT_ROUTES.map((hot) => ({ hot, kind: 'AsyncFunction', needless: [] })))
    } finally {
      await store.close()
    }
  })
})
