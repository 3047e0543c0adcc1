/** GET /audit/ (SPEC §3 audit event, §6 modes, §7): the caller's audit log over HTTP. */
import { describe, expect, test } from 'bun:test'
import { hashKey } from '../src/access/key-format'
import type { AuditEventView } from '../src/modules/audit/model'
import { PRUNE_SLICE, pruneAuditSlice } from '../src/modules/audit/retention'
import { recordAudit } from '../src/modules/audit/service'
import { FILTER_SLICE } from '../src/store/sqlite/audit'
import { openSqliteStore } from '../src/store/sqlite/store'
import { onPostgres } from './helpers/backend'
import { seededWorld, written } from './helpers/world'

type Event = AuditEventView
type World = Awaited<ReturnType<typeof seededWorld>>

const UA = { 'user-agent': 'audit-test/1.0' }

/** Alice's events made through the API with her admin key and the test user agent, oldest first. */
async function aliceChanges(w: Awaited<ReturnType<typeof seededWorld>>) {
  const h = { key: w.alice.key, headers: UA }
  const created = await w.request('POST', '/apikey/', { ...h, body: { name: 'Deploy', mode: 'upload', limited_to_apps: [w.apps.aliceOne] } })
  expect(created.status).toBe(201)
  const keyId = created.json.apikey.id as number
  expect((await w.request('DELETE', `/apikey/${keyId}`, h)).status).toBe(200)
  const org = (await w.request('POST', '/organization/', { ...h, body: { name: 'Audited' } })).json.organization.id as string
  expect((await w.request('POST', `/organization/${org}/members`, { ...h, body: { email: 'bob@example.com', role: 'read' } })).status).toBe(201)
  expect((await w.request('POST', '/app/', { ...h, body: { app_id: 'com.audit.app', name: 'Audit', org_id: org } })).status).toBe(201)
  expect((await w.request('PUT', '/app/com.audit.app', { ...h, body: { name: 'Audit 2' } })).status).toBe(200)
  expect((await w.request('DELETE', '/app/com.audit.app', h)).status).toBe(200)
  return { keyId, createdKey: created.json.apikey.key as string, org }
}

