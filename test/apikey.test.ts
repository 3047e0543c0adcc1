/** The documented API key endpoints, through app.handle (SPEC §4–8, seed documentation). */
import { describe, expect, spyOn, test } from 'bun:test'
import { hashKey, KEY_PATTERN } from '../src/access/key-format'
import { scenarioTable, type ApiScenario } from './helpers/scenario'
import { seededWorld } from './helpers/world'

const MASKED = /^ak_[0-9A-Za-z]{5}\.\.\.$/
const DOC_ERRORS = {
  invalidMode: 'Invalid mode specified. Must be one of: read, write, upload, all',
  notFound: 'API key not found',
  denied: 'Insufficient permissions to manage API keys',
}

function expectApiKeyShape(key: Record<string, unknown>) {
  // A copy: bun's toMatchObject writes its asymmetric matchers into the object it is given.
  expect(structuredClone(key)).toMatchObject({
    id: expect.any(Number),
    key: expect.any(String),
    mode: expect.stringMatching(/^(read|upload|write|all)$/),
    name: expect.any(String),
    user_id: expect.stringMatching(/^usr_/),
    created_at: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/),
    updated_at: expect.any(String),
    limited_to_apps: expect.any(Array),
    limited_to_orgs: expect.any(Array),
    enabled: true,
  })
  expect(Object.keys(key).sort()).toEqual(
    ['created_at', 'enabled', 'expires_at', 'id', 'key', 'last_used_at', 'last_used_ip', 'limited_to_apps', 'limited_to_orgs', 'mode', 'name', 'rate_limit', 'rotated_from', 'updated_at', 'user_id'],
  )
}

describe('the documentation examples reproduce', () => {
  test('GET /apikey/ → {"data": [...]} with the documented fields, keys masked', async () => {
    const w = await seededWorld()
    await w.aliceKey({ name: 'Deploy Bot', mode: 'upload', limited_to_apps: [w.apps.aliceOne] })
    const res = await w.request('GET', '/apikey/', { key: w.alice.key })
    expect(res.status).toBe(200)
    expect(Object.keys(res.json)).toEqual(['data'])
    expect(res.json.data).toHaveLength(2)
    for (const key of res.json.data) {
      expectApiKeyShape(key)
      expect(key.key).toMatch(MASKED)
    }
    expect(res.json.data[0]).toMatchObject({ name: 'Deploy Bot', mode: 'upload', limited_to_apps: ['com.alice.one'] })
    expect(res.text).not.toContain(w.alice.key)
  })

  test('POST /apikey/ → 201 {"apikey": {...}} with the full key, which works at once', async () => {
    const w = await seededWorld()
    const res = await w.request('POST', '/apikey/', {
      key: w.alice.key,
      body: { name: 'Limited Read Key', mode: 'read', limited_to_apps: ['com.alice.one'] },
    })
    expect(res.status).toBe(201)
    expect(Object.keys(res.json)).toEqual(['apikey'])
    expectApiKeyShape(res.json.apikey)
    expect(res.json.apikey).toMatchObject({ name: 'Limited Read Key', mode: 'read', limited_to_apps: ['com.alice.one'], user_id: w.alice.user.id })
    expect(res.json.apikey.key).toMatch(KEY_PATTERN)
    // A read key authenticates (403, not 401) but may not manage keys.
    const used = await w.request('GET', '/apikey/', { key: res.json.apikey.key })
    expect(used.status).toBe(403)
    expect(used.json.code).toBe('insufficient_permissions')
  })

  test('DELETE /apikey/:id/ → {"success": true}, and the key is revoked at once', async () => {
    const w = await seededWorld()
    const created = await w.aliceKey({ mode: 'all' })
    expect((await w.request('GET', '/apikey/', { key: created.key })).status).toBe(200)
    const res = await w.request('DELETE', `/apikey/${created.id}/`, { key: w.alice.key })
    expect(res.status).toBe(200)
    expect(res.json).toEqual({ success: true })
    const after = await w.request('GET', '/apikey/', { key: created.key })
    expect(after.status).toBe(401)
    expect(after.json.code).toBe('invalid_api_key')
  })

})

