/**
 * Per-key usage (SPEC §7, issue #21): authentications per key per hour by outcome, written in
 * batches, pruned past the retention window, and read through GET /apikey/:id/usage and
 * GET /apikey/usage within the caller's reach.
 */
import { describe, expect, spyOn, test } from 'bun:test'
import { seededWorld } from './helpers/world'

const HOUR = 60 * 60 * 1000
const DAY = 24 * HOUR

type World = Awaited<ReturnType<typeof seededWorld>>
type Bucket = { hour: string; allowed: number; forbidden: number; rate_limited: number; rejected: number }

/** The buckets of the answer that have any count. */
const busy = (data: Bucket[]) => data.filter((b) => b.allowed + b.forbidden + b.rate_limited + b.rejected > 0)

async function usageOf(w: World, id: number, query = '', key = w.alice.key): Promise<Bucket[]> {
  const res = await w.request('GET', `/apikey/${id}/usage${query}`, { key })
  if (res.status !== 200) throw new Error(`usage of ${id}: ${res.status} ${res.text}`)
  return res.json.data
}

/** The sums of one key's counts over the default range (the last 7 days). */
async function totalsOf(w: World, id: number) {
  const sum = { allowed: 0, forbidden: 0, rate_limited: 0, rejected: 0 }
  for (const b of await usageOf(w, id)) for (const k of Object.keys(sum) as (keyof typeof sum)[]) sum[k] += b[k]
  return sum
}