describe('GET /audit/', () => {
  test("lists the user's events newest first, with actor key, user agent and details", async () => {
    const w = await seededWorld()
    const { keyId, org } = await aliceChanges(w)
    const res = await w.request('GET', '/audit/', { key: w.alice.key })
    expect(res.status).toBe(200)
    const events = res.json.data as Event[]
    // Strictly newest first.
    for (let i = 1; i < events.length; i++) expect(events[i]!.id).toBeLessThan(events[i - 1]!.id)

    const mine = events.filter((e) => e.user_agent === 'audit-test/1.0')
    expect(mine.map((e) => e.action)).toEqual([
      'app.delete', 'app.update', 'app.create', 'member.add', 'organization.create', 'apikey.delete', 'apikey.create',
    ])
    for (const e of mine) {
      expect(e.user_id).toBe(w.alice.user.id)
      expect(e.actor_key_id).toBe(w.alice.keyId)
      expect(e.ip).toBeNull() // app.handle has no socket
      expect(e.at).toBe('2026-01-01T00:00:00.000Z')
      expect(Object.keys(e).sort()).toEqual(
        ['action', 'actor_key_id', 'at', 'details', 'id', 'ip', 'target_id', 'target_type', 'user_agent', 'user_id'],
      )
    }
    const byAction = (action: string) => mine.find((e) => e.action === action)!
    expect(byAction('apikey.create')).toMatchObject({
      target_type: 'apikey', target_id: String(keyId),
      details: { name: 'Deploy', mode: 'upload', limited_to_apps: [w.apps.aliceOne], limited_to_orgs: [], expires_at: null },
    })
    expect(byAction('apikey.delete')).toMatchObject({ target_type: 'apikey', target_id: String(keyId), details: { name: 'Deploy', mode: 'upload' } })
    expect(byAction('organization.create')).toMatchObject({ target_type: 'organization', target_id: org, details: { name: 'Audited' } })
    expect(byAction('member.add').details).toEqual({ user_id: w.bob.user.id, role: 'read' })
    expect(byAction('app.update')).toMatchObject({ target_type: 'app', target_id: 'com.audit.app', details: { name: 'Audit 2', previous_name: 'Audit' } })

    // The seeded events (no key, made through the services) come after, i.e. are older.
    const seeded = events.filter((e) => e.user_agent !== 'audit-test/1.0')
    expect(seeded.length).toBeGreaterThan(0)
    expect(Math.max(...seeded.map((e) => e.id))).toBeLessThan(Math.min(...mine.map((e) => e.id)))
    // The oldest events are the user's creation (org, then first key), made with no key.
    expect(events.slice(-2)).toMatchObject([
      { action: 'apikey.create', actor_key_id: null, target_type: 'apikey', target_id: String(w.alice.keyId), details: { mode: 'all' } },
      { action: 'organization.create', actor_key_id: null, target_type: 'organization', target_id: w.orgs.aliceMain },
    ])
  })

  test('works with and without the trailing slash; 401 without a key', async () => {
    const w = await seededWorld()
    const a = await w.request('GET', '/audit/', { key: w.alice.key })
    const b = await w.request('GET', '/audit', { key: w.alice.key })
    expect(a.status).toBe(200)
    expect(b.json).toEqual(a.json)
    const none = await w.request('GET', '/audit/')
    expect(none.status).toBe(401)
    expect(none.json).toMatchObject({ status: 'KO', code: 'missing_api_key' })
    const bad = await w.request('GET', '/audit/', { key: 'ak_nope' })
    expect(bad.status).toBe(401)
    expect(bad.json).toMatchObject({ status: 'KO', code: 'invalid_api_key' })
  })

  test('paginates with ?limit= and 0-based ?page=; default 100, at most 1000', async () => {
    const w = await seededWorld()
    await aliceChanges(w)
    const all = (await w.request('GET', '/audit/?limit=1000', { key: w.alice.key })).json.data as Event[]
    expect(all.length).toBeGreaterThan(6)
    const page1 = await w.request('GET', '/audit/?limit=2&page=1', { key: w.alice.key })
    expect(page1.status).toBe(200)
    expect(page1.json.data).toEqual(all.slice(2, 4))
    expect((await w.request('GET', '/audit/?limit=2', { key: w.alice.key })).json.data).toEqual(all.slice(0, 2))
    expect((await w.request('GET', '/audit/?limit=2&page=0', { key: w.alice.key })).json.data).toEqual(all.slice(0, 2))
    expect((await w.request('GET', `/audit/?limit=5&page=${Math.ceil(all.length / 5)}`, { key: w.alice.key })).json.data).toEqual([])
    // A page so far out that page * limit overflows SQLite's integers: a 400, not a 500.
    const far = await w.request('GET', '/audit/?page=99999999999999999999999', { key: w.alice.key })
    expect(far.status).toBe(400)
    expect(far.json.code).toBe('validation_error')

    // Past 100 events: the default page holds 100, ?limit=1000 holds them all.
    const actor = { userId: w.alice.user.id, keyId: w.alice.keyId, ip: null, userAgent: 'bulk' }
    await written(w.core, async (tx) => {
      for (let i = 0; i < 150; i++) await recordAudit(w.core, tx, actor, 'test.bulk', { type: 'test', id: i }, { i })
    })
    const first = await w.request('GET', '/audit/', { key: w.alice.key })
    expect(first.json.data).toHaveLength(100)
    expect(first.json.data[0]).toMatchObject({ action: 'test.bulk', details: { i: 149 } })
    const rest = (await w.request('GET', '/audit/?page=1', { key: w.alice.key })).json.data as Event[]
    expect(rest).toHaveLength(50 + all.length)
    expect(rest[0]).toMatchObject({ details: { i: 49 } })
    expect((await w.request('GET', '/audit/?limit=1000', { key: w.alice.key })).json.data).toHaveLength(150 + all.length)
  })

  test.each([
    ['limit=0'], ['limit=1001'], ['limit=-1'], ['page=-1'], ['limit=abc'], ['limit=1.5'], ['page=x'], ['page='],
  ])('?%s → 400 validation_error envelope', async (query) => {
    const w = await seededWorld()
    const before = (await w.snapshot())
    const res = await w.request('GET', `/audit/?${query}`, { key: w.alice.key })
    expect(res.status).toBe(400)
    expect(res.json).toEqual({ error: expect.any(String), status: 'KO', code: 'validation_error' })
    expect((await w.snapshot())).toBe(before)
  })

  test('filters by action, target and actor key, each exact, with paging over what matches', async () => {
    const w = await seededWorld()
    const { keyId, org } = await aliceChanges(w)
    const all = (await w.request('GET', '/audit/?limit=1000', { key: w.alice.key })).json.data as Event[]
    const list = async (query: string) => (await w.request('GET', `/audit/?${query}`, { key: w.alice.key })).json.data as Event[]
    // [query, the events it must give: those of the whole log that match]
    const cases: [string, (e: Event) => boolean][] = [
      ['action=apikey.delete', (e) => e.action === 'apikey.delete'],
      ['target_type=app', (e) => e.target_type === 'app'],
      [`target_type=apikey&target_id=${keyId}`, (e) => e.target_type === 'apikey' && e.target_id === String(keyId)],
      [`target_id=${org}`, (e) => e.target_id === org],
      [`actor_key_id=${w.alice.keyId}`, (e) => e.actor_key_id === w.alice.keyId],
      ['action=app.update&target_id=com.audit.app', (e) => e.action === 'app.update'],
      ['action=nothing.like.this', () => false],
    ]
    for (const [query, matches] of cases) {
      const expected = all.filter(matches)
      expect({ query, events: await list(query) }).toEqual({ query, events: expected })
    }
    expect((await list(`actor_key_id=${w.alice.keyId}`)).length).toBeGreaterThan(3)
    const apps = all.filter((e) => e.target_type === 'app')
    expect(await list('target_type=app&limit=1&page=1')).toEqual(apps.slice(1, 2))
    for (const bad of ['actor_key_id=abc', 'actor_key_id=0', `action=${'a'.repeat(101)}`])
      expect((await w.request('GET', `/audit/?${bad}`, { key: w.alice.key })).json.code).toBe('validation_error')
  })

  test('the limit bounds themselves are accepted', async () => {
    const w = await seededWorld()
    expect((await w.request('GET', '/audit/?limit=1', { key: w.alice.key })).json.data).toHaveLength(1)
    expect((await w.request('GET', '/audit/?limit=1000&page=0', { key: w.alice.key })).status).toBe(200)
  })
})