describe('paths', () => {
  test.each(['/apikey', '/apikey/'])('GET and POST %s', async (path) => {
    const w = await seededWorld()
    expect((await w.request('GET', path, { key: w.alice.key })).status).toBe(200)
    expect((await w.request('POST', path, { key: w.alice.key, body: { name: 'n', mode: 'read' } })).status).toBe(201)
  })

  test.each(['/apikey/ID', '/apikey/ID/'])('DELETE %s', async (path) => {
    const w = await seededWorld()
    const { id } = await w.aliceKey({ mode: 'read' })
    expect((await w.request('DELETE', path.replace('ID', String(id)), { key: w.alice.key })).status).toBe(200)
  })

  test('an unknown route is a 404 in the envelope', async () => {
    const w = await seededWorld()
    const res = await w.request('GET', '/nope', { key: w.alice.key })
    expect(res.status).toBe(404)
    expect(res.json).toMatchObject({ status: 'KO', code: 'not_found' })
  })
})

describe('POST takes query parameters too', () => {
  test('all fields from the query, arrays comma-separated or repeated', async () => {
    const w = await seededWorld()
    const q = `name=From%20query&mode=upload&limited_to_apps=${w.apps.aliceOne},${w.apps.aliceTwo}&limited_to_orgs=${w.orgs.aliceMain}`
    const res = await w.request('POST', `/apikey/?${q}`, { key: w.alice.key })
    expect(res.status).toBe(201)
    expect(res.json.apikey).toMatchObject({ name: 'From query', mode: 'upload', limited_to_apps: ['com.alice.one', 'com.alice.two'], limited_to_orgs: [w.orgs.aliceMain] })
    const repeated = await w.request('POST', `/apikey?name=r&mode=read&limited_to_apps=${w.apps.aliceOne}&limited_to_apps=${w.apps.aliceTwo}`, { key: w.alice.key })
    expect(repeated.json.apikey.limited_to_apps).toEqual(['com.alice.one', 'com.alice.two'])
  })

  test('the body wins over the query, field by field', async () => {
    const w = await seededWorld()
    const res = await w.request('POST', '/apikey/?name=query&mode=all', { key: w.alice.key, body: { mode: 'read' } })
    expect(res.status).toBe(201)
    expect(res.json.apikey).toMatchObject({ name: 'query', mode: 'read' })
  })

  test('an invalid mode in the query gets the documented error', async () => {
    const w = await seededWorld()
    const res = await w.request('POST', '/apikey/?name=q&mode=superuser', { key: w.alice.key })
    expect(res.json).toEqual({ error: DOC_ERRORS.invalidMode, status: 'KO', code: 'invalid_mode' })
  })
})

describe('authentication', () => {
  type World = Awaited<ReturnType<typeof seededWorld>>
  /** A fresh `all` key of alice's, then `spoil` applied to it. */
  const spoiled = (spoil: (w: World, key: { id: number; key: string }) => Promise<unknown> | unknown) => async (w: World) => {
    const k = await w.aliceKey({ mode: 'all' })
    await spoil(w, k)
    return k.key
  }
  test.each([
    ['no header', () => null, 'missing_api_key'],
    ['empty header', () => '', 'missing_api_key'],
    ['garbage', () => 'hello', 'invalid_api_key'],
    ['right shape, wrong checksum', () => 'ak_' + 'A'.repeat(36), 'invalid_api_key'],
    // A valid checksum that was never issued: its row is gone without a trace.
    ['well-formed but unknown', spoiled((w, k) => w.query('DELETE FROM apikeys WHERE id = ?', k.id)), 'invalid_api_key'],
    ['deleted', spoiled((w, k) => w.request('DELETE', `/apikey/${k.id}`, { key: w.alice.key })), 'invalid_api_key'],
    ['disabled', spoiled((w, k) => w.query('UPDATE apikeys SET enabled = false WHERE id = ?', k.id)), 'api_key_disabled'],
    ['expired', spoiled((w, k) => w.query("UPDATE apikeys SET expires_at = '2025-12-31T23:59:59.999Z' WHERE id = ?", k.id)), 'api_key_expired'],
  ] as const)('%s → 401 %s', async (_, makeKey, code) => {
    const w = await seededWorld()
    const key = await makeKey(w)
    const res = await w.request('GET', '/apikey/', { headers: key === null ? {} : { authorization: key } })
    expect(res.status).toBe(401)
    expect(res.json).toMatchObject({ status: 'KO', code })
    if (key) expect(res.text).not.toContain(key)
  })

  test('"Bearer <key>" works as well as the bare key', async () => {
    const w = await seededWorld()
    expect((await w.request('GET', '/apikey/', { headers: { authorization: `Bearer ${w.alice.key}` } })).status).toBe(200)
    expect((await w.request('GET', '/apikey/', { headers: { authorization: `bearer  ${w.alice.key}` } })).status).toBe(200)
  })

  test('a key expires at its instant, by the server clock', async () => {
    const w = await seededWorld()
    const k = await w.aliceKey({ mode: 'all', expires_at: '2026-01-01T01:00:00Z' })
    expect(k.key).toMatch(KEY_PATTERN)
    expect((await w.request('GET', '/apikey/', { key: k.key })).status).toBe(200)
    w.clock.advance(60 * 60 * 1000)
    const res = await w.request('GET', '/apikey/', { key: k.key })
    expect(res.status).toBe(401)
    expect(res.json.code).toBe('api_key_expired')
  })
})