describe('usage counts per outcome', () => {
  // [what the key does, its settings, the requests it makes, the counts that come of them]
  test.each([
    ['gets in (200)', { mode: 'read' }, [['GET', '/apikey/verify']], { allowed: 1 }],
    ['gets in, then finds nothing (404 is still allowed)', { mode: 'all' }, [['GET', '/apikey/999999']], { allowed: 1 }],
    ['gets in, then sends a bad query (400 is still allowed)', { mode: 'all' }, [['GET', '/apikey/usage?from=yesterday']], { allowed: 1 }],
    ['is refused by the route (403)', { mode: 'read' }, [['GET', '/apikey/']], { forbidden: 1 }],
    ['is refused by verify (403)', { mode: 'read' }, [['GET', '/apikey/verify?mode=all']], { forbidden: 1 }],
    ['is refused by a service (403: a limited key creating an org)', { mode: 'all', limited_to_apps: ['com.alice.one'] }, [['POST', '/organization/', { name: 'x' }]], { forbidden: 1 }],
    ['goes over its rate limit (429)', { mode: 'read', rate_limit: { requests: 2, per_seconds: 3600 } }, [['GET', '/apikey/verify'], ['GET', '/apikey/verify'], ['GET', '/apikey/verify']], { allowed: 2, rate_limited: 1 }],
    ['mixes outcomes', { mode: 'read' }, [['GET', '/apikey/verify'], ['GET', '/apikey/'], ['GET', '/apikey/verify']], { allowed: 2, forbidden: 1 }],
  ] as const)('a key that %s', async (_, settings, requests, expected) => {
    const w = await seededWorld()
    const k = await w.aliceKey(settings)
    for (const [method, path, body] of requests as readonly (readonly [string, string, unknown?])[]) await w.request(method, path, { key: k.key, body })
    expect(await totalsOf(w, k.id)).toEqual({ allowed: 0, forbidden: 0, rate_limited: 0, rejected: 0, ...expected })
  })

  test('a disabled key and an expired key: rejected (401), for the key that was refused', async () => {
    const w = await seededWorld()
    const disabled = await w.aliceKey({ mode: 'read' })
    const expiring = await w.aliceKey({ mode: 'read', expires_at: new Date(w.clock.nowMs() + HOUR).toISOString() })
    await w.request('PUT', `/apikey/${disabled.id}`, { key: w.alice.key, body: { enabled: false } })
    expect((await w.request('GET', '/apikey/verify', { key: disabled.key })).json.code).toBe('api_key_disabled')
    w.clock.advance(HOUR)
    expect((await w.request('GET', '/apikey/verify', { key: expiring.key })).json.code).toBe('api_key_expired')
    expect(await totalsOf(w, disabled.id)).toEqual({ allowed: 0, forbidden: 0, rate_limited: 0, rejected: 1 })
    expect(await totalsOf(w, expiring.id)).toEqual({ allowed: 0, forbidden: 0, rate_limited: 0, rejected: 1 })
  })

  test('a refused known key counts as rejected even once its address is throttled (429)', async () => {
    const w = await seededWorld({ limits: { authFailureLimit: { requests: 1, per_seconds: 3600 } } })
    const k = await w.aliceKey({ mode: 'read' })
    await w.request('PUT', `/apikey/${k.id}`, { key: w.alice.key, body: { enabled: false } })
    expect((await w.request('GET', '/apikey/verify', { key: k.key })).status).toBe(401)
    expect((await w.request('GET', '/apikey/verify', { key: k.key })).status).toBe(429)
    expect((await totalsOf(w, k.id)).rejected).toBe(2)
  })

  test('missing, malformed and unknown keys are counted for no key', async () => {
    const w = await seededWorld()
    for (const key of [null, 'nope', `ak_${'A'.repeat(36)}`]) expect((await w.request('GET', '/apikey/verify', { key })).status).toBe(401)
    await w.core.usage.counts.flush()
    expect(await w.query('SELECT CAST(count(*) AS integer) AS n FROM key_usage_hourly')).toEqual([{ n: 0 }])
  })

  test('counting writes nothing; a flush writes one row per key and hour, and answers add what is not written yet', async () => {
    const w = await seededWorld()
    const k = await w.aliceKey({ mode: 'read' })
    for (let i = 0; i < 50; i++) await w.request('GET', '/apikey/verify', { key: k.key })
    const rows = () => w.query('SELECT CAST(key_id AS integer) AS key_id, CAST(allowed AS integer) AS allowed FROM key_usage_hourly WHERE key_id = ?', k.id)
    expect(await rows()).toEqual([])
    expect((await totalsOf(w, k.id)).allowed).toBe(50)
    await w.core.usage.counts.flush()
    expect(await rows()).toEqual([{ key_id: k.id, allowed: 50 }])
    await w.request('GET', '/apikey/verify', { key: k.key })
    expect((await totalsOf(w, k.id)).allowed).toBe(51)
    await w.core.usage.counts.flush()
    expect(await rows()).toEqual([{ key_id: k.id, allowed: 51 }])
  })

  test('a flush in steps writes a round of rows a step at a time; counts in between wait for the next round', async () => {
    const w = await seededWorld()
    const keys = [await w.aliceKey({ mode: 'read' }), await w.aliceKey({ mode: 'read' }), await w.aliceKey({ mode: 'read' })]
    for (const k of keys) await w.request('GET', '/apikey/verify', { key: k.key })
    const { counts } = w.core.usage
    // Alice's admin key made the three keys: four rows in all.
    expect(await counts.flush(3)).toBe(3)
    expect(counts.roundUnfinished).toBe(true)
    await w.request('GET', '/apikey/verify', { key: keys[0]!.key })
    // Mid-round, the answer still sums the table, the round's rest and the new counts.
    expect((await totalsOf(w, keys[0]!.id)).allowed).toBe(2)
    expect(await counts.flush(3)).toBe(1)
    expect(counts.roundUnfinished).toBe(false)
    expect(await counts.flush(3)).toBeGreaterThan(0) // the next round: the counts made meanwhile
    expect(counts.pendingRows).toBe(0)
    expect((await totalsOf(w, keys[0]!.id)).allowed).toBe(2)
  })
})

