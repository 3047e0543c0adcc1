/**
 * The contract every answer of the tests is held to (helpers/openapi-contract.ts): it must fail
 * an answer the document does not describe, or it would let anything through unnoticed.
 */
import { describe, expect, test } from 'bun:test'
import { testServer } from './helpers/app'
import { Contract } from './helpers/openapi-contract'
import { seededWorld } from './helpers/world'

const { request } = testServer()
const contract = new Contract((await request('GET', '/swagger/json')).json)
const json = { 'content-type': 'application/json' }
const limits = { 'retry-after': '5', 'ratelimit-limit': '10', 'ratelimit-remaining': '0', 'ratelimit-reset': '5' }
const check = (method: string, path: string, status: number, body: unknown, headers: Record<string, string> = json) => () =>
  contract.check({ method, path, status, headers: new Headers(headers), text: typeof body === 'string' ? body : JSON.stringify(body) })
const error = (code: string) => ({ error: 'x', status: 'KO', code })

describe('the OpenAPI contract of the tests', () => {
  test('passes what the server answers', async () => {
    const w = await seededWorld()
    const res = await w.request('GET', '/apikey/', { key: w.alice.key })
    expect(check('GET', '/apikey/', 200, res.json)).not.toThrow()
    expect(check('GET', '/apikey', 200, res.json)).not.toThrow()
    expect(check('GET', '/apikey/1/', 404, error('not_found'))).not.toThrow()
  })

  test('fails a status the operation does not declare', () => {
    expect(check('GET', '/apikey/', 418, error('conflict'))).toThrow('does not declare for listApiKeys')
    expect(check('GET', '/organization/', 404, error('not_found'))).toThrow('does not declare for listOrganizations')
  })

  test('fails a field the document does not declare, a missing one, and a wrong type', () => {
    expect(check('GET', '/apikey/1', 404, { ...error('not_found'), stack: 'at x' })).toThrow('must NOT have additional properties')
    expect(check('DELETE', '/apikey/1', 200, {})).toThrow("must have required property 'success'")
    expect(check('GET', '/apikey/1', 404, error('no_such_code'))).toThrow('must be equal to one of the allowed values')
    expect(check('GET', '/health', 200, { status: 'ok', version: 1, db: 'ok' })).toThrow('must be string')
  })

  test('fails a body that is not the JSON it declares', () => {
    expect(check('GET', '/health', 200, 'ok', { 'content-type': 'text/plain' })).toThrow('not the documented application/json')
    expect(check('GET', '/health', 200, '{', json)).toThrow('not JSON')
  })

  test('fails a response without a header it declares required, or with a value of the wrong type', () => {
    expect(check('GET', '/apikey/', 429, error('rate_limited'), { ...json, ...limits })).not.toThrow()
    const { 'retry-after': _, ...withoutRetryAfter } = limits
    expect(check('GET', '/apikey/', 429, error('rate_limited'), { ...json, ...withoutRetryAfter })).toThrow('without the header Retry-After')
    expect(check('GET', '/apikey/', 429, error('rate_limited'), { ...json, ...limits, 'ratelimit-limit': 'many' })).toThrow('RateLimit-Limit: many')
    expect(check('GET', '/apikey/verify', 200, {}, json)).toThrow('without the header x-codepushgo-user-id')
  })

  test('an unknown route may only be the 404 envelope; the docs and /metrics are left to their own tests', () => {
    expect(check('GET', '/nothing-here', 404, { error: 'Route not found', status: 'KO', code: 'not_found' })).not.toThrow()
    expect(check('PATCH', '/apikey/', 404, { error: 'Route not found', status: 'KO', code: 'not_found' })).not.toThrow()
    expect(check('GET', '/nothing-here', 200, {})).toThrow('the document has no GET /nothing-here')
    expect(check('GET', '/swagger', 200, '<html>', { 'content-type': 'text/html' })).not.toThrow()
    expect(check('GET', '/metrics', 200, '# HELP', { 'content-type': 'text/plain' })).not.toThrow()
  })
})