describe('ids', () => {
  test("another user's key id is 404, exactly like an unknown id", async () => {
    const w = await seededWorld()
    const bobs = await w.request('DELETE', `/apikey/${w.bob.keyId}/`, { key: w.alice.key })
    const unknown = await w.request('DELETE', '/apikey/424242/', { key: w.alice.key })
    expect(bobs.status).toBe(404)
    expect(bobs.json).toEqual(unknown.json)
    expect((await w.request('GET', '/apikey/', { key: w.bob.key })).status).toBe(200)
  })

  test.each(['read', 'upload', 'write', 'all'] as const)('a %s key may delete itself, limited or not; its next request is 401', async (mode) => {
    const w = await seededWorld()
    for (const limits of [{}, { limited_to_apps: [w.apps.aliceOne] }, { limited_to_orgs: [w.orgs.aliceMain] }]) {
      const k = await w.aliceKey({ mode, ...limits })
      const res = await w.request('DELETE', `/apikey/${k.id}`, { key: k.key })
      expect(res.status).toBe(200)
      expect(res.json).toEqual({ success: true })
      const after = await w.request('GET', '/apikey/verify', { key: k.key })
      expect(after.status).toBe(401)
      expect(after.json.code).toBe('invalid_api_key')
      const audited = await w.query("SELECT CAST(actor_key_id AS integer) AS actor_key_id FROM audit_events WHERE action = 'apikey.delete' AND target_id = ?", String(k.id))
      expect(audited).toEqual([{ actor_key_id: k.id }])
    }
  })

  test.each(['read', 'upload', 'write'] as const)('a %s key may delete no other key: 403 whether the id exists or not, nothing changes', async (mode) => {
    const w = await seededWorld()
    const k = await w.aliceKey({ mode })
    const sibling = await w.aliceKey({ mode: 'read' })
    const before = (await w.snapshot())
    const answers = []
    for (const id of [sibling.id, w.alice.keyId, w.bob.keyId, 424242]) {
      const res = await w.request('DELETE', `/apikey/${id}`, { key: k.key })
      expect(res.status).toBe(403)
      answers.push(res.text)
    }
    // The same answer for every id: a key that may not manage keys learns nothing of other keys.
    expect(new Set(answers).size).toBe(1)
    expect(JSON.parse(answers[0]!)).toEqual({ error: 'Insufficient permissions to manage API keys', status: 'KO', code: 'insufficient_permissions' })
    expect((await w.snapshot())).toBe(before)
  })

  test('a key below `all` is refused before the write transaction: a leaked read key cannot make the server take its write lock', async () => {
    const w = await seededWorld()
    const k = await w.aliceKey({ mode: 'read' })
    const writes = spyOn(w.store, 'write')
    for (const id of [w.alice.keyId, 424242]) expect((await w.request('DELETE', `/apikey/${id}`, { key: k.key })).status).toBe(403)
    expect(writes).not.toHaveBeenCalled()
    // Deleting itself is a write like any other.
    expect((await w.request('DELETE', `/apikey/${k.id}`, { key: k.key })).status).toBe(200)
    expect(writes).toHaveBeenCalledTimes(1)
    writes.mockRestore()
  })

  test('ids are never reused', async () => {
    const w = await seededWorld()
    const first = await w.aliceKey({ mode: 'read' })
    await w.request('DELETE', `/apikey/${first.id}`, { key: w.alice.key })
    const second = await w.aliceKey({ mode: 'read' })
    expect(second.id).toBeGreaterThan(first.id)
  })
})