describe('renames (organizations and apps alike)', () => {
  const RENAMES = [
    { target: 'organization', path: (w: World) => `/organization/${w.orgs.aliceMain}`, action: 'organization.update', id: (w: World) => w.orgs.aliceMain },
    { target: 'app', path: (w: World) => `/app/${w.apps.aliceOne}`, action: 'app.update', id: (w: World) => w.apps.aliceOne },
  ]
  for (const rename of RENAMES) {
    test(`${rename.target}: a new name is stored and audited with the previous one; the same name again writes nothing`, async () => {
      const w = await seededWorld()
      const events = () => w.query('SELECT details FROM audit_events WHERE action = ? AND target_id = ?', rename.action, rename.id(w))
      const renamed = await w.request('PUT', rename.path(w), { key: w.alice.key, body: { name: 'Renamed' } })
      expect(renamed.status, renamed.text).toBe(200)
      expect((await events()).map((e) => (typeof e.details === 'string' ? JSON.parse(e.details) : e.details))).toEqual([{ name: 'Renamed', previous_name: expect.any(String) }])
      const before = await w.snapshot()
      w.clock.advance(1000)
      const again = await w.request('PUT', rename.path(w), { key: w.alice.key, body: { name: 'Renamed' } })
      expect(again.status, again.text).toBe(200)
      expect(await w.snapshot()).toBe(before)
    })
  }
})

