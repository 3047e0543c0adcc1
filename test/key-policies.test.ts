/**
 * Key lifetime policies (SPEC §6a): the server's --max-key-lifetime-days and each org's
 * key_policy bound every key they govern, on every write path, and bring into line the keys
 * that existed when they came into force.
 */
import { describe, expect, test } from 'bun:test'
import { issueKey } from '../src/modules/apikey/service'
import { issueKeyFor } from '../src/modules/apikey/admin'
import { recordServerPolicy } from '../src/modules/apikey/policies'
import { seededWorld, written } from './helpers/world'

const DAY = 24 * 60 * 60 * 1000

describe('the server policy (--max-key-lifetime-days)', () => {
  test('expiry becomes mandatory and bounded, and the error names the policy', async () => {
    const w = await seededWorld({ policy: { maxKeyLifetimeDays: 30 } })
    // The operator's own key obeys the policy too.
    expect((await w.core.store.apikeys.findById(w.alice.keyId))!.expires_at).toBe('2026-01-31T00:00:00.000Z')
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

  test('the CLI makes its keys within the policy', async () => {
    const w = await seededWorld({ policy: { maxKeyLifetimeDays: 7 } })
    expect((await issueKeyFor(w.core, w.alice.user.id, { name: 'cli', mode: 'all' })).expires_at).toBe('2026-01-08T00:00:00.000Z')
  })

  test('a CLI given another maximum than serve recorded keeps both: the stricter wins', async () => {
    for (const [recorded, own, days] of [[30, 365, 30], [30, 7, 7]] as const) {
      const w = await seededWorld({ policy: { maxKeyLifetimeDays: own } })
      await written(w.core, (tx) => recordServerPolicy(tx.keyPolicies, recorded, w.clock.now().toISOString()))
      const made = await issueKeyFor(w.core, w.alice.user.id, { name: 'cli', mode: 'all' })
      expect(Date.parse(made.expires_at!) - w.clock.nowMs()).toBe(days * DAY)
    }
  })

  test('keys from before it stop at max(created_at, policy start) + the maximum, and answers show that', async () => {
    const w = await seededWorld()
    await written(w.core, (tx) => recordServerPolicy(tx.keyPolicies, 30, '2026-01-10T00:00:00.000Z'))
    const forever = await written(w.core, (tx) => issueKey(w.core, tx, w.alice.user.id, { name: 'old', mode: 'read', limited_to_apps: [], limited_to_orgs: [], expires_at: null }))
    const sooner = await written(w.core, (tx) => issueKey(w.core, tx, w.alice.user.id, { name: 'old', mode: 'read', limited_to_apps: [], limited_to_orgs: [], expires_at: '2026-01-20T00:00:00.000Z' }))
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
    const w = await seededWorld()
    const org = `/organization/${w.orgs.aliceMain}`
    const write = await w.aliceKey({ mode: 'write' })
    const before = (await w.snapshot())
    const refused = await w.request('PUT', org, { key: write.key, body: { key_policy: policy } })
    expect(refused.status).toBe(403)
    expect((await w.snapshot())).toBe(before)
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
    const w = await seededWorld()
    const before = (await w.snapshot())
    const res = await w.request('PUT', `/organization/${w.orgs.aliceMain}`, { key: w.alice.key, body: { key_policy: bad } })
    expect(res.status).toBe(400)
    expect((await w.snapshot())).toBe(before)
  })

  test('every write path refuses a key that would outlive the policy, naming it; keys beyond the org are not governed', async () => {
    const w = await seededWorld()
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
    // Keys limited elsewhere, or not at all, are not governed by this org's policy (SPEC §6a).
    expect((await create({ limited_to_orgs: [w.orgs.aliceSide] })).status).toBe(201)
    expect((await create({})).status).toBe(201)
    // Re-scoping a key into the org is a write under the policy too.
    const free = await w.aliceKey({ mode: 'read', limited_to_orgs: [w.orgs.aliceSide] })
    const before = (await w.snapshot())
    const rescoped = await w.request('PUT', `/apikey/${free.id}`, { key: w.alice.key, body: { limited_to_orgs: [w.orgs.aliceMain] } })
    expect(rescoped.status).toBe(400)
    expect(rescoped.json.error).toContain(named)
    expect((await w.snapshot())).toBe(before)
    const within = await w.request('PUT', `/apikey/${free.id}`, { key: w.alice.key, body: { limited_to_orgs: [w.orgs.aliceMain], expires_at: '2026-01-05T00:00:00Z' } })
    expect(within.status).toBe(200)
  })

  test('keys that exist when it comes into force are brought into line, through their apps too; lifting it restores them', async () => {
    const w = await seededWorld()
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
  })

  test('no later policy extends or revives a key: tightened, loosened or lifted, the bounds it set stay', async () => {
    const w = await seededWorld()
    const key = await w.aliceKey({ mode: 'read', limited_to_orgs: [w.orgs.aliceMain] })
    const org = `/organization/${w.orgs.aliceMain}`
    const expiry = async () => (await w.request('GET', `/apikey/${key.id}`, { key: w.alice.key })).json.apikey.expires_at
    await w.request('PUT', org, { key: w.alice.key, body: { key_policy: { max_key_lifetime_days: 30, require_expiry: true } } })
    expect(await expiry()).toBe('2026-01-31T00:00:00.000Z')
    w.clock.advance(29 * DAY)
    await w.request('PUT', org, { key: w.alice.key, body: { key_policy: { max_key_lifetime_days: 7, require_expiry: true } } })
    expect(await expiry()).toBe('2026-01-31T00:00:00.000Z')
    w.clock.advance(2 * DAY)
    expect((await w.request('GET', '/apikey/verify', { key: key.key })).json.code).toBe('api_key_expired')
    for (const key_policy of [{ max_key_lifetime_days: null, require_expiry: true }, { max_key_lifetime_days: 36_500, require_expiry: false }, null]) {
      await w.request('PUT', org, { key: w.alice.key, body: { key_policy } })
      expect((await w.request('GET', '/apikey/verify', { key: key.key })).json.code).toBe('api_key_expired')
    }
    // A key made after the policy was lifted is not governed by it.
    expect((await w.request('POST', '/apikey/', { key: w.alice.key, body: { name: 'n', mode: 'read', limited_to_orgs: [w.orgs.aliceMain] } })).json.apikey.expires_at).toBeNull()
  })

  test('nor does a new server maximum, nor serving without one', async () => {
    const w = await seededWorld()
    const key = await written(w.core, (tx) => issueKey(w.core, tx, w.alice.user.id, { name: 'old', mode: 'read', limited_to_apps: [], limited_to_orgs: [], expires_at: null }))
    const record = (days: number | null) => written(w.core, (tx) => recordServerPolicy(tx.keyPolicies, days, w.clock.now().toISOString()))
    await record(30)
    w.clock.advance(31 * DAY)
    expect((await w.request('GET', '/apikey/verify', { key: key.key })).json.code).toBe('api_key_expired')
    for (const days of [20, null, 30]) {
      await record(days)
      expect((await w.request('GET', '/apikey/verify', { key: key.key })).json.code).toBe('api_key_expired')
    }
  })

  test('a key cannot leave a policy behind to outlive its caller, nor to come back', async () => {
    const w = await seededWorld()
    const wide = await w.aliceKey({ mode: 'read', limited_to_orgs: [w.orgs.aliceMain, w.orgs.aliceSide] })
    const dying = await w.aliceKey({ mode: 'read', limited_to_orgs: [w.orgs.aliceMain, w.orgs.aliceSide] })
    const hourLeft = await w.aliceKey({ mode: 'all', expires_at: '2026-01-01T01:00:00Z' })
    await w.request('PUT', `/organization/${w.orgs.aliceMain}`, { key: w.alice.key, body: { key_policy: { max_key_lifetime_days: 1, require_expiry: true } } })
    const before = (await w.snapshot())
    // Narrowed out of the policy, the key would live for ever: a grant the short-lived caller cannot make.
    const escaped = await w.request('PUT', `/apikey/${wide.id}`, { key: hourLeft.key, body: { limited_to_orgs: [w.orgs.aliceSide] } })
    expect(escaped.status).toBe(400)
    expect(escaped.json.code).toBe('invalid_expires_at')
    expect((await w.snapshot())).toBe(before)
    // Once the policy has ended a key, narrowing it out does not bring it back, whoever asks.
    w.clock.advance(2 * DAY)
    const revived = await w.request('PUT', `/apikey/${dying.id}`, { key: w.alice.key, body: { limited_to_orgs: [w.orgs.aliceSide] } })
    expect(revived.status).toBe(409)
    expect((await w.request('GET', '/apikey/verify', { key: dying.key })).json.code).toBe('api_key_expired')
  })

  test('what only takes away is never judged by a policy', async () => {
    const w = await seededWorld()
    const old = await w.aliceKey({ mode: 'read', limited_to_orgs: [w.orgs.aliceMain] })
    const dated = await w.aliceKey({ mode: 'read', limited_to_orgs: [w.orgs.aliceMain], expires_at: '2026-12-01T00:00:00Z' })
    await w.request('PUT', `/organization/${w.orgs.aliceMain}`, { key: w.alice.key, body: { key_policy: policy } })
    expect((await w.request('PUT', `/apikey/${old.id}`, { key: w.alice.key, body: { limited_to_apps: [w.apps.aliceOne] } })).status).toBe(200)
    expect((await w.request('PUT', `/apikey/${dated.id}`, { key: w.alice.key, body: { expires_at: '2026-11-01T00:00:00Z' } })).status).toBe(200)
    expect((await w.request('PUT', `/apikey/${dated.id}`, { key: w.alice.key, body: { expires_at: '2026-11-15T00:00:00Z' } })).status).toBe(400)
  })

  test('a write that raced a policy coming into force uses its caller as it now is', async () => {
    const w = await seededWorld()
    const caller = await w.aliceKey({ mode: 'all', limited_to_orgs: [w.orgs.aliceMain, w.orgs.aliceSide] })
    w.clock.advance(30 * DAY)
    // Writes run in the order they are asked for: the policy's first, the key's after it, its
    // caller admitted before the policy committed.
    const [, created] = await Promise.all([
      w.request('PUT', `/organization/${w.orgs.aliceMain}`, { key: w.alice.key, body: { key_policy: { max_key_lifetime_days: 1, require_expiry: true } } }),
      w.request('POST', '/apikey/', { key: caller.key, body: { name: 'n', mode: 'all', limited_to_orgs: [w.orgs.aliceSide] } }),
    ])
    // Refused (the caller changed while it waited), or made within the caller's new life.
    if (created!.status === 201) expect(created!.json.apikey.expires_at).toBe('2026-02-01T00:00:00.000Z')
    else expect(created!.status).toBe(409)
  })

  test('errors name an org\'s policy only to a member of the org', async () => {
    const w = await seededWorld()
    await w.request('POST', `/organization/${w.orgs.aliceMain}/members`, { key: w.alice.key, body: { email: 'bob@example.com', role: 'all' } })
    const bobs = (await w.request('POST', '/apikey/', { key: w.bob.key, body: { name: 'b', mode: 'read', limited_to_orgs: [w.orgs.aliceMain], expires_at: '2026-01-05T00:00:00Z' } })).json.apikey
    await w.request('PUT', `/organization/${w.orgs.aliceMain}`, { key: w.alice.key, body: { key_policy: policy } })
    const member = await w.request('PUT', `/apikey/${bobs.id}`, { key: w.bob.key, body: { expires_at: '2026-06-01T00:00:00Z' } })
    expect(member.status).toBe(400)
    expect(member.json.error).toContain(`key policy of organization ${w.orgs.aliceMain}`)
    const bobMember = (await w.request('GET', `/organization/${w.orgs.aliceMain}/members`, { key: w.alice.key })).json.data.find((m: { email: string }) => m.email === 'bob@example.com')
    await w.request('DELETE', `/organization/${w.orgs.aliceMain}/members/${bobMember.user_id}`, { key: w.alice.key })
    const former = await w.request('PUT', `/apikey/${bobs.id}`, { key: w.bob.key, body: { expires_at: '2026-06-01T00:00:00Z' } })
    expect(former.status).toBe(400)
    expect(former.text).not.toContain(w.orgs.aliceMain)
  })

  test('a rotation under require_expiry needs the old key to expire; under a maximum its successor inherits the bound', async () => {
    const w = await seededWorld()
    const forever = await w.aliceKey({ mode: 'read', limited_to_orgs: [w.orgs.aliceMain] })
    await w.request('PUT', `/organization/${w.orgs.aliceMain}`, { key: w.alice.key, body: { key_policy: { max_key_lifetime_days: null, require_expiry: true } } })
    const before = (await w.snapshot())
    const refused = await w.request('POST', `/apikey/${forever.id}/rotate`, { key: w.alice.key })
    expect(refused.status).toBe(400)
    expect(refused.json.error).toContain('required by the key policy of organization')
    expect((await w.snapshot())).toBe(before)
    await w.request('PUT', `/organization/${w.orgs.aliceMain}`, { key: w.alice.key, body: { key_policy: policy } })
    const rotated = await w.request('POST', `/apikey/${forever.id}/rotate`, { key: w.alice.key })
    expect(rotated.status).toBe(201)
    expect(rotated.json.apikey.expires_at).toBe('2026-01-11T00:00:00.000Z')
  })
})
