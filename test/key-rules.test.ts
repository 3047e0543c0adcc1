/**
 * The rule book of key writes (SPEC §6 attenuation): POST, PUT and rotate ask the access model
 * one question — may the caller leave a key like this? — and a key can only hand out what it has.
 * The caller here is bounded in every dimension at once: limited to one org and one of its apps,
 * expiring, rate limited. Each row changes one thing (orgs, apps, expiry, rate limit, mode,
 * enabled) on a target that is within the caller's bounds, or outside them in another dimension.
 */
import { describe, expect, test } from 'bun:test'
import { seededWorld } from './helpers/world'
import { scenarioTable, type ApiScenario } from './helpers/scenario'

const CALLER_EXPIRY = '2026-02-01T00:00:00.000Z'
const CALLER_RATE = { requests: 10, per_seconds: 60 }

async function bounded() {
  const w = await seededWorld()
  const scope = { limited_to_orgs: [w.orgs.aliceMain], limited_to_apps: [w.apps.aliceOne] }
  const caller = await w.aliceKey({ mode: 'all', ...scope, expires_at: CALLER_EXPIRY, rate_limit: CALLER_RATE })
  const target = (settings: Record<string, unknown>) => w.aliceKey({ mode: 'read', ...scope, expires_at: '2026-01-15T00:00:00Z', rate_limit: { requests: 5, per_seconds: 60 }, ...settings })
  const disabled = async (settings: Record<string, unknown>) => {
    const key = await target(settings)
    await w.request('PUT', `/apikey/${key.id}`, { key: w.alice.key, body: { enabled: false } })
    return key
  }
  return {
    ...w,
    caller: caller.key,
    /** Within every bound of the caller. */
    within: await target({}),
    /** Within its bounds, but never expires. */
    forever: await target({ expires_at: null }),
    /** Within its bounds, but has no rate limit. */
    unthrottled: await target({ rate_limit: null }),
    offWithin: await disabled({}),
    offForever: await disabled({ expires_at: null }),
    offUnthrottled: await disabled({ rate_limit: null }),
  }
}
type World = Awaited<ReturnType<typeof bounded>>
type Target = 'within' | 'forever' | 'unthrottled' | 'offWithin' | 'offForever' | 'offUnthrottled'

const outlives = { status: 400, code: 'invalid_expires_at', unchanged: true }
const forbidden = { status: 403, code: 'insufficient_permissions', unchanged: true }
const beyondReach = (code: string) => ({ status: 400, code, unchanged: true })

const post = (name: string, body: Record<string, unknown>, outcome: Partial<ApiScenario<World>>): ApiScenario<World> => ({
  name: `POST ${name}`, method: 'POST', path: '/apikey/', key: (w) => w.caller, body: { name: 'new', mode: 'read', ...body }, status: 201, ...outcome,
})
const put = (target: Target, name: string, body: Record<string, unknown>, outcome: Partial<ApiScenario<World>>): ApiScenario<World> => ({
  name: `PUT ${name} on a key ${target}`, method: 'PUT', path: (w) => `/apikey/${w[target].id}`, key: (w) => w.caller, body, status: 200, ...outcome,
})
const rotate = (target: Target, outcome: Partial<ApiScenario<World>>): ApiScenario<World> => ({
  name: `rotate a key ${target}`, method: 'POST', path: (w) => `/apikey/${w[target].id}/rotate`, key: (w) => w.caller, status: 201, ...outcome,
})