describe('list filters and pagination', () => {
  test('newest first, ?limit and ?page', async () => {
    const w = await seededWorld()
    for (let i = 0; i < 5; i++) await w.aliceKey({ name: `k${i}`, mode: 'read' })
    const page0 = await w.request('GET', '/apikey/?limit=2&page=0', { key: w.alice.key })
    const page1 = await w.request('GET', '/apikey/?limit=2&page=1', { key: w.alice.key })
    const page3 = await w.request('GET', '/apikey/?limit=2&page=3', { key: w.alice.key })
    expect(page0.json.data.map((k: { name: string }) => k.name)).toEqual(['k4', 'k3'])
    expect(page1.json.data.map((k: { name: string }) => k.name)).toEqual(['k2', 'k1'])
    expect(page3.json.data).toEqual([])
  })

  test('?mode, ?app_id and ?org_id filter', async () => {
    const w = await seededWorld()
    await w.aliceKey({ name: 'r', mode: 'read' })
    await w.aliceKey({ name: 'u-app', mode: 'upload', limited_to_apps: [w.apps.aliceTwo] })
    await w.aliceKey({ name: 'w-org', mode: 'write', limited_to_orgs: [w.orgs.aliceSide] })
    const names = async (q: string) => (await w.request('GET', `/apikey/?${q}`, { key: w.alice.key })).json.data.map((k: { name: string }) => k.name)
    expect(await names('mode=read')).toEqual(['r'])
    expect(await names(`app_id=${w.apps.aliceTwo}`)).toEqual(['u-app'])
    expect(await names(`org_id=${w.orgs.aliceSide}`)).toEqual(['w-org'])
    expect(await names('mode=upload&app_id=com.alice.one')).toEqual([])
  })

  test("lists only the caller's own keys", async () => {
    const w = await seededWorld()
    const res = await w.request('GET', '/apikey/', { key: w.bob.key })
    expect(res.json.data.map((k: { user_id: string }) => k.user_id)).toEqual([w.bob.user.id])
  })
})

