/** The key lifecycle (issue #4, SPEC §4–8): get, update, rotate, expiry, disable, last use, limits. */
import { describe, expect, spyOn, test } from 'bun:test'
import { hashKey, KEY_PATTERN } from '../src/access/key-format'
import { UsageTracker } from '../src/usage/tracker'
import { seededWorld } from './helpers/world'

const HOUR = 60 * 60 * 1000

describe('GET /apikey/:id/', () => {
  test('one key within reach, masked; 404 beyond; 400 for a bad id', async () => {
    const w = await seededWorld()
    const k = await w.aliceKey({ name: 'one', mode: 'read', limited_to_apps: [w.apps.aliceOne] })
    const res = await w.request('GET', `/apikey/${k.id}/`, { key: w.alice.key })
    expect(res.status).toBe(200)
    expect(res.json.apikey).toMatchObject({ id: k.id, name: 'one', key: `${k.key.slice(0, 8)}...` })
    expect(res.text).not.toContain(k.key)
    expect((await w.request('GET', `/apikey/${w.bob.keyId}`, { key: w.alice.key })).status).toBe(404)
    const limited = await w.aliceKey({ mode: 'all', limited_to_apps: [w.apps.aliceTwo] })
    expect((await w.request('GET', `/apikey/${k.id}`, { key: limited.key })).status).toBe(404)
    expect((await w.request('GET', '/apikey/x1/', { key: w.alice.key })).json.code).toBe('invalid_id')
  })
})

describe('PUT /apikey/:id/', () => {
  test('changes name, mode, limits, expiry and rate limit; the audit log records it', async () => {
    const w = await seededWorld()
    const k = await w.aliceKey({ name: 'before', mode: 'read' })
    const res = await w.request('PUT', `/apikey/${k.id}/`, {
      key: w.alice.key,
      body: { name: 'after', mode: 'upload', limited_to_apps: [w.apps.aliceOne], expires_at: '2026-03-01T00:00:00Z', rate_limit: { requests: 10, per_seconds: 60 } },
    })
    expect(res.status).toBe(200)
    expect(res.json.apikey).toMatchObject({
      name: 'after', mode: 'upload', limited_to_apps: [w.apps.aliceOne], expires_at: '2026-03-01T00:00:00.000Z', rate_limit: { requests: 10, per_seconds: 60 },
    })
    const cleared = await w.request('PUT', `/apikey/${k.id}`, { key: w.alice.key, body: { expires_at: null, rate_limit: null } })
    expect(cleared.json.apikey).toMatchObject({ expires_at: null, rate_limit: null, name: 'after' })
    const events = await w.query("SELECT action FROM audit_events WHERE action = 'apikey.update'")
    expect(events).toHaveLength(2)
  })

  test.each([
    ['{}', {}, 400, 'validation_error'],
    ['an unknown field', { admin: true }, 400, 'validation_error'],
    ['a bad mode', { mode: 'root' }, 400, 'invalid_mode'],
    ['a past expiry', { expires_at: '2020-01-01T00:00:00Z' }, 400, 'invalid_expires_at'],
    ['enabled as a string', { enabled: 'no' }, 400, 'validation_error'],
    ['a zero rate limit', { rate_limit: { requests: 0, per_seconds: 1 } }, 400, 'validation_error'],
  ])('%s → %i, nothing changes', async (_, body, status, code) => {
    const w = await seededWorld()
    const k = await w.aliceKey({ mode: 'read' })
    const before = (await w.snapshot())
    const res = await w.request('PUT', `/apikey/${k.id}`, { key: w.alice.key, body })
    expect(res.status).toBe(status)
    expect(res.json.code).toBe(code)
    expect((await w.snapshot())).toBe(before)
  })

  test('a limited caller cannot widen a key (403) nor point it outside its reach (400)', async () => {
    const w = await seededWorld()
    const limited = await w.aliceKey({ mode: 'all', limited_to_apps: [w.apps.aliceOne] })
    const k = await w.aliceKey({ mode: 'read', limited_to_apps: [w.apps.aliceOne] })
    const before = (await w.snapshot())
    expect((await w.request('PUT', `/apikey/${k.id}`, { key: limited.key, body: { limited_to_apps: [] } })).status).toBe(403)
    expect((await w.request('PUT', `/apikey/${k.id}`, { key: limited.key, body: { limited_to_apps: [w.apps.aliceTwo] } })).status).toBe(400)
    expect((await w.snapshot())).toBe(before)
    expect((await w.request('PUT', `/apikey/${k.id}`, { key: limited.key, body: { mode: 'write' } })).status).toBe(200)
  })

  test('a caller that expires cannot extend a key past its own expiry, nor clear it', async () => {
    const w = await seededWorld()
    const expiring = await w.aliceKey({ mode: 'all', expires_at: '2026-02-01T00:00:00Z' })
    const k = (await w.request('POST', '/apikey/', { key: expiring.key, body: { name: 'k', mode: 'read' } })).json.apikey
    for (const expires_at of ['2026-06-01T00:00:00Z', null]) {
      const res = await w.request('PUT', `/apikey/${k.id}`, { key: expiring.key, body: { expires_at } })
      expect(res.status).toBe(400)
      expect(res.json.code).toBe('invalid_expires_at')
    }
    expect((await w.request('PUT', `/apikey/${k.id}`, { key: expiring.key, body: { expires_at: '2026-01-15T00:00:00Z' } })).status).toBe(200)
  })

  test('disable → 401 api_key_disabled; enable → works again', async () => {
    const w = await seededWorld()
    const k = await w.aliceKey({ mode: 'read' })
    await w.request('PUT', `/apikey/${k.id}`, { key: w.alice.key, body: { enabled: false } })
    const denied = await w.request('GET', '/apikey/verify', { key: k.key })
    expect(denied.status).toBe(401)
    expect(denied.json.code).toBe('api_key_disabled')
    await w.request('PUT', `/apikey/${k.id}`, { key: w.alice.key, body: { enabled: true } })
    expect((await w.request('GET', '/apikey/verify', { key: k.key })).status).toBe(200)
  })
})