describe('a key hands out only what it has: {POST, PUT, rotate} × {orgs, apps, expiry, rate limit, mode, enabled}', () => {
  scenarioTable(bounded, [
    // orgs
    post('unlimited in orgs', { limited_to_orgs: [] }, forbidden),
    post('limited to an org beyond its own', { limited_to_orgs: [] , limited_to_apps: [] }, forbidden),
    post('naming an org outside its limits', { limited_to_orgs: ['org_unknown'] }, beyondReach('invalid_limited_to_orgs')),
    post('within its org (inherited)', {}, { check: (a) => expect(a.json.apikey.limited_to_orgs).toHaveLength(1) }),
    put('within', 'unlimited in orgs', { limited_to_orgs: [] }, forbidden),
    // apps
    post('unlimited in apps', { limited_to_apps: [] }, forbidden),
    post('naming an app outside its limits', { limited_to_apps: ['com.alice.two'] }, beyondReach('invalid_limited_to_apps')),
    put('within', 'unlimited in apps', { limited_to_apps: [] }, forbidden),
    put('within', 'to an app outside its limits', { limited_to_apps: ['com.alice.two'] }, beyondReach('invalid_limited_to_apps')),
    // expiry
    post('expiring after it', { expires_at: '2026-03-01T00:00:00Z' }, outlives),
    post('expiring never', { expires_at: null }, { check: (a) => expect(a.json.apikey.expires_at).toBe(CALLER_EXPIRY) }),
    post('expiring before it', { expires_at: '2026-01-20T00:00:00Z' }, {}),
    put('within', 'expiry after its own', { expires_at: '2026-03-01T00:00:00Z' }, outlives),
    put('within', 'expiry cleared', { expires_at: null }, outlives),
    put('within', 'expiry moved, within its own', { expires_at: '2026-01-20T00:00:00Z' }, {}),
    put('forever', 'expiry set within its own (takes away)', { expires_at: '2026-01-20T00:00:00Z' }, {}),
    rotate('forever', { check: (a) => expect(a.json.apikey.expires_at).toBe(CALLER_EXPIRY) }),
    // rate limit
    post('with a looser rate limit', { rate_limit: { requests: 100, per_seconds: 1 } }, forbidden),
    post('with no rate limit', { rate_limit: null }, forbidden),
    post('with its rate limit (inherited)', {}, { check: (a) => expect(a.json.apikey.rate_limit).toEqual(CALLER_RATE) }),
    put('within', 'a looser rate limit', { rate_limit: { requests: 100, per_seconds: 1 } }, forbidden),
    put('within', 'no rate limit', { rate_limit: null }, forbidden),
    put('within', 'a tighter rate limit', { rate_limit: { requests: 1, per_seconds: 60 } }, {}),
    put('unthrottled', 'a rate limit (takes away)', { rate_limit: { requests: 1, per_seconds: 60 } }, {}),
    rotate('unthrottled', forbidden),
    rotate('within', { check: (a) => expect(a.json.apikey.rate_limit).toEqual({ requests: 5, per_seconds: 60 }) }),
    // mode
    post('of mode all', { mode: 'all' }, {}),
    put('within', 'mode all', { mode: 'all' }, {}),
    put('forever', 'mode all', { mode: 'all' }, outlives),
    put('unthrottled', 'mode all', { mode: 'all' }, forbidden),
    // enabled
    put('offWithin', 'enabled', { enabled: true }, {}),
    put('offForever', 'enabled', { enabled: true }, outlives),
    put('offUnthrottled', 'enabled', { enabled: true }, forbidden),
    rotate('offWithin', { check: (a) => expect(a.json.apikey.enabled).toBe(false) }),
    // What only takes away needs no bound: a key may rename, disable or narrow any key within its reach.
    put('forever', 'a new name', { name: 'renamed' }, {}),
    put('unthrottled', 'a new name', { name: 'renamed' }, {}),
    put('forever', 'disabled', { enabled: false }, {}),
    put('forever', 'mode read (unchanged) and disabled', { mode: 'read', enabled: false }, {}),
  ])
})

