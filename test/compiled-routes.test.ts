/**
 * Elysia compiles each route into one function, and decides from the source text of the
 * route's hooks and handler whether that function must be async (bench/RESULTS.md: awaiting
 * on every request costs about a sixth of a cheap request). Routes that read no body have no
 * reason to wait for anything: this keeps them synchronous.
 */
import { describe, expect, test } from 'bun:test'
import { testServer } from './helpers/app'

const { app } = testServer({ metrics: true })
// /swagger/json is @elysiajs/openapi's own handler, and no hot path.
const bodiless = app.routes.filter((route) => (route.method === 'GET' || route.method === 'DELETE') && route.path !== '/swagger/json')

describe('routes without a body compile to synchronous handlers', () => {
  test('there are such routes (the list below is not empty)', () => {
    expect(bodiless.map((route) => `${route.method} ${route.path}`)).toEqual(
      expect.arrayContaining(['GET /health', 'GET /apikey/verify', 'GET /apikey/', 'GET /app/', 'DELETE /apikey/:id']),
    )
  })

  test.each(bodiless.map((route) => [route.method, route.path, route] as const))('%s %s', (_method, _path, route) => {
    const compiled = (route as unknown as { compile(): (context: unknown) => unknown }).compile()
    expect(compiled.constructor.name).toBe('Function')
  })
})