describe('who may read the audit log', () => {
  test.each([['read'], ['upload'], ['write']])('a %s key → 403', async (mode) => {
    const w = await seededWorld()
    const k = await w.aliceKey({ mode })
    const res = await w.request('GET', '/audit/', { key: k.key })
    expect(res.status).toBe(403)
    expect(res.json).toMatchObject({ status: 'KO', code: 'insufficient_permissions' })
    expect(res.text).not.toContain('apikey.create')
  })

  test('an org-limited, app-limited or doubly limited all key → 403; a new unlimited all key → 200', async () => {
    const w = await seededWorld()
    const limitedKeys = [
      await w.aliceKey({ mode: 'all', limited_to_orgs: [w.orgs.aliceMain] }),
      await w.aliceKey({ mode: 'all', limited_to_apps: [w.apps.aliceOne] }),
      await w.aliceKey({ mode: 'all', limited_to_orgs: [w.orgs.aliceMain], limited_to_apps: [w.apps.aliceOne] }),
    ]
    for (const k of limitedKeys) {
      for (const path of ['/audit/', '/audit', '/audit/?limit=1']) {
        const res = await w.request('GET', path, { key: k.key })
        expect(res.status).toBe(403)
        expect(res.json).toEqual({ error: 'This operation needs an API key without limits', status: 'KO', code: 'insufficient_permissions' })
      }
    }
    const unlimited = await w.aliceKey({ mode: 'all' })
    const res = await w.request('GET', '/audit/', { key: unlimited.key })
    expect(res.status).toBe(200)
    // Its own creation is the newest event, attributed to the key that created it.
    expect(res.json.data[0]).toMatchObject({ action: 'apikey.create', target_id: String(unlimited.id), actor_key_id: w.alice.keyId })
  })

  test("bob never sees alice's events, even about him", async () => {
    const w = await seededWorld()
    await aliceChanges(w) // includes alice adding bob to her org
    const bobAll = await w.request('POST', '/apikey/', { key: w.bob.key, body: { name: 'bob all', mode: 'all' } })
    for (const key of [w.bob.key, bobAll.json.apikey.key as string]) {
      const res = await w.request('GET', '/audit/?limit=1000', { key })
      expect(res.status).toBe(200)
      const events = res.json.data as Event[]
      expect(events.length).toBeGreaterThan(0)
      expect(events.every((e) => e.user_id === w.bob.user.id)).toBe(true)
      expect(events.map((e) => e.action)).not.toContain('member.add')
      for (const secret of [w.alice.user.id, w.orgs.aliceMain, w.orgs.aliceSide, w.apps.aliceOne, 'alice', 'Audited', 'com.audit.app']) {
        expect(res.text).not.toContain(secret)
      }
    }
    // And alice sees none of bob's.
    const alice = (await w.request('GET', '/audit/?limit=1000', { key: w.alice.key })).json.data as Event[]
    expect(alice.every((e) => e.user_id === w.alice.user.id)).toBe(true)
    expect(JSON.stringify(alice)).not.toContain(w.bob.org.id)
  })

  test('no full key and no key hash ever appears in an audit response', async () => {
    const w = await seededWorld()
    const { createdKey } = await aliceChanges(w)
    const keys = [w.alice.key, w.bob.key, createdKey]
    for (const settings of [{ mode: 'all' }, { mode: 'read', limited_to_apps: [w.apps.aliceTwo] }, { mode: 'write', limited_to_orgs: [w.orgs.aliceSide] }]) {
      const k = await w.aliceKey(settings)
      keys.push(k.key)
      await w.request('DELETE', `/apikey/${k.id}`, { key: w.alice.key })
    }
    const bobKey = await w.request('POST', '/apikey/', { key: w.bob.key, body: { name: 'b', mode: 'read' } })
    keys.push(bobKey.json.apikey.key)
    const hashes = keys.map(hashKey)
    expect(new Set(keys).size).toBe(keys.length)
    for (const [caller, path] of [
      [w.alice.key, '/audit/?limit=1000'], [w.alice.key, '/audit/'], [w.alice.key, '/audit/?limit=3&page=1'], [w.bob.key, '/audit/?limit=1000'],
    ] as const) {
      const res = await w.request('GET', path, { key: caller })
      expect(res.status).toBe(200)
      for (const key of keys) expect(res.text).not.toContain(key.slice(3)) // the secret part, with or without `ak_`
      for (const hash of hashes) expect(res.text.toLowerCase()).not.toContain(hash.toLowerCase())
      expect(res.text).not.toContain('key_hash')
    }
  })

  test('reading the audit log writes nothing', async () => {
    const w = await seededWorld()
    const before = (await w.snapshot())
    await w.request('GET', '/audit/', { key: w.alice.key, headers: UA })
    await w.request('GET', '/audit/', { key: (await w.aliceKey({ mode: 'read' })).key })
    const afterKey = (await w.snapshot())
    expect(afterKey).not.toBe(before) // the key creation itself is audited
    await w.request('GET', '/audit/?limit=1000', { key: w.alice.key })
    expect((await w.snapshot())).toBe(afterKey)
  })
})