describe('attenuation: limited keys hand out and touch only what they have', () => {
  test('an app-limited key creates keys on its app; other apps 400, unlimited 403; omitted inherits', async () => {
    const w = await seededWorld()
    const limited = await w.aliceKey({ mode: 'all', limited_to_apps: [w.apps.aliceOne] })
    const ok = await w.request('POST', '/apikey/', { key: limited.key, body: { name: 'sub', mode: 'read', limited_to_apps: [w.apps.aliceOne] } })
    expect(ok.status).toBe(201)
    expect(ok.json.apikey.limited_to_apps).toEqual([w.apps.aliceOne])

    const inherited = await w.request('POST', '/apikey/', { key: limited.key, body: { name: 'sub', mode: 'read' } })
    expect(inherited.json.apikey.limited_to_apps).toEqual([w.apps.aliceOne])

    const before = (await w.snapshot())
    const otherApp = await w.request('POST', '/apikey/', { key: limited.key, body: { name: 'x', mode: 'read', limited_to_apps: [w.apps.aliceTwo] } })
    expect(otherApp.status).toBe(400)
    expect(otherApp.json).toMatchObject({ code: 'invalid_limited_to_apps', status: 'KO' })
    expect(otherApp.json.error).toContain(w.apps.aliceTwo)
    const unlimited = await w.request('POST', '/apikey/', { key: limited.key, body: { name: 'x', mode: 'read', limited_to_apps: [] } })
    expect(unlimited.status).toBe(403)
    expect(unlimited.json.error).toBe(DOC_ERRORS.denied)
    expect((await w.snapshot())).toBe(before)
  })

  test('an app-limited key lists and deletes only keys within its reach (404 beyond)', async () => {
    const w = await seededWorld()
    const limited = await w.aliceKey({ name: 'limited', mode: 'all', limited_to_apps: [w.apps.aliceOne] })
    const inside = await w.aliceKey({ name: 'inside', mode: 'read', limited_to_apps: [w.apps.aliceOne] })
    const outside = await w.aliceKey({ name: 'outside', mode: 'read', limited_to_apps: [w.apps.aliceTwo] })
    const unlimited = await w.aliceKey({ name: 'unlimited', mode: 'read' })
    const listed = await w.request('GET', '/apikey/', { key: limited.key })
    expect(listed.json.data.map((k: { name: string }) => k.name)).toEqual(['inside', 'limited'])
    for (const k of [outside, unlimited, { id: w.alice.keyId }]) {
      const res = await w.request('DELETE', `/apikey/${k.id}`, { key: limited.key })
      expect(res.status).toBe(404)
      expect(res.json.error).toBe(DOC_ERRORS.notFound)
    }
    expect((await w.request('DELETE', `/apikey/${inside.id}`, { key: limited.key })).status).toBe(200)
  })

  test('an org-limited key: its org yes, the other org 400, unlimited 403, reach 404', async () => {
    const w = await seededWorld()
    const limited = await w.aliceKey({ mode: 'all', limited_to_orgs: [w.orgs.aliceMain] })
    const ok = await w.request('POST', '/apikey/', { key: limited.key, body: { name: 's', mode: 'read', limited_to_apps: [w.apps.aliceOne] } })
    expect(ok.status).toBe(201)
    expect(ok.json.apikey).toMatchObject({ limited_to_orgs: [w.orgs.aliceMain], limited_to_apps: [w.apps.aliceOne] })
    const other = await w.request('POST', '/apikey/', { key: limited.key, body: { name: 's', mode: 'read', limited_to_orgs: [w.orgs.aliceSide] } })
    expect(other.status).toBe(400)
    expect(other.json.code).toBe('invalid_limited_to_orgs')
    const sideApp = await w.request('POST', '/apikey/', { key: limited.key, body: { name: 's', mode: 'read', limited_to_apps: [w.apps.aliceSide] } })
    expect(sideApp.status).toBe(400)
    const unlimited = await w.request('POST', '/apikey/', { key: limited.key, body: { name: 's', mode: 'read', limited_to_orgs: [] } })
    expect(unlimited.status).toBe(403)
    const sideKey = await w.aliceKey({ mode: 'read', limited_to_orgs: [w.orgs.aliceSide] })
    expect((await w.request('DELETE', `/apikey/${sideKey.id}`, { key: limited.key })).status).toBe(404)
  })

  test('unknown and foreign ids get the same 400, naming them', async () => {
    const w = await seededWorld()
    const cases = [
      [{ limited_to_apps: ['com.nobody.here'] }, 'invalid_limited_to_apps', 'com.nobody.here'],
      [{ limited_to_apps: [w.apps.bobOne] }, 'invalid_limited_to_apps', w.apps.bobOne],
      [{ limited_to_orgs: ['org_doesnotexist00'] }, 'invalid_limited_to_orgs', 'org_doesnotexist00'],
      [{ limited_to_orgs: [w.orgs.bobMain] }, 'invalid_limited_to_orgs', w.orgs.bobMain],
      [{ limited_to_orgs: [w.orgs.aliceMain], limited_to_apps: [w.apps.aliceSide] }, 'invalid_limited_to_apps', w.apps.aliceSide],
    ] as const
    const before = (await w.snapshot())
    for (const [limits, code, named] of cases) {
      const res = await w.request('POST', '/apikey/', { key: w.alice.key, body: { name: 'x', mode: 'read', ...limits } })
      expect(res.status).toBe(400)
      expect(res.json.code).toBe(code)
      expect(res.json.error).toContain(named)
    }
    expect((await w.snapshot())).toBe(before)
  })

  test('duplicates in limits are removed', async () => {
    const w = await seededWorld()
    const k = await w.aliceKey({ mode: 'read', limited_to_apps: [w.apps.aliceOne, w.apps.aliceOne] })
    expect(k.limited_to_apps).toEqual([w.apps.aliceOne])
  })

  test('a key with an expiry cannot create one that outlives it; omitted, the expiry is inherited', async () => {
    const w = await seededWorld()
    const expiring = await w.aliceKey({ mode: 'all', expires_at: '2026-02-01T00:00:00Z' })
    const inherited = await w.request('POST', '/apikey/', { key: expiring.key, body: { name: 'n', mode: 'read' } })
    expect(inherited.json.apikey.expires_at).toBe('2026-02-01T00:00:00.000Z')
    const longer = await w.request('POST', '/apikey/', { key: expiring.key, body: { name: 'n', mode: 'read', expires_at: '2027-01-01T00:00:00Z' } })
    expect(longer.status).toBe(400)
    expect(longer.json.code).toBe('invalid_expires_at')
    const shorter = await w.request('POST', '/apikey/', { key: expiring.key, body: { name: 'n', mode: 'read', expires_at: '2026-01-15T00:00:00Z' } })
    expect(shorter.status).toBe(201)
  })
})

