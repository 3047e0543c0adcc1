/**
 * Authentication comes before validation (SPEC §5, issue #17): a request without a valid key
 * gets its 401 whatever its body, query or path parameters look like, so that nothing about the
 * schema is told to a client that cannot use it. With a valid key the same input is a 400.
 * Only a body that declares itself over the 64 KiB limit is refused (413) before the key is looked
 * at: it is never read, whoever sends it.
 */
import { describe, expect, test } from 'bun:test'
import { generateKey } from '../src/access/key-format'
import { MAX_BODY_BYTES } from '../src/http/body'
import { seededWorld } from './helpers/world'

// Failed authentications are many here, all from one (unknown) address: no throttle.
const world = await seededWorld({ limits: { authFailureLimit: { requests: 1_000_000, per_seconds: 1 } } })
const { alice, orgs, apps } = world
const userOf = async (key: string) => (await world.query('SELECT user_id FROM apikeys WHERE key_start = ?', key.slice(0, 8)))[0]!.user_id as string

/** Every route that takes a body, with its path made concrete; checked against the app below. */
const BODY_ROUTES: [method: string, pattern: string, path: string][] = [
  ['POST', '/apikey/', '/apikey/'],
  ['PUT', '/apikey/:id', `/apikey/${alice.keyId}/`],
  ['POST', '/apikey/:id/rotate', `/apikey/${alice.keyId}/rotate`],
  ['POST', '/organization/', '/organization/'],
  ['PUT', '/organization/:id', `/organization/${orgs.aliceMain}/`],
  ['POST', '/organization/:id/members', `/organization/${orgs.aliceMain}/members/`],
  ['PUT', '/organization/:id/members/:user_id', `/organization/${orgs.aliceMain}/members/${await userOf(alice.key)}/`],
  ['POST', '/app/', '/app/'],
  ['PUT', '/app/:app_id', `/app/${apps.aliceOne}/`],
]

/** Bodies no route accepts, each for a different reason. */
const BAD_BODIES: [label: string, body: string | Uint8Array][] = [
  ['invalid JSON', '{"name": '],
  ['invalid UTF-8', new Uint8Array([0x7b, 0x22, 0x6e, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0x22, 0x7d])],
  ['nested too deep', `${'['.repeat(40)}${']'.repeat(40)}`],
  ['a reserved key (__proto__)', '{"__proto__": {"admin": true}, "name": "x"}'],
  ['a reserved key (constructor)', '{"constructor": 1}'],
  ['wrong types', '{"name": 5, "mode": 7, "role": [], "app_id": {}, "org_id": false, "email": 1, "grace_period_seconds": "x"}'],
  ['an unknown field', '{"no_such_field": 1}'],
  ['not an object', '[1, 2, 3]'],
]

/** The callers that do not get in, and the 401 each gets. */
const STRANGERS: [label: string, authorization: string | null, code: string][] = [
  ['no key', null, 'missing_api_key'],
  ['a malformed key', 'not-a-key', 'invalid_api_key'],
  ['an unknown key', generateKey(), 'invalid_api_key'],
]

function send(method: string, path: string, body: string | Uint8Array | undefined, authorization: string | null, headers: Record<string, string> = {}) {
  return world.app.handle(
    new Request(`http://localhost${path}`, {
      method,
      body,
      headers: { 'content-type': 'application/json', ...(authorization === null ? {} : { authorization }), ...headers },
    }),
  )
}

describe('authentication comes before validation', () => {
  test('the table lists every route that takes a body', () => {
    const routes = world.app.routes.filter((route) => route.method === 'POST' || route.method === 'PUT').map((route) => `${route.method} ${route.path}`)
    expect(routes.sort()).toEqual(BODY_ROUTES.map(([method, pattern]) => `${method} ${pattern}`).sort())
  })

  describe.each(BODY_ROUTES)('%s %s', (method, _pattern, path) => {
    test.each(STRANGERS)('with %s, every malformed body gets the 401, and changes nothing', async (_label, authorization, code) => {
      const before = (await world.snapshot())
      for (const [label, body] of BAD_BODIES) {
        const response = await send(method, path, body, authorization)
        const text = await response.text()
        expect([label, response.status, JSON.parse(text).code]).toEqual([label, 401, code])
      }
      expect((await world.snapshot())).toBe(before)
    })

    test('with a valid key, every malformed body is a 400', async () => {
      const before = (await world.snapshot())
      for (const [label, body] of BAD_BODIES) {
        const response = await send(method, path, body, alice.key)
        expect([label, response.status]).toEqual([label, 400])
      }
      expect((await world.snapshot())).toBe(before)
    })

    test('a body that declares itself over the limit is a 413 for anyone, unread', async () => {
      const oversized = `{"name": "${'x'.repeat(MAX_BODY_BYTES)}"}`
      for (const authorization of [null, alice.key]) {
        const response = await send(method, path, oversized, authorization, { 'content-length': String(oversized.length) })
        expect(((await response.json()) as { code: string }).code).toBe('payload_too_large')
      }
    })

    test('a body over the limit that does not declare its length is read only with a valid key', async () => {
      const stream = () => new Blob([`{"name": "${'x'.repeat(MAX_BODY_BYTES)}"}`]).stream()
      const stranger = await world.app.handle(new Request(`http://localhost${path}`, { method, body: stream(), headers: { 'content-type': 'application/json' } }))
      expect(((await stranger.json()) as { code: string }).code).toBe('missing_api_key')
      const known = await world.app.handle(new Request(`http://localhost${path}`, { method, body: stream(), headers: { authorization: alice.key } }))
      expect(((await known.json()) as { code: string }).code).toBe('payload_too_large')
    })
  })

  test.each([
    ['GET', '/apikey/?limit=abc&mode=root'],
    ['GET', '/apikey/verify?mode=root&mode=all'],
    ['GET', '/apikey/abc/'],
    ['DELETE', '/apikey/0/'],
    ['GET', '/app/%ZZ/'],
    ['GET', '/audit/?limit=-1'],
    ['POST', '/apikey/?mode=root&limited_to_apps=%ZZ'],
  ])('%s %s: a bad query or path parameter without a key is the 401', async (method, path) => {
    for (const [, authorization, code] of STRANGERS) {
      const response = await send(method, path, undefined, authorization)
      expect([response.status, ((await response.json()) as { code: string }).code]).toEqual([401, code])
    }
    expect((await send(method, path, undefined, alice.key)).status).toBe(400)
  })

  test('a body route takes one rate-limit token per request', async () => {
    const limited = await world.aliceKey({ mode: 'all', rate_limit: { requests: 3, per_seconds: 3600 } })
    const statuses: number[] = []
    for (let i = 0; i < 4; i++) statuses.push((await send('POST', '/apikey/', '{"name": 5}', limited.key)).status)
    expect(statuses).toEqual([400, 400, 400, 429])
  })
})