describe('hourly buckets', () => {
  test('requests either side of an hour boundary land in their own hours', async () => {
    const w = await seededWorld()
    const k = await w.aliceKey({ mode: 'read' })
    w.clock.advance(HOUR - 1) // 00:59:59.999
    await w.request('GET', '/apikey/verify', { key: k.key })
    w.clock.advance(1) // 01:00:00.000
    await w.request('GET', '/apikey/verify', { key: k.key })
    await w.request('GET', '/apikey/verify', { key: k.key })
    await w.core.usage.counts.flush()
    w.clock.advance(2 * HOUR) // 03:00
    await w.request('GET', '/apikey/verify', { key: k.key })
    expect(busy(await usageOf(w, k.id))).toEqual([
      { hour: '2026-01-01T00:00:00.000Z', allowed: 1, forbidden: 0, rate_limited: 0, rejected: 0 },
      { hour: '2026-01-01T01:00:00.000Z', allowed: 2, forbidden: 0, rate_limited: 0, rejected: 0 },
      { hour: '2026-01-01T03:00:00.000Z', allowed: 1, forbidden: 0, rate_limited: 0, rejected: 0 },
    ])
  })

  test('by default the last 7 days, one bucket per hour, zeros included, the current hour last', async () => {
    const w = await seededWorld()
    w.clock.advance(30 * DAY + 90 * 60 * 1000) // 2026-01-31T01:30
    const data = await usageOf(w, w.alice.keyId)
    expect(data).toHaveLength(7 * 24)
    expect(data.at(-1)!.hour).toBe('2026-01-31T01:00:00.000Z')
    expect(data[0]!.hour).toBe('2026-01-24T02:00:00.000Z')
    data.forEach((b, i) => expect(Date.parse(b.hour)).toBe(Date.parse(data[0]!.hour) + i * HOUR))
    expect(busy(data)).toEqual([])
  })

  test.each([
    // [query, first hour, number of buckets]
    ['?from=2026-01-01T00:00:00Z&to=2026-01-02T00:00:00Z', '2026-01-01T00:00:00.000Z', 24],
    ['?from=2026-01-01T00:30:00Z&to=2026-01-01T02:30:00Z', '2026-01-01T00:00:00.000Z', 3],
    ['?from=2026-01-01T05:00:00%2B02:00&to=2026-01-01T04:00:00Z', '2026-01-01T03:00:00.000Z', 1],
    ['?from=2026-01-01T00:00:00Z&to=2026-01-01T00:00:00Z', undefined, 0],
    ['?from=2025-10-03T00:00:00Z&to=2026-01-01T00:00:00Z', '2025-10-03T00:00:00.000Z', 90 * 24],
    ['?to=2026-01-01T00:00:00Z', '2025-12-25T00:00:00.000Z', 7 * 24],
    ['?from=2025-12-31T00:00:00Z', '2025-12-31T00:00:00.000Z', 25],
  ])('%s → from %s, %i buckets', async (query, first, count) => {
    const w = await seededWorld()
    const data = await usageOf(w, w.alice.keyId, query)
    expect(data).toHaveLength(count)
    expect(data[0]?.hour).toBe(first as string)
  })
})

describe('bad ranges: 400 in the error envelope, for both routes', () => {
  test.each([
    ['?from=yesterday', "Invalid query field 'from'"],
    ['?to=2026-13-01T00:00:00Z', "Invalid query field 'to'"],
    ['?from=2026-02-30T00:00:00Z', "Invalid query field 'from'"],
    ['?from=2026-01-01', "Invalid query field 'from'"],
    ['?from=2026-01-02T00:00:00Z&to=2026-01-01T00:00:00Z', "'from' is after 'to'"],
    ['?from=2025-10-02T23:00:00Z&to=2026-01-01T00:00:00Z', 'more than 90 days'],
    ['?from=2024-01-01T00:00:00Z', 'more than 90 days'],
  ])('%s', async (query, message) => {
    const w = await seededWorld()
    for (const path of [`/apikey/${w.alice.keyId}/usage${query}`, `/apikey/usage${query}`]) {
      const res = await w.request('GET', path, { key: w.alice.key })
      expect(res.status).toBe(400)
      expect(res.json).toEqual({ error: expect.stringContaining(message), status: 'KO', code: 'validation_error' })
    }
  })

  test('a bad key id is invalid_id; /apikey/usage is not taken for a key id', async () => {
    const w = await seededWorld()
    expect((await w.request('GET', '/apikey/abc/usage', { key: w.alice.key })).json.code).toBe('invalid_id')
    for (const path of ['/apikey/usage', '/apikey/usage/']) expect((await w.request('GET', path, { key: w.alice.key })).status).toBe(200)
  })
})