describe('POST /apikey/:id/rotate', () => {
  test('a grace period: both keys work during it, the old one fails with api_key_expired after it', async () => {
    const w = await seededWorld()
    const old = await w.aliceKey({ name: 'deploy', mode: 'upload', limited_to_apps: [w.apps.aliceOne], expires_at: '2026-06-01T00:00:00Z', rate_limit: { requests: 50, per_seconds: 60 } })
    const res = await w.request('POST', `/apikey/${old.id}/rotate`, { key: w.alice.key, body: { grace_period_seconds: 3600 } })
    expect(res.status).toBe(201)
    const fresh = res.json.apikey
    expect(fresh.key).toMatch(KEY_PATTERN)
    expect(fresh.id).toBeGreaterThan(old.id)
    expect(fresh).toMatchObject({
      name: 'deploy', mode: 'upload', limited_to_apps: [w.apps.aliceOne], expires_at: '2026-06-01T00:00:00.000Z',
      rate_limit: { requests: 50, per_seconds: 60 }, rotated_from: old.id,
    })
    expect(res.json.previous).toEqual({ id: old.id, expires_at: '2026-01-01T01:00:00.000Z' })
    for (const key of [old.key, fresh.key]) expect((await w.request('GET', '/apikey/verify', { key })).status).toBe(200)
    w.clock.advance(HOUR)
    const expired = await w.request('GET', '/apikey/verify', { key: old.key })
    expect(expired.status).toBe(401)
    expect(expired.json.code).toBe('api_key_expired')
    expect((await w.request('GET', '/apikey/verify', { key: fresh.key })).status).toBe(200)
  })

  test('no grace (the default): the old key fails at once', async () => {
    const w = await seededWorld()
    const old = await w.aliceKey({ mode: 'read' })
    const res = await w.request('POST', `/apikey/${old.id}/rotate/`, { key: w.alice.key })
    expect(res.status).toBe(201)
    expect((await w.request('GET', '/apikey/verify', { key: old.key })).json.code).toBe('api_key_expired')
    expect((await w.request('GET', '/apikey/verify', { key: res.json.apikey.key })).status).toBe(200)
  })

  test('a rotation never extends the old key\'s life', async () => {
    const w = await seededWorld()
    const old = await w.aliceKey({ mode: 'read', expires_at: '2026-01-01T00:10:00Z' })
    const res = await w.request('POST', `/apikey/${old.id}/rotate`, { key: w.alice.key, body: { grace_period_seconds: 604800 } })
    expect(res.json.previous.expires_at).toBe('2026-01-01T00:10:00.000Z')
    expect(res.json.apikey.expires_at).toBe('2026-01-01T00:10:00.000Z')
  })

  test.each([-1, 604801, 1.5, 'soon', null])('grace_period_seconds %p → 400, nothing changes', async (grace) => {
    const w = await seededWorld()
    const old = await w.aliceKey({ mode: 'read' })
    const before = (await w.snapshot())
    const res = await w.request('POST', `/apikey/${old.id}/rotate`, { key: w.alice.key, body: { grace_period_seconds: grace } })
    expect(res.status).toBe(400)
    expect((await w.snapshot())).toBe(before)
  })

  test('five rotations sent at once give one successor; the others answer 409 already_rotated naming it', async () => {
    const w = await seededWorld()
    const old = await w.aliceKey({ mode: 'read' })
    const answers = await Promise.all(
      Array.from({ length: 5 }, () => w.request('POST', `/apikey/${old.id}/rotate`, { key: w.alice.key, body: { grace_period_seconds: 3600 } })),
    )
    const created = answers.filter((a) => a.status === 201)
    expect(created).toHaveLength(1)
    const successor = created[0]!.json.apikey.id
    for (const refused of answers.filter((a) => a.status !== 201)) {
      expect(refused.status).toBe(409)
      expect(refused.json).toEqual({ error: `API key was already rotated (successor: ${successor})`, status: 'KO', code: 'already_rotated' })
    }
    const live = (await w.request('GET', '/apikey/', { key: w.alice.key })).json.data.filter((k: { rotated_from: number | null }) => k.rotated_from === old.id)
    expect(live).toHaveLength(1)
  })

  test('a rotated-away key is rotated no more, even once its successor is deleted, and its grace end holds', async () => {
    const w = await seededWorld()
    const old = await w.aliceKey({ mode: 'read' })
    const first = await w.request('POST', `/apikey/${old.id}/rotate`, { key: w.alice.key, body: { grace_period_seconds: 3600 } })
    await w.request('DELETE', `/apikey/${first.json.apikey.id}`, { key: w.alice.key })
    const before = (await w.snapshot())
    const again = await w.request('POST', `/apikey/${old.id}/rotate`, { key: w.alice.key })
    expect(again.status).toBe(409)
    // The successor is gone, so it is not named.
    expect(again.json).toEqual({ error: 'API key was already rotated', status: 'KO', code: 'already_rotated' })
    // PUT cannot bring it back either: its expiry stays at the end of its grace period.
    for (const expires_at of [null, '2026-06-01T00:00:00Z']) {
      const revived = await w.request('PUT', `/apikey/${old.id}`, { key: w.alice.key, body: { expires_at } })
      expect(revived.status).toBe(409)
      expect(revived.json.code).toBe('already_rotated')
    }
    expect((await w.snapshot())).toBe(before)
    expect((await w.request('PUT', `/apikey/${old.id}`, { key: w.alice.key, body: { expires_at: '2026-01-01T00:30:00Z' } })).status).toBe(200)
  })

  test('an expired key cannot be brought back by PUT (409); renamed, it stays expired', async () => {
    const w = await seededWorld()
    const k = await w.aliceKey({ mode: 'read', expires_at: '2026-01-02T00:00:00Z' })
    w.clock.advance(2 * 24 * HOUR)
    const before = (await w.snapshot())
    const revived = await w.request('PUT', `/apikey/${k.id}`, { key: w.alice.key, body: { expires_at: null } })
    expect(revived.status).toBe(409)
    expect(revived.json.code).toBe('conflict')
    expect((await w.snapshot())).toBe(before)
    expect((await w.request('PUT', `/apikey/${k.id}`, { key: w.alice.key, body: { name: 'old', enabled: true } })).status).toBe(200)
    expect((await w.request('GET', '/apikey/verify', { key: k.key })).json.code).toBe('api_key_expired')
  })

  test('a key beyond reach cannot be rotated (404); a read key cannot rotate (403)', async () => {
    const w = await seededWorld()
    expect((await w.request('POST', `/apikey/${w.bob.keyId}/rotate`, { key: w.alice.key })).status).toBe(404)
    const read = await w.aliceKey({ mode: 'read' })
    expect((await w.request('POST', `/apikey/${read.id}/rotate`, { key: read.key })).status).toBe(403)
  })
})

