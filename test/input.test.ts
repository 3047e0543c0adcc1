/** Bad input gets a clear 4xx in the envelope and changes nothing (SPEC §7, §10). */
import { describe, expect, test } from 'bun:test'
import { scenarioTable, type ApiScenario } from './helpers/scenario'
import { seededWorld } from './helpers/world'

type World = Awaited<ReturnType<typeof seededWorld>>

/** A 128 KiB body sent as a stream, so that nothing declares its length up front. */
function oversizedStream(): ReadableStream<Uint8Array> {
  const chunk = new TextEncoder().encode('x'.repeat(16 * 1024))
  let sent = 0
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      if (sent++ < 8) controller.enqueue(chunk)
      else controller.close()
    },
  })
}

const name = 'ok'
const cases: [string, unknown, number, string][] = [
  ['malformed JSON', '{"name": "x", "mode": ', 400, 'invalid_json'],
  ['not JSON at all', 'name=x&mode=read', 400, 'invalid_json'],
  ['a JSON array', '[1, 2]', 400, 'validation_error'],
  ['a JSON string', '"hello"', 400, 'validation_error'],
  ['a JSON number', '42', 400, 'validation_error'],
  ['JSON null (and no query)', 'null', 400, 'validation_error'],
  ['an empty object', {}, 400, 'validation_error'],
  ['name missing', { mode: 'read' }, 400, 'validation_error'],
  // A missing mode gets the documented mode message: it says what to send.
  ['mode missing', { name }, 400, 'invalid_mode'],
  ['name is a number', { name: 5, mode: 'read' }, 400, 'validation_error'],
  ['mode is a number', { name, mode: 1 }, 400, 'invalid_mode'],
  ['mode in capitals', { name, mode: 'READ' }, 400, 'invalid_mode'],
  ['limited_to_apps is a string', { name, mode: 'read', limited_to_apps: 'com.alice.one' }, 400, 'validation_error'],
  ['limited_to_apps holds numbers', { name, mode: 'read', limited_to_apps: [1, 2] }, 400, 'validation_error'],
  ['limited_to_orgs holds an object', { name, mode: 'read', limited_to_orgs: [{}] }, 400, 'validation_error'],
  ['an unknown field', { name, mode: 'read', admin: true }, 400, 'validation_error'],
  ['__proto__ as a field', '{"name":"x","mode":"read","__proto__":{"admin":true}}', 400, 'validation_error'],
  ['a name shadowing toString', { name: { toString: null }, mode: 'read' }, 400, 'validation_error'],
  ['an app id shadowing valueOf', { name, mode: 'read', limited_to_apps: [{ valueOf: 0 }] }, 400, 'validation_error'],
  ['a 10,000-character name', { name: 'n'.repeat(10_000), mode: 'read' }, 400, 'validation_error'],
  ['a 101-character name', { name: 'n'.repeat(101), mode: 'read' }, 400, 'validation_error'],
  ['a blank name', { name: '   ', mode: 'read' }, 400, 'validation_error'],
  ['a name with a control character', { name: 'a\u0000b', mode: 'read' }, 400, 'validation_error'],
  ['a name with a newline', { name: 'a\nb', mode: 'read' }, 400, 'validation_error'],
  // NUL is refused in every string of a body, whatever the field checks after (PostgreSQL's text cannot hold it).
  ['an app id with a NUL', { name, mode: 'read', limited_to_apps: ['com.alice\u0000.one'] }, 400, 'validation_error'],
  ['a field name with a NUL', { name, mode: 'read', 'mo\u0000de': 'read' }, 400, 'validation_error'],
  ['200 app ids', { name, mode: 'read', limited_to_apps: Array.from({ length: 200 }, (_, i) => `com.x.a${i}`) }, 400, 'validation_error'],
  ['an empty app id', { name, mode: 'read', limited_to_apps: [''] }, 400, 'validation_error'],
  ['expires_at is a number', { name, mode: 'read', expires_at: 1 }, 400, 'validation_error'],
  ['SQL in an app id', { name, mode: 'read', limited_to_apps: ["x'); DROP TABLE apikeys; --"] }, 400, 'invalid_limited_to_apps'],
  ['a path traversal in an org id', { name, mode: 'read', limited_to_orgs: ['../../etc/passwd'] }, 400, 'invalid_limited_to_orgs'],
  ['a name nested 5,000 arrays deep', `{"name": ${'['.repeat(5000)}${']'.repeat(5000)}, "mode": "read"}`, 400, 'validation_error'],
  ['a 1 MiB body', { name: 'x'.repeat(1024 * 1024), mode: 'read' }, 413, 'payload_too_large'],
]