describe('secrets never leak', () => {
  test('no response or log line carries a stored key or a hash; audit events carry neither', async () => {
    const w = await seededWorld()
    const created = [
      await w.aliceKey({ mode: 'all' }),
      await w.aliceKey({ mode: 'read', limited_to_apps: [w.apps.aliceOne] }),
    ]
    const secrets = [w.alice.key, w.bob.key, ...created.map((k) => k.key)]
    const bodies: string[] = []
    for (const key of secrets) {
      for (const [method, path] of [['GET', '/apikey/'], ['GET', '/apikey/?limit=1'], ['DELETE', '/apikey/999/'], ['GET', '/health']] as const) {
        bodies.push((await w.request(method, path, { key })).text)
      }
    }
    bodies.push((await w.request('DELETE', `/apikey/${created[1]!.id}`, { key: w.alice.key })).text)
    bodies.push((await w.request('GET', '/apikey/', { key: created[1]!.key })).text)
    const audit = JSON.stringify(await w.query('SELECT * FROM audit_events'))
    const haystacks = [...bodies, ...w.logs, audit]
    for (const secret of [...secrets, ...secrets.map(hashKey)]) {
      for (const text of haystacks) expect(text).not.toContain(secret)
    }
    expect(w.logs.length).toBeGreaterThan(10)
    for (const line of w.logs) {
      const entry = JSON.parse(line)
      if (entry.method) expect(entry).toMatchObject({ route: expect.anything(), status: expect.any(Number), duration_ms: expect.any(Number) })
    }
  })

  test('a request line names the key it got in with, also when the route then refused it', async () => {
    const w = await seededWorld()
    const reader = await w.aliceKey({ mode: 'read' })
    for (const [path, key, status, keyId] of [
      ['/apikey/', w.alice.key, 200, w.alice.keyId],
      ['/apikey/', reader.key, 403, reader.id],
      ['/apikey/verify', reader.key, 200, reader.id],
      ['/apikey/', 'ak_unknown', 401, null],
      ['/apikey/', null, 401, null],
    ] as const) {
      const before = w.logs.length
      expect((await w.request('GET', path, { key })).status).toBe(status)
      const logged = w.logs.slice(before).map((line) => JSON.parse(line)).filter((entry) => entry.method)
      expect(logged).toEqual([expect.objectContaining({ method: 'GET', route: path, status, key_id: keyId })])
    }
  })

  test('the database holds only the hash and the first 8 characters', async () => {
    const w = await seededWorld()
    const k = await w.aliceKey({ mode: 'read' })
    const [row] = await w.query('SELECT * FROM apikeys WHERE id = ?', k.id)
    expect(row!.key_hash).toBe(hashKey(k.key))
    expect(row!.key_start).toBe(k.key.slice(0, 8))
    expect(JSON.stringify(await w.query('SELECT * FROM apikeys'))).not.toContain(k.key)
  })
})