describe('last use', () => {
  test('recorded in memory, written at the next flush, shown in lists', async () => {
    const w = await seededWorld()
    const k = await w.aliceKey({ mode: 'read' })
    await w.request('GET', '/apikey/verify', { key: k.key })
    const unflushed = await w.request('GET', `/apikey/${k.id}`, { key: w.alice.key })
    expect(unflushed.json.apikey.last_used_at).toBeNull()
    w.clock.advance(1000)
    await w.core.usage.flush()
    const listed = (await w.request('GET', '/apikey/', { key: w.alice.key })).json.data.find((x: { id: number }) => x.id === k.id)
    expect(listed.last_used_at).toBe('2026-01-01T00:00:00.000Z')
  })

  test('1000 requests with one key cost one row write', async () => {
    const w = await seededWorld()
    const k = await w.aliceKey({ mode: 'read' })
    await w.core.usage.flush()
    const writes = spyOn(w.store, 'write')
    for (let i = 0; i < 1000; i++) expect((await w.request('GET', '/apikey/verify', { key: k.key })).status).toBe(200)
    expect(writes).not.toHaveBeenCalled()
    expect(await w.core.usage.flush()).toBe(1)
    expect(writes).toHaveBeenCalledTimes(1)
    writes.mockRestore()
  })

  test('a key deleted before the flush is simply skipped', async () => {
    const w = await seededWorld()
    const k = await w.aliceKey({ mode: 'all' })
    await w.request('DELETE', `/apikey/${k.id}`, { key: k.key })
    await expect(w.core.usage.flush()).resolves.toBeNumber()
  })
})