/** The database's own words, which no answer may carry. */
const DATABASE_WORDS = /SQLITE|SQLiteError|Postgres/i
const badInput = (code: string) => (answer: { json: unknown }) => expect(answer.json).toEqual({ error: expect.any(String), status: 'KO', code })

describe('POST /apikey/ with bad input', () => {
  scenarioTable(seededWorld, cases.map(([what, body, status, code]): ApiScenario<World> => ({
    name: `${what} → ${status} ${code}, nothing changes`, method: 'POST', path: '/apikey/', key: (w) => w.alice.key, body,
    status, check: badInput(code), notContains: [DATABASE_WORDS], unchanged: true,
  })))

  test('invalid UTF-8 in the body → 400 invalid_json', async () => {
    const w = await seededWorld()
    const before = (await w.snapshot())
    const body = new Uint8Array([0x7b, 0x22, 0x6e, 0xff, 0xfe, 0x22, 0x7d])
    const res = await w.app.handle(
      new Request('http://localhost/apikey/', { method: 'POST', body, headers: { authorization: w.alice.key, 'content-type': 'application/json' } }),
    )
    expect(res.status).toBe(400)
    expect(((await res.json()) as { code: string }).code).toBe('invalid_json')
    expect((await w.snapshot())).toBe(before)
  })

  test('a body over 64 KiB without a content-length (streamed) → 413', async () => {
    const w = await seededWorld()
    const res = await w.app.handle(
      new Request('http://localhost/apikey/', { method: 'POST', body: oversizedStream(), headers: { authorization: w.alice.key, 'content-type': 'application/json' } }),
    )
    expect(res.status).toBe(413)
    expect(((await res.json()) as { code: string }).code).toBe('payload_too_large')
  })

  test('a body longer than its declared length, and over 64 KiB → 413', async () => {
    const w = await seededWorld()
    const before = (await w.snapshot())
    const res = await w.app.handle(
      new Request('http://localhost/apikey/', {
        method: 'POST',
        body: oversizedStream(),
        headers: { authorization: w.alice.key, 'content-type': 'application/json', 'content-length': '20' },
      }),
    )
    expect(res.status).toBe(413)
    expect((await w.snapshot())).toBe(before)
  })

  test('a name is trimmed; 100 characters after trimming is fine', async () => {
    const w = await seededWorld()
    const res = await w.request('POST', '/apikey/', { key: w.alice.key, body: { name: `  ${'n'.repeat(100)}  `, mode: 'read' } })
    expect(res.status).toBe(201)
    expect(res.json.apikey.name).toBe('n'.repeat(100))
  })

  test('brackets inside strings are not nesting', async () => {
    const w = await seededWorld()
    const name = `${'[{'.repeat(40)}"\\`
    const res = await w.request('POST', '/apikey/', { key: w.alice.key, body: { name, mode: 'read' } })
    expect(res.status).toBe(201)
    expect(res.json.apikey.name).toBe(name)
  })

  test('unicode names are kept', async () => {
    const w = await seededWorld()
    const res = await w.request('POST', '/apikey/', { key: w.alice.key, body: { name: 'Clé de déploiement 🚀', mode: 'read' } })
    expect(res.json.apikey.name).toBe('Clé de déploiement 🚀')
  })
})