describe('reach: the same rules as GET /apikey/:id/', () => {
  test('a key beyond the caller\'s reach, or another user\'s, is 404; a key below `all` gets 403', async () => {
    const w = await seededWorld()
    const one = await w.aliceKey({ mode: 'read', limited_to_apps: [w.apps.aliceOne] })
    const two = await w.aliceKey({ mode: 'read', limited_to_apps: [w.apps.aliceTwo] })
    const limited = await w.aliceKey({ mode: 'all', limited_to_apps: [w.apps.aliceOne] })
    const reader = await w.aliceKey({ mode: 'read' })
    const status = async (path: string, key: string) => (await w.request('GET', path, { key })).status
    expect(await status(`/apikey/${one.id}/usage`, limited.key)).toBe(200)
    expect(await status(`/apikey/${two.id}/usage`, limited.key)).toBe(404)
    expect(await status(`/apikey/${w.alice.keyId}/usage`, limited.key)).toBe(404)
    expect(await status(`/apikey/${w.bob.keyId}/usage`, w.alice.key)).toBe(404)
    expect(await status('/apikey/999999/usage', w.alice.key)).toBe(404)
    expect(await status(`/apikey/${one.id}/usage`, reader.key)).toBe(403)
    expect(await status('/apikey/usage', reader.key)).toBe(403)
    // The answers to a key beyond reach and to no key at all are the same.
    const hidden = await w.request('GET', `/apikey/${two.id}/usage`, { key: limited.key })
    const none = await w.request('GET', '/apikey/999999/usage', { key: limited.key })
    expect(hidden.json).toEqual(none.json)
  })

  test('the total sums the keys within reach, and only those', async () => {
    const w = await seededWorld()
    const one = await w.aliceKey({ mode: 'read', limited_to_apps: [w.apps.aliceOne] })
    const two = await w.aliceKey({ mode: 'read', limited_to_apps: [w.apps.aliceTwo] })
    const limited = await w.aliceKey({ mode: 'all', limited_to_apps: [w.apps.aliceOne] })
    for (let i = 0; i < 3; i++) await w.request('GET', '/apikey/verify', { key: one.key })
    for (let i = 0; i < 5; i++) await w.request('GET', '/apikey/verify', { key: two.key })
    for (let i = 0; i < 7; i++) await w.request('GET', '/apikey/verify', { key: w.bob.key })
    await w.core.usage.counts.flush()
    await w.request('GET', '/apikey/verify', { key: one.key }) // not written yet: still counted
    const total = async (key: string) => busy((await w.request('GET', '/apikey/usage', { key })).json.data).reduce((n, b) => n + b.allowed, 0)
    // The limited key reaches `one` and itself (it has made no request yet; this one counts once answered).
    expect(await total(limited.key)).toBe(4)
    expect(await total(limited.key)).toBe(5)
    // Alice's unlimited key reaches all her keys (her own requests: 3 keys created, 1 total asked for), never Bob's.
    expect(await total(w.alice.key)).toBe(4 + 5 + 2 + 3)
  })
})