describe('rate limits', () => {
  test('a key\'s own limit: 429 with Retry-After and RateLimit-* at the threshold, lifted after', async () => {
    const w = await seededWorld()
    const k = await w.aliceKey({ mode: 'read', rate_limit: { requests: 5, per_seconds: 10 } })
    for (let i = 0; i < 5; i++) {
      const ok = await w.request('GET', '/apikey/verify', { key: k.key })
      expect(ok.status).toBe(200)
      expect(ok.headers.get('ratelimit-remaining')).toBe(String(4 - i))
    }
    const limited = await w.request('GET', '/apikey/verify', { key: k.key })
    expect(limited.status).toBe(429)
    expect(limited.json).toMatchObject({ status: 'KO', code: 'rate_limited' })
    expect(limited.headers.get('retry-after')).toBe('2')
    expect(limited.headers.get('ratelimit-limit')).toBe('5')
    expect(limited.headers.get('ratelimit-remaining')).toBe('0')
    w.clock.advance(2000)
    expect((await w.request('GET', '/apikey/verify', { key: k.key })).status).toBe(200)
    // Other keys are not affected.
    expect((await w.request('GET', '/apikey/verify', { key: w.alice.key })).status).toBe(200)
  })

  test('the server default applies to keys without their own', async () => {
    const w = await seededWorld({ policy: { keyRateLimit: { requests: 3, per_seconds: 60 } } })
    for (let i = 0; i < 3; i++) expect((await w.request('GET', '/apikey/verify', { key: w.bob.key })).status).toBe(200)
    const limited = await w.request('GET', '/apikey/verify', { key: w.bob.key })
    expect(limited.status).toBe(429)
    expect(Number(limited.headers.get('retry-after'))).toBe(20)
  })

  test('with no limit configured, thousands of requests see no 429', async () => {
    const w = await seededWorld()
    for (let i = 0; i < 3000; i++) {
      const res = await w.request('GET', '/apikey/verify', { key: w.alice.key })
      if (res.status !== 200) throw new Error(`request ${i}: ${res.status}`)
      expect(res.headers.get('ratelimit-limit')).toBeNull()
    }
  })

  test('failed authentications from one address: 429 past the threshold, lifted after; a valid key still gets in', async () => {
    const w = await seededWorld()
    for (let i = 0; i < 100; i++) expect((await w.request('GET', '/apikey/', { key: 'bad' })).status).toBe(401)
    const throttled = await w.request('GET', '/apikey/', { key: 'bad' })
    expect(throttled.status).toBe(429)
    expect(throttled.json.code).toBe('rate_limited')
    const retry = Number(throttled.headers.get('retry-after'))
    expect(retry).toBeGreaterThan(0)
    // Someone else behind the same address, with a valid key, is not locked out.
    expect((await w.request('GET', '/apikey/', { key: w.alice.key })).status).toBe(200)
    w.clock.advance(retry * 1000)
    expect((await w.request('GET', '/apikey/', { key: 'bad' })).status).toBe(401)
  })

  test('the failed-auth threshold is configurable', async () => {
    const w = await seededWorld({ limits: { authFailureLimit: { requests: 3, per_seconds: 60 } } })
    for (let i = 0; i < 3; i++) expect((await w.request('GET', '/apikey/')).status).toBe(401)
    expect((await w.request('GET', '/apikey/')).status).toBe(429)
  })
})