describe('audit', () => {
  test('creating and deleting keys writes audit events with the actor', async () => {
    const w = await seededWorld()
    const k = await w.aliceKey({ name: 'audited', mode: 'read' })
    await w.request('DELETE', `/apikey/${k.id}`, { key: w.alice.key, headers: { 'user-agent': 'audit-test' } })
    const events = await w.query("SELECT action, CAST(actor_key_id AS integer) AS actor_key_id, target_id, user_agent FROM audit_events WHERE target_type = 'apikey' AND target_id = ? ORDER BY id", String(k.id))
    expect(events).toEqual([
      { action: 'apikey.create', actor_key_id: w.alice.keyId, target_id: String(k.id), user_agent: null },
      { action: 'apikey.delete', actor_key_id: w.alice.keyId, target_id: String(k.id), user_agent: 'audit-test' },
    ])
  })

  test('at most 1000 keys per user: the 1001st is 409', async () => {
    const w = await seededWorld()
    await w.query(`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 999)
      INSERT INTO apikeys (user_id, name, mode, key_hash, key_start, created_at, updated_at)
      SELECT ?, 'bulk', 'read', 'hash-' || i, 'ak_xxxxx', '', '' FROM n`, w.alice.user.id)
    const res = await w.request('POST', '/apikey/', { key: w.alice.key, body: { name: 'one too many', mode: 'read' } })
    expect(res.status).toBe(409)
    expect(res.json.code).toBe('conflict')
  })
})

/** Alice's world with a key of hers in each mode below `all`. */
async function withModeKeys() {
  const w = await seededWorld()
  return { ...w, read: (await w.aliceKey({ mode: 'read' })).key, upload: (await w.aliceKey({ mode: 'upload' })).key, write: (await w.aliceKey({ mode: 'write' })).key }
}
type ModeKeys = Awaited<ReturnType<typeof withModeKeys>>

/** The whole envelope of an error answer. */
const envelope = (error: string, code: string) => (answer: { json: unknown }) => expect(answer.json).toEqual({ error, status: 'KO', code })

describe('single requests: the documented errors, modes below `all`, malformed ids, queries and expiries', () => {
  scenarioTable<ModeKeys>(withModeKeys, [
    { name: 'documented error: invalid mode', method: 'POST', path: '/apikey/', key: (w) => w.alice.key, body: { name: 'x', mode: 'admin' }, status: 400, check: envelope(DOC_ERRORS.invalidMode, 'invalid_mode'), unchanged: true },
    { name: 'documented error: key not found', method: 'DELETE', path: '/apikey/999999/', key: (w) => w.alice.key, status: 404, check: envelope(DOC_ERRORS.notFound, 'not_found'), unchanged: true },
    // Only `all` manages keys: the documented 403, and nothing changes.
    ...(['read', 'upload', 'write'] as const).flatMap((mode) =>
      ([['GET', '/apikey/', undefined], ['POST', '/apikey/', { name: 'n', mode: 'read' }], ['DELETE', '/apikey/1/', undefined]] as const).map(
        ([method, path, body]): ApiScenario<ModeKeys> => ({
          name: `a ${mode} key: ${method} ${path} → 403`, method, path, key: (w) => w[mode], body, status: 403,
          check: envelope(DOC_ERRORS.denied, 'insufficient_permissions'), unchanged: true,
        }),
      ),
    ),
    ...['abc', '0', '-1', '1.5', '1e3', '99999999999999999999', '%20', '1;DROP TABLE apikeys'].map((id): ApiScenario<ModeKeys> => ({
      name: `DELETE /apikey/${id}/ → 400 invalid_id`, method: 'DELETE', path: `/apikey/${encodeURIComponent(id)}/`, key: (w) => w.alice.key, status: 400,
      check: envelope('API key id must be a positive integer', 'invalid_id'), unchanged: true,
    })),
    ...['limit=0', 'limit=1001', 'limit=abc', 'page=-1', 'mode=root'].map((query): ApiScenario<ModeKeys> => ({
      name: `GET /apikey/?${query} → 400`, method: 'GET', path: `/apikey/?${query}`, key: (w) => w.alice.key, status: 400, contains: ['"status":"KO"'],
    })),
    ...['yesterday', '2025-12-31T00:00:00Z', '2026-13-01T00:00:00Z', '2026-06-01'].map((expires_at): ApiScenario<ModeKeys> => ({
      name: `expires_at ${expires_at} → 400 invalid_expires_at`, method: 'POST', path: '/apikey/', key: (w) => w.alice.key, body: { name: 'n', mode: 'read', expires_at },
      status: 400, code: 'invalid_expires_at', unchanged: true,
    })),
  ])
})
