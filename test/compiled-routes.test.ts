/**
 * Elysia compiles each route into one function, and decides from the source text of the
 * route's hooks and handler whether that function must be async: awaiting on every request
 * costs about a sixth of a cheap one (docs/performance.md, "Hot path"). The internal check is
 * needed because no answer shows the difference, only its cost: on SQLite, whose read model
 * answers at once, the hot routes stay synchronous (src/http/hot-route.ts).
 */
import { describe, expect, test } from 'bun:test'
import { testServer } from './helpers/app'

const HOT_ROUTES = ['GET /apikey/verify', 'GET /apikey/', 'GET /app/']

const { app } = testServer({ metrics: true })
const name = (route: (typeof app.routes)[number]) => `${route.method} ${route.path}`
const compiledAs = (route: (typeof app.routes)[number]) =>
  (route as unknown as { compile(): (context: unknown) => unknown }).compile().constructor.name

describe('on SQLite the hot routes compile to synchronous handlers', () => {
  test.each(HOT_ROUTES)('%s', (hot) => {
    const route = app.routes.find((route) => name(route) === hot)
    expect(route).toBeDefined()
    expect(compiledAs(route!)).toBe('Function')
  })

  test('a route that awaits the store compiles to an async handler (the check can fail)', () => {
    expect(compiledAs(app.routes.find((route) => name(route) === 'GET /apikey/:id')!)).toBe('AsyncFunction')
  })
})