describe('last use: flushing in steps', () => {
  const lastUsed = (w: Awaited<ReturnType<typeof seededWorld>>, ids: number[]) =>
    Promise.all(ids.map(async (id) => (await w.query('SELECT last_used_at FROM apikeys WHERE id = ?', id))[0]!.last_used_at !== null))

  test('flush(limit) writes at most that many keys per call, lowest id first, through a round', async () => {
    const w = await seededWorld()
    const keys = [await w.aliceKey({ mode: 'read' }), await w.aliceKey({ mode: 'read' }), await w.aliceKey({ mode: 'read' })]
    const ids = keys.map((k) => k.id)
    await w.core.usage.flush()
    // Used newest first: the order of first use is not the order of writing.
    for (const k of [...keys].reverse()) expect((await w.request('GET', '/apikey/verify', { key: k.key })).status).toBe(200)
    expect(w.core.usage.pendingCount).toBe(3)
    expect(w.core.usage.roundUnfinished).toBe(false)
    expect(await w.core.usage.flush(2)).toBe(2)
    expect(await lastUsed(w, ids)).toEqual([true, true, false])
    expect(w.core.usage.roundUnfinished).toBe(true)
    expect(w.core.usage.pendingCount).toBe(1)
    expect(await w.core.usage.flush(2)).toBe(1)
    expect(await lastUsed(w, ids)).toEqual([true, true, true])
    expect(w.core.usage.roundUnfinished).toBe(false)
    expect(await w.core.usage.flush(2)).toBe(0)
  })

  test('a use that comes in during a round waits for the next round; one already in it is written fresher', async () => {
    const w = await seededWorld()
    const keys = [await w.aliceKey({ mode: 'read' }), await w.aliceKey({ mode: 'read' }), await w.aliceKey({ mode: 'read' })]
    const ids = keys.map((k) => k.id)
    await w.core.usage.flush()
    for (const k of keys.slice(0, 2)) expect((await w.request('GET', '/apikey/verify', { key: k.key })).status).toBe(200)
    expect(await w.core.usage.flush(1)).toBe(1) // the round: keys 0 and 1; key 0 written
    w.clock.advance(5_000)
    for (const k of keys) expect((await w.request('GET', '/apikey/verify', { key: k.key })).status).toBe(200)
    expect(await w.core.usage.flush(1)).toBe(1) // key 1, with its newer use
    expect(w.core.usage.roundUnfinished).toBe(false)
    expect(await lastUsed(w, ids)).toEqual([true, true, false])
    const at = async (id: number) => (await w.query('SELECT last_used_at FROM apikeys WHERE id = ?', id))[0]!.last_used_at
    expect(await at(ids[1]!)).toBe(w.clock.now().toISOString())
    expect(w.core.usage.pendingCount).toBe(2) // key 0 again, and key 2
    expect(await w.core.usage.flush(1)).toBe(1)
    expect(await w.core.usage.flush(1)).toBe(1)
    expect(await lastUsed(w, ids)).toEqual([true, true, true])
    expect(await at(ids[0]!)).toBe(w.clock.now().toISOString())
  })

  test('two cached copies of one key (evicted and loaded again meanwhile): the latest use is the one written', async () => {
    const w = await seededWorld()
    const k = await w.aliceKey({ mode: 'read' })
    await w.core.usage.flush()
    const copy = () => ({ keyId: k.id, userId: w.alice.user.id, hash: hashKey(k.key) })
    const [newer, older] = [copy(), copy()]
    w.clock.advance(1000)
    w.core.usage.record(newer, () => '192.0.2.2')
    w.clock.advance(-500)
    w.core.usage.record(older, () => '192.0.2.1')
    expect(await w.core.usage.flush()).toBe(2)
    expect(await w.core.store.apikeys.findById(k.id)).toMatchObject({ last_used_at: '2026-01-01T00:00:01.000Z', last_used_ip: '192.0.2.2' })
  })

  test('a failed step ends the round and keeps its uses', async () => {
    const w = await seededWorld()
    const keys = [await w.aliceKey({ mode: 'read' }), await w.aliceKey({ mode: 'read' }), await w.aliceKey({ mode: 'read' })]
    await w.core.usage.flush()
    for (const k of keys) expect((await w.request('GET', '/apikey/verify', { key: k.key })).status).toBe(200)
    const failing = spyOn(w.store, 'write').mockImplementationOnce(() => Promise.reject(new Error('disk full')))
    await expect(w.core.usage.flush(2)).rejects.toThrow('disk full')
    expect(w.core.usage.roundUnfinished).toBe(false)
    expect(w.core.usage.pendingCount).toBe(3)
    failing.mockRestore()
    expect(await w.core.usage.flush()).toBe(3)
    expect(await lastUsed(w, keys.map((k) => k.id))).toEqual([true, true, true])
  })
})

describe('rotation', () => {
  test.each([['[]'], ['"x"'], ['1'], ['true']])('body %s → 400, and the old key lives on', async (body) => {
    const w = await seededWorld()
    const k = await w.aliceKey({ mode: 'read' })
    const before = (await w.snapshot())
    const res = await w.request('POST', `/apikey/${k.id}/rotate`, { key: w.alice.key, body })
    expect(res.status).toBe(400)
    expect((await w.snapshot())).toBe(before)
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

describe('last-use flush', () => {
  test('a failed write keeps the uses for the next flush', async () => {
    const w = await seededWorld()
    const tracker = new UsageTracker(w.core.store, w.clock)
    tracker.record({ keyId: w.alice.keyId, userId: w.alice.user.id, hash: hashKey(w.alice.key) }, () => '10.0.0.1')
    const failing = spyOn(w.store, 'write').mockImplementationOnce(() => Promise.reject(new Error('disk full')))
    await expect(tracker.flush()).rejects.toThrow('disk full')
    failing.mockRestore()
    expect(await tracker.flush()).toBe(1)
    expect((await w.core.store.apikeys.findById(w.alice.keyId))!.last_used_ip).toBe('10.0.0.1')
  })
})
