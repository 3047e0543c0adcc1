/**
 * Key lifetime policies (SPEC §6a): the server's --max-key-lifetime-days and each org's
 * key_policy bound every key they govern, on every write path, and bring into line the keys
 * that existed when they came into force.
 */
import { describe, expect, test } from 'bun:test'
import { issueKey } from '../src/modules/apikey/service'
import { issueKeyFor } from '../src/modules/apikey/admin'
import { seededWorld } from './helpers/world'

const DAY = 24 * 60 * 60 * 1000

describe('the server policy (--max-key-lifetime-days)', () => {
  test('expiry becomes mandatory and bounded, and the error names the policy', async () => {
    const w = seededWorld({ policy: { maxKeyLifetimeDays: 30 } })
    // The operator's own key obeys the policy too.
    expect(w.core.store.apikeys.findById(w.alice.keyId)!.expires_at).toBe('2026-01-31T00:00:00.000Z')
    const inherited = await w.request('POST', '/apikey/', { key: w.alice.key, body: { name: 'n', mode: 'read' } })
    expect(inherited.json.apikey.expires_at).toBe('2026-01-31T00:00:00.000Z')
    const tooLate = await w.request('POST', '/apikey/', { key: w.alice.key, body: { name: 'n', mode: 'read', expires_at: '2026-02-15T00:00:00Z' } })
    expect(tooLate.status).toBe(400)
    expect(tooLate.json.code).toBe('invalid_expires_at')
    const ok = await w.request('POST', '/apikey/', { key: w.alice.key, body: { name: 'n', mode: 'read', expires_at: '2026-01-20T00:00:00Z' } })
    expect(ok.status).toBe(201)
    const cleared = await w.request('PUT', `/apikey/${ok.json.apikey.id}`, { key: w.alice.key, body: { expires_at: null } })
    expect(cleared.status).toBe(400)
    expect(cleared.json.error).toContain('server policy')
  })

  test('the CLI makes its keys within the policy', () => {
    const w = seededWorld({ policy: { maxKeyLifetimeDays: 7 } })
    expect(issueKeyFor(w.core, w.alice.user.id, { name: 'cli', mode: 'all' }).expires_at).toBe('2026-01-08T00:00:00.000Z')
  })

  test('keys from before it stop at max(created_at, policy start) + the maximum, and answers show that', async () => {
    const w = seededWorld({ policy: { maxKeyLifetimeDays: 30, maxKeyLifetimeSince: '2026-01-10T00:00:00.000Z' } })
    const forever = issueKey(w.core, w.alice.user.id, { name: 'old', mode: 'read', limited_to_apps: [], limited_to_orgs: [], expires_at: null })
    const sooner = issueKey(w.core, w.alice.user.id, { name: 'old', mode: 'read', limited_to_apps: [], limited_to_orgs: [], expires_at: '2026-01-20T00:00:00.000Z' })
    const shown = async (id: number) => (await w.request('GET', `/apikey/${id}`, { key: w.alice.key })).json.apikey.expires_at
    expect(await shown(forever.record.id)).toBe('2026-02-09T00:00:00.000Z')
    expect(await shown(sooner.record.id)).toBe('2026-01-20T00:00:00.000Z')
    expect((await w.request('GET', '/apikey/verify', { key: forever.key })).status).toBe(200)
    w.clock.advance(39 * DAY)
    const late = await w.request('GET', '/apikey/verify', { key: forever.key })
    expect(late.status).toBe(401)
    expect(late.json.code).toBe('api_key_expired')
  })
})