describe('headers', () => {
  test.each([
    ['a huge authorization header', 'ak_' + 'x'.repeat(60_000)],
    ['SQL in the authorization header', "' OR 1=1 --"],
    ['Bearer with nothing after it', 'Bearer '],
    ['a key followed by junk', 'KEY junk'],
  ])('%s → 401, no 5xx', async (_, header) => {
    const w = await seededWorld()
    const res = await w.request('GET', '/apikey/', { headers: { authorization: header.replace('KEY', w.alice.key) } })
    expect(res.status).toBe(401)
    expect(res.json.status).toBe('KO')
  })
})

describe('every route that takes a body reads it with the 64 KiB JSON parser', async () => {
  const w = await seededWorld()
  const withBody = w.app.routes.filter((route) => route.method === 'POST' || route.method === 'PUT' || route.method === 'PATCH')
  const concrete = (path: string) => path.replace(':id', '1').replace(':app_id', 'com.alice.one').replace(':user_id', 'usr_x')

  test('there are such routes', () => {
    expect(withBody.length).toBeGreaterThanOrEqual(9)
  })

  test.each(withBody.map((route) => [route.method, route.path] as const))('%s %s: 413 over the limit, 400 for a reserved key', async (method, path) => {
    const before = (await w.snapshot())
    const big = await w.request(method, concrete(path), { key: w.alice.key, body: { name: 'x'.repeat(65 * 1024) } })
    expect(big.status).toBe(413)
    expect(big.json.code).toBe('payload_too_large')
    const reserved = await w.request(method, concrete(path), { key: w.alice.key, body: '{"constructor":1}' })
    expect(reserved.status).toBe(400)
    expect(reserved.json.code).toBe('validation_error')
    expect((await w.snapshot())).toBe(before)
  })
})

describe('every route with an id in its path refuses an over-long one with a 400', async () => {
  const w = await seededWorld()
  // The console's files answer 404 for any name they do not have (console.test.ts).
  const withId = w.app.routes.filter((route) => route.path.includes('/:') && !route.path.startsWith('/console'))
  const tooLong = (path: string) => path.replace(/:[a-z_]+/g, 'x'.repeat(201))

  test('there are such routes', () => {
    expect(withId.length).toBeGreaterThanOrEqual(14)
  })

  // The answer is checked against the document by `request`: each route declares this 400.
  test.each(withId.map((route) => [route.method, route.path] as const))('%s %s', async (method, path) => {
    const before = (await w.snapshot())
    const res = await w.request(method, tooLong(path), { key: w.alice.key, body: method === 'POST' || method === 'PUT' ? { name: 'x', role: 'read' } : undefined })
    expect(res.status).toBe(400)
    expect(res.json.code).toMatch(/^(invalid_id|validation_error)$/)
    expect((await w.snapshot())).toBe(before)
  })
})

describe('values only looked up, never stored', () => {
  test.each([
    ['GET', '/app/com.alice%00.one'],
    ['GET', '/apikey/verify?app_id=com.alice%00.one'],
    ['GET', '/audit/?action=apikey%00.create'],
    ['GET', '/audit/?actor_key_id=9223372036854775808'],
  ])('%s %s → found nothing or a 4xx in the envelope, never a 5xx, on either backend; nothing changes', async (method, path) => {
    const w = await seededWorld()
    const before = await w.snapshot()
    const res = await w.request(method, path, { key: w.alice.key })
    expect(res.status).toBeLessThan(500)
    if (res.status >= 400) expect(res.json).toMatchObject({ status: 'KO' })
    else expect(res.json.data ?? []).toEqual([])
    expect(await w.snapshot()).toBe(before)
  })
})

