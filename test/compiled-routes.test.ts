/**
 * Elysia compiles each route into one function, and decides from the source text of the
 * route's hooks and handler whether that function must be async (docs/performance.md, "Hot path": awaiting
 * on every request costs about a sixth of a cheap request). Routes that read no body have no
 * reason to wait for anything, except for a key write's shared commit (src/db/group-commit.ts):
 * this keeps the others synchronous.
 */
import { describe, expect, test } from 'bun:test'
import { testServer } from './helpers/app'

const { app } = testServer({ metrics: true })
// The console's files wait for the page to be bundled (under bun run) or read (in the binary): no hot path.
const bodiless = app.routes.filter((route) => (route.method === 'GET' || route.method === 'DELETE') && !route.path.startsWith('/console'))
const waitingForCommit = new Set(['DELETE /apikey/:id'])
const name = (route: (typeof bodiless)[number]) => `${route.method} ${route.path}`
const compiledAs = (route: (typeof bodiless)[number]) =>
  (route as unknown as { compile(): (context: unknown) => unknown }).compile().constructor.name

describe('routes without a body compile to synchronous handlers', () => {
  test('there are such routes (the list below is not empty)', () => {
    expect(bodiless.map(name)).toEqual(expect.arrayContaining(['GET /health', 'GET /apikey/verify', 'GET /apikey/', 'GET /app/', ...waitingForCommit]))
  })

  test.each(bodiless.filter((route) => !waitingForCommit.has(name(route))).map((route) => [route.method, route.path, route] as const))(
    '%s %s',
    (_method, _path, route) => {
      expect(compiledAs(route)).toBe('Function')
    },
  )

  test('a key deletion waits for its commit', () => {
    for (const route of bodiless.filter((route) => waitingForCommit.has(name(route)))) expect(compiledAs(route)).toBe('AsyncFunction')
  })
})
