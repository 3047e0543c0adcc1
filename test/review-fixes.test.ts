/** Holes found by review, each pinned by a test that failed before its fix. */
import { describe, expect, test } from 'bun:test'
import { hashKey } from '../src/access/key-format'
import { UsageTracker } from '../src/modules/apikey/usage'
import { seededWorld } from './helpers/world'

describe('rate limits are attenuated like every other limit', () => {
  test('a rate-limited key cannot lift its own limit nor hand out a looser one', async () => {
    const w = await seededWorld()
    const limited = await w.aliceKey({ mode: 'all', rate_limit: { requests: 100, per_seconds: 60 } })
    const before = w.snapshot()
    const raise = await w.request('PUT', `/apikey/${limited.id}`, { key: limited.key, body: { rate_limit: { requests: 1_000_000, per_seconds: 1 } } })
    expect(raise.status).toBe(403)
    const unlimited = await w.request('PUT', `/apikey/${limited.id}`, { key: limited.key, body: { rate_limit: null } })
    expect(unlimited.status).toBe(403)
    const looser = await w.request('POST', '/apikey/', { key: limited.key, body: { name: 'n', mode: 'read', rate_limit: { requests: 100, per_seconds: 30 } } })
    expect(looser.status).toBe(403)
    expect(w.snapshot()).toBe(before)
    const inherited = await w.request('POST', '/apikey/', { key: limited.key, body: { name: 'n', mode: 'read' } })
    expect(inherited.json.apikey.rate_limit).toEqual({ requests: 100, per_seconds: 60 })
    const tighter = await w.request('POST', '/apikey/', { key: limited.key, body: { name: 'n', mode: 'read', rate_limit: { requests: 10, per_seconds: 60 } } })
    expect(tighter.status).toBe(201)
    // Renaming a key leaves its rate limit alone: that is not a grant.
    expect((await w.request('PUT', `/apikey/${limited.id}`, { key: limited.key, body: { name: 'renamed' } })).status).toBe(200)
  })

  test('a rate-limited key cannot rotate a looser key: the new secret would be a grant past its own limit', async () => {
    const w = await seededWorld()
    const limited = await w.aliceKey({ mode: 'all', rate_limit: { requests: 5, per_seconds: 3600 } })
    const unlimited = await w.aliceKey({ mode: 'read' })
    const looser = await w.aliceKey({ mode: 'read', rate_limit: { requests: 6, per_seconds: 3600 } })
    const before = w.snapshot()
    for (const target of [unlimited, looser]) {
      const res = await w.request('POST', `/apikey/${target.id}/rotate`, { key: limited.key })
      expect(res.status).toBe(403)
      expect(res.json).toEqual({ error: 'Insufficient permissions to manage API keys', status: 'KO', code: 'insufficient_permissions' })
      expect(res.text).not.toMatch(/ak_[A-Za-z0-9]{36}/)
    }
    expect(w.snapshot()).toBe(before)
    expect((await w.request('GET', '/apikey/verify', { key: unlimited.key })).status).toBe(200)
    // As tight as the caller, or tighter: rotated as before.
    const same = await w.aliceKey({ mode: 'read', rate_limit: { requests: 5, per_seconds: 3600 } })
    const rotated = await w.request('POST', `/apikey/${same.id}/rotate`, { key: limited.key })
    expect(rotated.status).toBe(201)
    expect(rotated.json.apikey.rate_limit).toEqual({ requests: 5, per_seconds: 3600 })
  })

  test('under a server default, a key without its own limit cannot rotate a key with a looser one', async () => {
    const w = await seededWorld({ policy: { keyRateLimit: { requests: 20, per_seconds: 3600 } } })
    const loose = await w.aliceKey({ mode: 'read' })
    // A key from before the default, with a looser limit of its own.
    w.writeBehind(`UPDATE apikeys SET rate_limit = '{"requests":1000,"per_seconds":1}' WHERE id = ?`, loose.id)
    const before = w.snapshot()
    expect((await w.request('POST', `/apikey/${loose.id}/rotate`, { key: w.alice.key })).status).toBe(403)
    expect(w.snapshot()).toBe(before)
    const plain = await w.aliceKey({ mode: 'read' })
    expect((await w.request('POST', `/apikey/${plain.id}/rotate`, { key: w.alice.key })).status).toBe(201)
  })

  test('under a server default, a key without its own limit cannot hand out more than the default', async () => {
    const w = await seededWorld({ policy: { keyRateLimit: { requests: 3, per_seconds: 3600 } } })
    const res = await w.request('POST', '/apikey/', { key: w.alice.key, body: { name: 'n', mode: 'read', rate_limit: { requests: 1_000_000, per_seconds: 1 } } })
    expect(res.status).toBe(403)
  })
})