describe('input', () => {
  test.each([
    ['POST', 'rotate', { grace_period_seconds: 604801 }, "Invalid body field 'grace_period_seconds': Expected integer to be less or equal to 604800"],
    ['POST', 'rotate', { grace_period_seconds: 1.5 }, "Invalid body field 'grace_period_seconds': Expected integer"],
    ['POST', 'rotate', { grace: 1 }, "Invalid body field 'grace': Unexpected property"],
    ['POST', 'rotate', { grace_period_seconds: null }, "Invalid body field 'grace_period_seconds': Expected union value"],
    ['POST', 'rotate', { grace_period_seconds: [] }, "Invalid body field 'grace_period_seconds': Expected union value"],
    ['POST', 'rotate', [], "Invalid body field 'body': Expected union value"],
    ['PUT', '', { rate_limit: { requests: null, per_seconds: 1 } }, "Invalid body field 'rate_limit.requests': Expected union value"],
    // A number as text out of range: Elysia's decoding no longer knows the field, so none is named.
    ['POST', 'rotate', { grace_period_seconds: '604801' }, 'Invalid value: Expected integer to be less or equal to 604800'],
    ['PUT', '', { rate_limit: { requests: 0, per_seconds: 0 } }, "Invalid body field 'rate_limit.requests': Expected integer to be greater or equal to 1"],
    ['PUT', '', { rate_limit: { requests: 5, per_seconds: 'often' } }, "Invalid body field 'rate_limit.per_seconds': Expected string to match 'integer' format"],
  ])("%s …/%s %j → 400 naming the field, inside a union when the value is of a branch's type", async (method, action, body, error) => {
    const w = await seededWorld()
    const k = await w.aliceKey({ mode: 'read' })
    const before = (await w.snapshot())
    const res = await w.request(method, `/apikey/${k.id}/${action}`, { key: w.alice.key, body })
    expect(res.json).toEqual({ error, status: 'KO', code: 'validation_error' })
    expect((await w.snapshot())).toBe(before)
  })

  scenarioTable(seededWorld, ([
    ['GET', '/apikey/%ZZ/', 'invalid_id', 'API key id must be a positive integer'],
    ['DELETE', '/apikey/%ZZ', 'invalid_id', 'API key id must be a positive integer'],
    ['PUT', '/apikey/%E0%A4%A/', 'invalid_id', 'API key id must be a positive integer'],
    ['POST', '/apikey/%ZZ/rotate', 'invalid_id', 'API key id must be a positive integer'],
    ['GET', '/organization/%ZZ/', 'validation_error', "Invalid path parameter 'id': not valid percent-encoding"],
    ['DELETE', '/app/%ZZ', 'validation_error', "Invalid path parameter 'app_id': not valid percent-encoding"],
  ] as const).map(([method, path, code, error]): ApiScenario<World> => ({
    name: `${method} ${path} (bad percent-encoding) → 400 ${code}, nothing changes`, method, path, key: (w) => w.alice.key,
    body: method === 'PUT' ? { name: 'x' } : undefined, status: 400, check: (a) => expect(a.json).toEqual({ error, status: 'KO', code }), unchanged: true,
  })))

  test.each(['2026-02-30T00:00:00Z', '2026-04-31T00:00:00Z', '2026-00-10T00:00:00Z'])('expires_at %s (no such day) → 400', async (expires_at) => {
    const w = await seededWorld()
    const res = await w.request('POST', '/apikey/', { key: w.alice.key, body: { name: 'n', mode: 'read', expires_at } })
    expect(res.status).toBe(400)
    expect(res.json.code).toBe('invalid_expires_at')
  })

  test('a name with a lone surrogate → 400', async () => {
    const w = await seededWorld()
    const res = await w.request('POST', '/apikey/', { key: w.alice.key, body: '{"name":"a\\ud800b","mode":"read"}' })
    expect(res.status).toBe(400)
  })

  test('verify refuses a parameter given twice', async () => {
    const w = await seededWorld()
    const read = await w.aliceKey({ mode: 'read' })
    for (const q of ['mode=all&mode=read', `app_id=x&app_id=${w.apps.aliceOne}`, 'org_id=a&org_id=b', 'mode=read&mod%65=all', 'mode&mode=read']) {
      const res = await w.request('GET', `/apikey/verify?${q}`, { key: read.key })
      expect(res.status).toBe(400)
    }
    // Each may appear once.
    const once = await w.request('GET', `/apikey/verify?mode=read&app_id=${w.apps.aliceOne}&org_id=${w.orgs.aliceMain}`, { key: read.key })
    expect(once.status).not.toBe(400)
  })
})