describe('org key policies (PUT /organization/:id/ key_policy)', () => {
  const policy = { max_key_lifetime_days: 10, require_expiry: true }

  test('set with an `all` key and the `all` role; shown by GET; audited; null lifts it', async () => {
    const w = seededWorld()
    const org = `/organization/${w.orgs.aliceMain}`
    const write = await w.aliceKey({ mode: 'write' })
    const before = w.snapshot()
    const refused = await w.request('PUT', org, { key: write.key, body: { key_policy: policy } })
    expect(refused.status).toBe(403)
    expect(w.snapshot()).toBe(before)
    const set = await w.request('PUT', org, { key: w.alice.key, body: { key_policy: policy } })
    expect(set.status).toBe(200)
    expect(set.json.organization.key_policy).toEqual(policy)
    expect((await w.request('GET', org, { key: w.alice.key })).json.organization.key_policy).toEqual(policy)
    const listed = (await w.request('GET', '/organization/', { key: w.alice.key })).json.data
    expect(listed.find((o: { id: string }) => o.id === w.orgs.aliceMain).key_policy).toEqual(policy)
    expect(listed.find((o: { id: string }) => o.id === w.orgs.aliceSide).key_policy).toBeNull()
    const audit = (await w.request('GET', '/audit/', { key: w.alice.key })).json.data[0]
    expect(audit).toMatchObject({ action: 'organization.update', target_id: w.orgs.aliceMain, details: { key_policy: policy, previous_key_policy: null } })
    // A renaming key (write) still renames.
    expect((await w.request('PUT', org, { key: write.key, body: { name: 'Renamed' } })).status).toBe(200)
    const lifted = await w.request('PUT', org, { key: w.alice.key, body: { key_policy: null } })
    expect(lifted.json.organization.key_policy).toBeNull()
  })

  test.each([
    [{ max_key_lifetime_days: 0, require_expiry: true }],
    [{ max_key_lifetime_days: 36_501, require_expiry: true }],
    [{ max_key_lifetime_days: 1.5, require_expiry: true }],
    [{ max_key_lifetime_days: 30 }],
    [{ max_key_lifetime_days: 30, require_expiry: true, extra: 1 }],
    [{}],
  ])('key_policy %j → 400, nothing changes', async (bad) => {
    const w = seededWorld()
    const before = w.snapshot()
    const res = await w.request('PUT', `/organization/${w.orgs.aliceMain}`, { key: w.alice.key, body: { key_policy: bad } })
    expect(res.status).toBe(400)
    expect(w.snapshot()).toBe(before)
  })

  test('every write path refuses a key that would outlive the policy, naming it; keys beyond the org are not governed', async () => {
    const w = seededWorld()
    await w.request('PUT', `/organization/${w.orgs.aliceMain}`, { key: w.alice.key, body: { key_policy: policy } })
    const named = `key policy of organization ${w.orgs.aliceMain}`
    const create = (body: Record<string, unknown>) => w.request('POST', '/apikey/', { key: w.alice.key, body: { name: 'n', mode: 'read', ...body } })
    for (const scope of [{ limited_to_orgs: [w.orgs.aliceMain] }, { limited_to_apps: [w.apps.aliceOne] }]) {
      for (const expires_at of [undefined, '2026-01-12T00:00:00Z']) {
        const res = await create({ ...scope, expires_at })
        expect(res.status).toBe(400)
        expect(res.json.code).toBe('invalid_expires_at')
        expect(res.json.error).toContain(named)
      }
      expect((await create({ ...scope, expires_at: '2026-01-10T00:00:00Z' })).status).toBe(201)
    }
    // Keys limited elsewhere, or not at all, are not governed by this org's policy.
    expect((await create({ limited_to_orgs: [w.orgs.aliceSide] })).status).toBe(201)
    expect((await create({})).status).toBe(201)
    // Re-scoping a key into the org is a write under the policy too.
    const free = await w.aliceKey({ mode: 'read', limited_to_orgs: [w.orgs.aliceSide] })
    const before = w.snapshot()
    const rescoped = await w.request('PUT', `/apikey/${free.id}`, { key: w.alice.key, body: { limited_to_orgs: [w.orgs.aliceMain] } })
    expect(rescoped.status).toBe(400)
    expect(rescoped.json.error).toContain(named)
    expect(w.snapshot()).toBe(before)
    const within = await w.request('PUT', `/apikey/${free.id}`, { key: w.alice.key, body: { limited_to_orgs: [w.orgs.aliceMain], expires_at: '2026-01-05T00:00:00Z' } })
    expect(within.status).toBe(200)
  })

  test('keys that exist when it comes into force are brought into line, through their apps too; lifting it restores them', async () => {
    const w = seededWorld()
    const byOrg = await w.aliceKey({ mode: 'read', limited_to_orgs: [w.orgs.aliceMain] })
    const byApp = await w.aliceKey({ mode: 'read', limited_to_apps: [w.apps.aliceOne] })
    const elsewhere = await w.aliceKey({ mode: 'read', limited_to_orgs: [w.orgs.aliceSide] })
    w.clock.advance(4 * DAY)
    await w.request('PUT', `/organization/${w.orgs.aliceMain}`, { key: w.alice.key, body: { key_policy: policy } })
    const expiryOf = async (id: number) => (await w.request('GET', `/apikey/${id}`, { key: w.alice.key })).json.apikey.expires_at
    // The policy came into force on Jan 5: the keys made on Jan 1 stop on Jan 15.
    expect(await expiryOf(byOrg.id)).toBe('2026-01-15T00:00:00.000Z')
    expect(await expiryOf(byApp.id)).toBe('2026-01-15T00:00:00.000Z')
    expect(await expiryOf(elsewhere.id)).toBeNull()
    // A rename is no write of expiry nor of scope: allowed.
    expect((await w.request('PUT', `/apikey/${byOrg.id}`, { key: w.alice.key, body: { name: 'still here' } })).status).toBe(200)
    w.clock.advance(10 * DAY)
    for (const key of [byOrg.key, byApp.key]) expect((await w.request('GET', '/apikey/verify', { key })).json.code).toBe('api_key_expired')
    expect((await w.request('GET', '/apikey/verify', { key: elsewhere.key })).status).toBe(200)
    await w.request('PUT', `/organization/${w.orgs.aliceMain}`, { key: w.alice.key, body: { key_policy: null } })
    expect((await w.request('GET', '/apikey/verify', { key: byOrg.key })).status).toBe(200)
  })

  test('a rotation under require_expiry needs the old key to expire; under a maximum its successor inherits the bound', async () => {
    const w = seededWorld()
    const forever = await w.aliceKey({ mode: 'read', limited_to_orgs: [w.orgs.aliceMain] })
    await w.request('PUT', `/organization/${w.orgs.aliceMain}`, { key: w.alice.key, body: { key_policy: { max_key_lifetime_days: null, require_expiry: true } } })
    const before = w.snapshot()
    const refused = await w.request('POST', `/apikey/${forever.id}/rotate`, { key: w.alice.key })
    expect(refused.status).toBe(400)
    expect(refused.json.error).toContain('required by the key policy of organization')
    expect(w.snapshot()).toBe(before)
    await w.request('PUT', `/organization/${w.orgs.aliceMain}`, { key: w.alice.key, body: { key_policy: policy } })
    const rotated = await w.request('POST', `/apikey/${forever.id}/rotate`, { key: w.alice.key })
    expect(rotated.status).toBe(201)
    expect(rotated.json.apikey.expires_at).toBe('2026-01-11T00:00:00.000Z')
  })
})