describe('GET /audit/ in the OpenAPI document', () => {
  test('is documented under the Audit tag with its query, responses and examples', async () => {
    const w = await seededWorld()
    const { json: doc } = await w.request('GET', '/swagger/json')
    expect(doc.tags.map((t: { name: string }) => t.name)).toContain('Audit')
    const op = doc.paths['/audit/'].get
    expect(op.tags).toEqual(['Audit'])
    expect(op.summary).toBeString()
    expect(op.description).toContain('without')
    expect(op.parameters.map((p: { name: string; in: string }) => `${p.in}:${p.name}`).sort()).toEqual(['query:action', 'query:actor_key_id', 'query:after', 'query:limit', 'query:page', 'query:target_id', 'query:target_type'])
    expect(Object.keys(op.responses).sort()).toEqual(['200', '400', '401', '403', '429', '503'])
    const example = op.responses['200'].content['application/json'].schema.examples[0].data[0]
    expect(Object.keys(example).sort()).toEqual(
      ['action', 'actor_key_id', 'at', 'details', 'id', 'ip', 'target_id', 'target_type', 'user_agent', 'user_id'],
    )
    expect(op.responses['403'].content['application/json'].example.code).toBe('insufficient_permissions')
  })
})

describe('retention (--audit-retention-days)', () => {
  const DAY = 24 * 60 * 60 * 1000
  /** Alice's events' actions, newest first. */
  const actions = async (w: Awaited<ReturnType<typeof seededWorld>>) =>
    (await w.query('SELECT action FROM audit_events WHERE user_id = ? ORDER BY id DESC', w.alice.user.id)).map((e) => e.action)
  const actor = (w: Awaited<ReturnType<typeof seededWorld>>) => ({ userId: w.alice.user.id, keyId: w.alice.keyId, ip: null, userAgent: 'test' })

  test('deletes the events older than N days by the clock, oldest first, and keeps the rest', async () => {
    const w = await seededWorld()
    const seeded = (await actions(w)).length
    w.clock.advance(3 * DAY)
    await written(w.core, async (tx) => recordAudit(w.core, tx, actor(w), 'test.old', { type: 'test', id: 1 }))
    w.clock.advance(5 * DAY)
    await written(w.core, async (tx) => recordAudit(w.core, tx, actor(w), 'test.new', { type: 'test', id: 2 }))
    w.clock.advance(2 * DAY) // now: seeded events 10 days old, test.old 7 days, test.new 2 days
    expect(await pruneAuditSlice(w.core, 7)).toBe(false)
    // Exactly 7 days old is not older than 7 days.
    expect(await actions(w)).toEqual(['test.new', 'test.old'])
    expect(seeded).toBeGreaterThan(0)
    expect(await pruneAuditSlice(w.core, 1)).toBe(false)
    expect(await actions(w)).toEqual([])
  })

  test(`deletes at most ${PRUNE_SLICE} events per slice, and says when there may be more`, async () => {
    const w = await seededWorld()
    await written(w.core, async (tx) => {
      for (let i = 0; i < PRUNE_SLICE + 10; i++) await recordAudit(w.core, tx, actor(w), 'test.bulk', { type: 'test', id: i })
    })
    const count = async () => (await w.query('SELECT CAST(count(*) AS integer) AS n FROM audit_events'))[0]!.n as number
    const before = await count()
    w.clock.advance(31 * DAY)
    expect(await pruneAuditSlice(w.core, 30)).toBe(true)
    expect(await count()).toBe(before - PRUNE_SLICE)
    expect(await pruneAuditSlice(w.core, 30)).toBe(false)
    expect(await count()).toBe(0)
  })

})