describe('limits are judged when a write names them, not when it keeps them', () => {
  test('a key limited to a deleted app keeps its limits through a PUT and a rotation; a new key may not name the app', async () => {
    const w = await seededWorld()
    const k = await w.aliceKey({ mode: 'all', limited_to_apps: [w.apps.aliceOne, w.apps.aliceTwo] })
    await w.request('DELETE', `/app/${w.apps.aliceTwo}`, { key: w.alice.key })
    const inheriting = await w.request('POST', '/apikey/', { key: k.key, body: { name: 'n', mode: 'read' } })
    expect(inheriting.json.code).toBe('invalid_limited_to_apps')
    expect((await w.request('PUT', `/apikey/${k.id}`, { key: w.alice.key, body: { name: 'kept', limited_to_apps: [w.apps.aliceTwo] } })).status).toBe(200)
    const rotated = await w.request('POST', `/apikey/${k.id}/rotate`, { key: w.alice.key })
    expect(rotated.status).toBe(201)
    // Named anew, the deleted app is refused like any unknown one.
    const named = await w.request('POST', '/apikey/', { key: w.alice.key, body: { name: 'n', mode: 'read', limited_to_apps: [w.apps.aliceTwo] } })
    expect(named.json.code).toBe('invalid_limited_to_apps')
  })
})

describe('rate limits are attenuated like every other limit', () => {
  test('a rate-limited key cannot lift its own limit nor hand out a looser one', async () => {
    const w = await seededWorld()
    const limited = await w.aliceKey({ mode: 'all', rate_limit: { requests: 100, per_seconds: 60 } })
    const before = (await w.snapshot())
    const raise = await w.request('PUT', `/apikey/${limited.id}`, { key: limited.key, body: { rate_limit: { requests: 1_000_000, per_seconds: 1 } } })
    expect(raise.status).toBe(403)
    const unlimited = await w.request('PUT', `/apikey/${limited.id}`, { key: limited.key, body: { rate_limit: null } })
    expect(unlimited.status).toBe(403)
    const looser = await w.request('POST', '/apikey/', { key: limited.key, body: { name: 'n', mode: 'read', rate_limit: { requests: 100, per_seconds: 30 } } })
    expect(looser.status).toBe(403)
    expect((await w.snapshot())).toBe(before)
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
    const before = (await w.snapshot())
    for (const target of [unlimited, looser]) {
      const res = await w.request('POST', `/apikey/${target.id}/rotate`, { key: limited.key })
      expect(res.status).toBe(403)
      expect(res.json).toEqual({ error: 'Insufficient permissions to manage API keys', status: 'KO', code: 'insufficient_permissions' })
      expect(res.text).not.toMatch(/ak_[A-Za-z0-9]{36}/)
    }
    expect((await w.snapshot())).toBe(before)
    expect((await w.request('GET', '/apikey/verify', { key: unlimited.key })).status).toBe(200)
    // As tight as the caller, or tighter: rotated, keeping its limit.
    const same = await w.aliceKey({ mode: 'read', rate_limit: { requests: 5, per_seconds: 3600 } })
    const rotated = await w.request('POST', `/apikey/${same.id}/rotate`, { key: limited.key })
    expect(rotated.status).toBe(201)
    expect(rotated.json.apikey.rate_limit).toEqual({ requests: 5, per_seconds: 3600 })
  })

  test('under a server default, a key without its own limit cannot rotate a key with a looser one', async () => {
    const w = await seededWorld({ policy: { keyRateLimit: { requests: 20, per_seconds: 3600 } } })
    const loose = await w.aliceKey({ mode: 'read' })
    // A key from before the default, with a looser limit of its own.
    await w.writeBehind(`UPDATE apikeys SET rate_limit = '{"requests":1000,"per_seconds":1}' WHERE id = ?`, loose.id)
    const before = (await w.snapshot())
    expect((await w.request('POST', `/apikey/${loose.id}/rotate`, { key: w.alice.key })).status).toBe(403)
    expect((await w.snapshot())).toBe(before)
    const plain = await w.aliceKey({ mode: 'read' })
    expect((await w.request('POST', `/apikey/${plain.id}/rotate`, { key: w.alice.key })).status).toBe(201)
  })

  test('under a server default, a key without its own limit cannot hand out more than the default', async () => {
    const w = await seededWorld({ policy: { keyRateLimit: { requests: 3, per_seconds: 3600 } } })
    const res = await w.request('POST', '/apikey/', { key: w.alice.key, body: { name: 'n', mode: 'read', rate_limit: { requests: 1_000_000, per_seconds: 1 } } })
    expect(res.status).toBe(403)
  })
})