describe('deleted keys and retention', () => {
  test('a deleted key\'s counts go with it: written ones at once, pending ones at the flush', async () => {
    const w = await seededWorld()
    const written = await w.aliceKey({ mode: 'read' })
    const pending = await w.aliceKey({ mode: 'read' })
    await w.request('GET', '/apikey/verify', { key: written.key })
    await w.core.usage.counts.flush()
    await w.request('GET', '/apikey/verify', { key: pending.key })
    for (const k of [written, pending]) expect((await w.request('DELETE', `/apikey/${k.id}`, { key: w.alice.key })).status).toBe(200)
    expect(await w.core.usage.counts.flush()).toBeGreaterThan(0)
    expect(await w.query('SELECT CAST(count(*) AS integer) AS n FROM key_usage_hourly WHERE key_id IN (?, ?)', written.id, pending.id)).toEqual([{ n: 0 }])
    expect((await w.request('GET', `/apikey/${written.id}/usage`, { key: w.alice.key })).status).toBe(404)
  })

  test('pruning deletes buckets past the retention window, in slices, oldest first', async () => {
    const w = await seededWorld()
    const k = await w.aliceKey({ mode: 'read' })
    // One request an hour for 5 hours, then 10 days later one more.
    for (let i = 0; i < 5; i++) {
      await w.request('GET', '/apikey/verify', { key: k.key })
      w.clock.advance(HOUR)
    }
    w.clock.advance(10 * DAY)
    await w.request('GET', '/apikey/verify', { key: k.key })
    const { counts } = w.core.usage
    await counts.flush()
    const rows = async () =>
      ((await w.query('SELECT CAST(key_id AS integer) AS key_id, CAST(hour AS integer) AS hour FROM key_usage_hourly ORDER BY hour, key_id')) as { key_id: number; hour: number }[]).map(
        (r) => `${r.key_id === k.id ? 'k' : 'admin'} ${new Date(r.hour * 1000).toISOString()}`,
      )
    // The admin key's hour (it created k) and k's six.
    expect(await rows()).toHaveLength(7)
    // Now 2026-01-11T05:00; a 10-day window starts at 2026-01-01T05:00: six rows are past it.
    expect(await counts.prune(10, 2)).toBe(2)
    expect((await rows())[0]).toBe('k 2026-01-01T01:00:00.000Z')
    expect(await counts.prune(10, 2)).toBe(2)
    expect(await counts.prune(10, 2)).toBe(2)
    expect(await counts.prune(10, 2)).toBe(0)
    expect(await rows()).toEqual(['k 2026-01-11T05:00:00.000Z'])
    // As the window moves on, what falls out of it goes too (an hour exactly 10 days old is still in).
    w.clock.advance(10 * DAY)
    expect(await counts.prune(10, 2)).toBe(0)
    w.clock.advance(HOUR)
    expect(await counts.prune(10, 2)).toBe(1)
    expect(await rows()).toEqual([])
    expect(busy(await usageOf(w, k.id, '?from=2026-01-01T00:00:00Z&to=2026-01-12T00:00:00Z'))).toEqual([])
  })

  test('a failed write keeps the counts for the next flush', async () => {
    const w = await seededWorld()
    const k = await w.aliceKey({ mode: 'read' })
    await w.request('GET', '/apikey/verify', { key: k.key })
    const failing = spyOn(w.store, 'write').mockImplementationOnce(() => Promise.reject(new Error('disk full')))
    await expect(w.core.usage.counts.flush()).rejects.toThrow('disk full')
    expect((await totalsOf(w, k.id)).allowed).toBe(1)
    failing.mockRestore()
    await w.core.usage.counts.flush()
    expect(await w.query('SELECT CAST(allowed AS integer) AS allowed FROM key_usage_hourly WHERE key_id = ?', k.id)).toEqual([{ allowed: 1 }])
  })
})

describe('OpenAPI', () => {
  test('both usage routes are documented, with their buckets and errors', async () => {
    const w = await seededWorld()
    const doc = (await w.request('GET', '/swagger/json')).json
    for (const path of ['/apikey/usage', '/apikey/{id}/usage']) {
      const op = doc.paths[path].get
      expect(op.tags).toEqual(['API keys'])
      expect(op.summary).toBeString()
      expect(op.description).toContain('90')
      expect(Object.keys(op.responses)).toEqual(expect.arrayContaining(['200', '400', '401', '403', '429']))
      const bucket = op.responses['200'].content['application/json'].schema.properties.data.items
      expect(Object.keys(bucket.properties)).toEqual(['hour', 'allowed', 'forbidden', 'rate_limited', 'rejected'])
      expect(op.parameters.map((p: { name: string }) => p.name)).toEqual(expect.arrayContaining(['from', 'to']))
    }
    expect(Object.keys(doc.paths['/apikey/{id}/usage'].get.responses)).toContain('404')
  })
})