describe('rotation', () => {
  test.each([['[]'], ['"x"'], ['1'], ['true']])('body %s → 400, and the old key lives on', async (body) => {
    const w = await seededWorld()
    const k = await w.aliceKey({ mode: 'read' })
    const before = w.snapshot()
    const res = await w.request('POST', `/apikey/${k.id}/rotate`, { key: w.alice.key, body })
    expect(res.status).toBe(400)
    expect(w.snapshot()).toBe(before)
    expect((await w.request('GET', '/apikey/verify', { key: k.key })).status).toBe(200)
  })

  test('an expired key cannot be rotated (409): its successor would be born dead', async () => {
    const w = await seededWorld()
    const k = await w.aliceKey({ mode: 'read' })
    await w.request('POST', `/apikey/${k.id}/rotate`, { key: w.alice.key })
    w.clock.advance(1000)
    const again = await w.request('POST', `/apikey/${k.id}/rotate`, { key: w.alice.key })
    expect(again.status).toBe(409)
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
    const before = w.snapshot()
    const res = await w.request(method, `/apikey/${k.id}/${action}`, { key: w.alice.key, body })
    expect(res.json).toEqual({ error, status: 'KO', code: 'validation_error' })
    expect(w.snapshot()).toBe(before)
  })

  test.each([
    ['GET', '/apikey/%ZZ/', 'invalid_id', 'API key id must be a positive integer'],
    ['DELETE', '/apikey/%ZZ', 'invalid_id', 'API key id must be a positive integer'],
    ['PUT', '/apikey/%E0%A4%A/', 'invalid_id', 'API key id must be a positive integer'],
    ['POST', '/apikey/%ZZ/rotate', 'invalid_id', 'API key id must be a positive integer'],
    ['GET', '/organization/%ZZ/', 'validation_error', "Invalid path parameter 'id': not valid percent-encoding"],
    ['DELETE', '/app/%ZZ', 'validation_error', "Invalid path parameter 'app_id': not valid percent-encoding"],
  ])('%s %s (bad percent-encoding) → 400 %s, nothing changes', async (method, path, code, error) => {
    const w = await seededWorld()
    const before = w.snapshot()
    const res = await w.request(method, path, { key: w.alice.key, body: method === 'PUT' ? { name: 'x' } : undefined })
    expect(res.status).toBe(400)
    expect(res.json).toEqual({ error, status: 'KO', code })
    expect(w.snapshot()).toBe(before)
  })

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

describe('app ids are never reused', () => {
  test('a deleted app\'s id cannot be taken again, so keys limited to it stay powerless', async () => {
    const w = await seededWorld()
    const k = await w.aliceKey({ mode: 'all', limited_to_apps: [w.apps.aliceOne] })
    await w.request('DELETE', `/app/${w.apps.aliceOne}`, { key: w.alice.key })
    const again = await w.request('POST', '/app/', { key: w.alice.key, body: { app_id: w.apps.aliceOne, name: 'again', org_id: w.orgs.aliceSide } })
    expect(again.status).toBe(409)
    expect((await w.request('GET', `/app/${w.apps.aliceOne}`, { key: k.key })).status).toBe(404)
  })

  test('nor can the ids of the apps of a deleted org', async () => {
    const w = await seededWorld()
    await w.request('DELETE', `/organization/${w.orgs.aliceSide}`, { key: w.alice.key })
    const again = await w.request('POST', '/app/', { key: w.alice.key, body: { app_id: w.apps.aliceSide, name: 'again', org_id: w.orgs.aliceMain } })
    expect(again.status).toBe(409)
  })
})

describe('last-use flush', () => {
  test('a failed write keeps the uses for the next flush', async () => {
    const w = await seededWorld()
    const tracker = new UsageTracker(w.core.store, w.clock)
    tracker.record({ keyId: w.alice.keyId, userId: w.alice.user.id, hash: hashKey(w.alice.key) }, () => '10.0.0.1')
    w.db.run('CREATE TRIGGER fail_once BEFORE UPDATE OF last_used_at ON apikeys BEGIN SELECT RAISE(ABORT, \'disk full\'); END')
    await expect(tracker.flush()).rejects.toThrow('disk full')
    w.db.run('DROP TRIGGER fail_once')
    expect(await tracker.flush()).toBe(1)
    expect((await w.core.store.apikeys.findById(w.alice.keyId))!.last_used_ip).toBe('10.0.0.1')
  })
})