// Filters have no index on SQLite (each would cost every write): a filtered page reads the
// user's events FILTER_SLICE at a time, with a turn of the event loop between slices.
describe.skipIf(onPostgres)('a filtered page on SQLite', () => {
  const EVENTS = 2.5 * FILTER_SLICE
  /** Alternating users; one event in 997 is the rare action, by key 99, on org o1. */
  function filled() {
    const store = openSqliteStore(null)
    const insert = store.db.prepare('INSERT INTO audit_events (at, user_id, actor_key_id, action, target_type, target_id, details) VALUES (?, ?, ?, ?, ?, ?, ?)')
    store.db.transaction(() => {
      for (let i = 0; i < EVENTS; i++) {
        const rare = i % 997 === 0
        insert.run('2026-01-01T00:00:00.000Z', i % 2 ? 'u2' : 'u1', rare ? 99 : 7, rare ? 'org.delete' : 'apikey.create', rare ? 'org' : 'apikey', rare ? 'o1' : String(i), '{}')
      }
    })()
    const events = store.db.query('SELECT id, user_id, actor_key_id, action, target_type, target_id FROM audit_events ORDER BY id DESC').all() as Record<string, unknown>[]
    return { store, events }
  }

  test('finds every match across slices, with offset and keyset, as an unsliced read would', async () => {
    const { store, events } = filled()
    const ids = (rows: { id: number }[]) => rows.map((row) => row.id)
    const expected = (match: (e: Record<string, unknown>) => boolean, user = 'u1') => events.filter((e) => e.user_id === user && match(e)).map((e) => e.id as number)
    const rare = expected((e) => e.action === 'org.delete')
    expect(rare.length).toBeGreaterThan(10)
    const first = { before: Number.MAX_SAFE_INTEGER, offset: 0 }
    for (const filters of [{ action: 'org.delete' }, { actor_key_id: 99 }, { target_type: 'org', target_id: 'o1' }, { action: 'org.delete', actor_key_id: 99 }])
      expect(ids(await store.audit.listByUser('u1', filters, first, 1000))).toEqual(rare)
    expect(ids(await store.audit.listByUser('u1', { action: 'org.delete' }, { before: Number.MAX_SAFE_INTEGER, offset: 7 }, 3))).toEqual(rare.slice(7, 10))
    expect(ids(await store.audit.listByUser('u1', { action: 'org.delete' }, { before: rare[4]!, offset: 0 }, 5))).toEqual(rare.slice(5, 10))
    expect(ids(await store.audit.listByUser('u1', { action: 'org.delete', actor_key_id: 7 }, first, 10))).toEqual([])
    expect(ids(await store.audit.listByUser('u2', { action: 'org.delete' }, first, 1000))).toEqual(expected((e) => e.action === 'org.delete', 'u2'))
    const common = expected((e) => e.action === 'apikey.create')
    expect(ids(await store.audit.listByUser('u1', { action: 'apikey.create' }, { before: Number.MAX_SAFE_INTEGER, offset: 100 }, 50))).toEqual(common.slice(100, 150))
    await store.close()
  })

  test('lets the event loop turn between slices, and reads no further than the page needs', async () => {
    const { store } = filled()
    let turns = 0
    let ticking = true
    const tick = () => {
      turns++
      if (ticking) setImmediate(tick)
    }
    setImmediate(tick)
    await store.audit.listByUser('u1', { action: 'no.such.action' }, { before: Number.MAX_SAFE_INTEGER, offset: 0 }, 10)
    ticking = false
    // u1 has EVENTS / 2 events: ceil(1.25) = 2 slices, one turn between them at least.
    expect(turns).toBeGreaterThanOrEqual(1)
    turns = 0
    ticking = true
    setImmediate(tick)
    // The newest matches are in the first slice: no second one is read.
    const page = store.audit.listByUser('u1', { action: 'apikey.create' }, { before: Number.MAX_SAFE_INTEGER, offset: 0 }, 10)
    expect(await page).toHaveLength(10)
    ticking = false
    expect(turns).toBe(0)
    await store.close()
  })
})
