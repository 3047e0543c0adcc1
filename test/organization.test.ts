/** Organizations, members and apps over HTTP (SPEC §6-7), beyond the permission table. */
import { describe, expect, test } from 'bun:test'
import { scenarioTable, type ApiScenario } from './helpers/scenario'
import { seededWorld } from './helpers/world'

describe('organizations', () => {
  test('create, list with role, get, rename, delete with its apps', async () => {
    const w = await seededWorld()
    const created = await w.request('POST', '/organization/', { key: w.alice.key, body: { name: '  New team ' } })
    expect(created.status).toBe(201)
    expect(created.json.organization).toMatchObject({ name: 'New team', role: 'all', created_by: w.alice.user.id })
    const id = created.json.organization.id
    expect(id).toMatch(/^org_[0-9a-z]{16}$/)

    const list = await w.request('GET', '/organization', { key: w.alice.key })
    expect(list.json.data.map((o: { id: string }) => o.id)).toEqual([w.orgs.aliceMain, w.orgs.aliceSide, id])
    expect(list.json.data.every((o: { role: string }) => o.role === 'all')).toBe(true)

    const renamed = await w.request('PUT', `/organization/${id}/`, { key: w.alice.key, body: { name: 'Renamed' } })
    expect(renamed.json.organization.name).toBe('Renamed')
    expect((await w.request('GET', `/organization/${id}`, { key: w.alice.key })).json.organization.name).toBe('Renamed')

    await w.request('POST', '/app/', { key: w.alice.key, body: { app_id: 'com.new.app', name: 'A', org_id: id } })
    expect((await w.request('DELETE', `/organization/${id}`, { key: w.alice.key })).json).toEqual({ success: true })
    expect((await w.request('GET', `/organization/${id}`, { key: w.alice.key })).status).toBe(404)
    expect((await w.request('GET', '/app/com.new.app', { key: w.alice.key })).status).toBe(404)
  })

  test('deleting an org leaves keys limited to it powerless, not broken', async () => {
    const w = await seededWorld()
    const limited = await w.aliceKey({ mode: 'all', limited_to_orgs: [w.orgs.aliceSide] })
    const appLimited = await w.aliceKey({ mode: 'all', limited_to_apps: [w.apps.aliceSide] })
    await w.request('DELETE', `/organization/${w.orgs.aliceSide}`, { key: w.alice.key })
    for (const key of [limited.key, appLimited.key]) {
      for (const [method, path, body] of [
        ['GET', `/organization/${w.orgs.aliceSide}`],
        ['GET', '/app/com.alice.side'],
        ['GET', '/organization/'],
        ['GET', '/app/'],
        ['POST', '/app/', { app_id: 'com.x.y', name: 'x', org_id: w.orgs.aliceSide }],
        ['POST', '/apikey/', { name: 'n', mode: 'read' }],
        ['GET', '/apikey/verify?app_id=com.alice.side'],
        ['GET', `/apikey/verify?org_id=${w.orgs.aliceSide}`],
      ] as const) {
        const res = await w.request(method, path, { key, body })
        expect(res.status).toBeLessThan(500)
        if (method === 'GET' && (path === '/organization/' || path === '/app/')) expect(res.json.data).toEqual([])
        else expect([400, 403, 404]).toContain(res.status)
      }
    }
  })

})

describe('members', () => {
  test('add by email with a role, change it, remove; a member\'s keys follow their role at once', async () => {
    const w = await seededWorld()
    const org = `/organization/${w.orgs.aliceMain}/members`
    const added = await w.request('POST', org, { key: w.alice.key, body: { email: 'BOB@example.com', role: 'read' } })
    expect(added.status).toBe(201)
    expect(added.json.member).toMatchObject({ user_id: w.bob.user.id, email: 'bob@example.com', role: 'read' })
    expect((await w.request('GET', `/app/${w.apps.aliceOne}`, { key: w.bob.key })).status).toBe(200)
    expect((await w.request('PUT', `/app/${w.apps.aliceOne}`, { key: w.bob.key, body: { name: 'x' } })).status).toBe(403)

    const changed = await w.request('PUT', `${org}/${w.bob.user.id}`, { key: w.alice.key, body: { role: 'write' } })
    expect(changed.json.member.role).toBe('write')
    expect((await w.request('PUT', `/app/${w.apps.aliceOne}`, { key: w.bob.key, body: { name: 'x' } })).status).toBe(200)

    const listed = await w.request('GET', org, { key: w.bob.key })
    expect(listed.json.data.map((m: { email: string; role: string }) => [m.email, m.role])).toEqual([['alice@example.com', 'all'], ['bob@example.com', 'write']])

    expect((await w.request('DELETE', `${org}/${w.bob.user.id}/`, { key: w.alice.key })).json).toEqual({ success: true })
    expect((await w.request('GET', `/app/${w.apps.aliceOne}`, { key: w.bob.key })).status).toBe(404)
  })

  test('the last all member can be neither removed nor demoted', async () => {
    const w = await seededWorld()
    const base = `/organization/${w.orgs.aliceMain}/members/${w.alice.user.id}`
    const before = (await w.snapshot())
    expect((await w.request('DELETE', base, { key: w.alice.key })).status).toBe(409)
    expect((await w.request('PUT', base, { key: w.alice.key, body: { role: 'write' } })).status).toBe(409)
    expect((await w.snapshot())).toBe(before)
    // With a second all member, the first may step down.
    await w.request('POST', `/organization/${w.orgs.aliceMain}/members`, { key: w.alice.key, body: { email: 'bob@example.com', role: 'all' } })
    expect((await w.request('PUT', base, { key: w.alice.key, body: { role: 'write' } })).status).toBe(200)
  })
})

describe('apps', () => {
  test('create, list by org, get, rename, delete', async () => {
    const w = await seededWorld()
    const created = await w.request('POST', '/app', { key: w.alice.key, body: { app_id: 'io.example.new-app_2', name: 'New', org_id: w.orgs.aliceSide } })
    expect(created.status).toBe(201)
    expect(created.json.app).toMatchObject({ app_id: 'io.example.new-app_2', org_id: w.orgs.aliceSide, name: 'New' })
    const side = await w.request('GET', `/app/?org_id=${w.orgs.aliceSide}`, { key: w.alice.key })
    expect(side.json.data.map((a: { app_id: string }) => a.app_id)).toEqual(['com.alice.side', 'io.example.new-app_2'])
    expect((await w.request('PUT', '/app/io.example.new-app_2/', { key: w.alice.key, body: { name: 'Renamed' } })).json.app.name).toBe('Renamed')
    expect((await w.request('DELETE', '/app/io.example.new-app_2', { key: w.alice.key })).json).toEqual({ success: true })
    expect((await w.request('GET', '/app/io.example.new-app_2', { key: w.alice.key })).status).toBe(404)
  })
})

describe('two users in separate orgs', () => {
  test("nothing of one is visible to or changeable by the other's keys, whatever the mode", async () => {
    const w = await seededWorld()
    const aliceTargets = [
      ['GET', `/organization/${w.orgs.aliceMain}`], ['PUT', `/organization/${w.orgs.aliceMain}`, { name: 'x' }],
      ['DELETE', `/organization/${w.orgs.aliceMain}`], ['GET', `/organization/${w.orgs.aliceMain}/members`],
      ['POST', `/organization/${w.orgs.aliceMain}/members`, { email: 'bob@example.com', role: 'all' }],
      ['PUT', `/organization/${w.orgs.aliceMain}/members/${w.alice.user.id}`, { role: 'read' }],
      ['DELETE', `/organization/${w.orgs.aliceMain}/members/${w.alice.user.id}`],
      ['GET', `/app/${w.apps.aliceOne}`], ['PUT', `/app/${w.apps.aliceOne}`, { name: 'x' }], ['DELETE', `/app/${w.apps.aliceOne}`],
      ['POST', '/app/', { app_id: 'com.bob.inalice', name: 'x', org_id: w.orgs.aliceMain }],
      ['DELETE', `/apikey/${w.alice.keyId}`],
    ] as const
    const before = (await w.snapshot())
    for (const mode of ['read', 'upload', 'write', 'all'] as const) {
      const res = await w.request('POST', '/apikey/', { key: w.bob.key, body: { name: mode, mode } })
      const bobKey = res.json.apikey.key
      const afterCreate = (await w.snapshot())
      for (const [method, path, body] of aliceTargets) {
        const r = await w.request(method, path, { key: bobKey, body })
        expect([403, 404]).toContain(r.status)
        if (mode === 'all') expect(r.status).toBe(404)
        expect(r.text).not.toContain('alice')
      }
      for (const path of ['/organization/', '/app/', '/apikey/']) {
        const r = await w.request('GET', path, { key: bobKey })
        if (r.status === 200) expect(r.text).not.toMatch(/alice/)
      }
      const verify = await w.request('GET', `/apikey/verify?app_id=${w.apps.aliceOne}`, { key: bobKey })
      expect(verify.status).toBe(403)
      expect((await w.snapshot())).toBe(afterCreate)
    }
    expect(before).not.toBe((await w.snapshot()))
  })
})

describe('audit', () => {
  test('every change to orgs, members and apps writes an event with its actor, ip and user agent', async () => {
    const w = await seededWorld()
    const h = { key: w.alice.key, headers: { 'user-agent': 'audit-agent/1.0' } }
    const org = (await w.request('POST', '/organization/', { ...h, body: { name: 'Audited' } })).json.organization.id
    await w.request('PUT', `/organization/${org}`, { ...h, body: { name: 'Audited 2' } })
    await w.request('POST', `/organization/${org}/members`, { ...h, body: { email: 'bob@example.com', role: 'read' } })
    await w.request('PUT', `/organization/${org}/members/${w.bob.user.id}`, { ...h, body: { role: 'upload' } })
    await w.request('DELETE', `/organization/${org}/members/${w.bob.user.id}`, h)
    await w.request('POST', '/app/', { ...h, body: { app_id: 'com.audit.app', name: 'a', org_id: org } })
    await w.request('PUT', '/app/com.audit.app', { ...h, body: { name: 'b' } })
    await w.request('DELETE', '/app/com.audit.app', h)
    await w.request('DELETE', `/organization/${org}`, h)
    const events = await w.query("SELECT action, CAST(actor_key_id AS integer) AS actor_key_id, user_agent, details FROM audit_events WHERE user_agent = 'audit-agent/1.0' ORDER BY id")
    expect(events.map((e) => e.action)).toEqual([
      'organization.create', 'organization.update', 'member.add', 'member.update', 'member.remove',
      'app.create', 'app.update', 'app.delete', 'organization.delete',
    ])
    expect(events.every((e) => e.actor_key_id === w.alice.keyId)).toBe(true)
    expect(JSON.stringify(events)).not.toContain(w.alice.key)
  })
})

/** Alice's world, with keys of hers that are limited or below `all`. */
async function aliceWithKeys() {
  const w = await seededWorld()
  return {
    ...w,
    appLimited: (await w.aliceKey({ mode: 'all', limited_to_apps: [w.apps.aliceOne] })).key,
    orgLimited: (await w.aliceKey({ mode: 'all', limited_to_orgs: [w.orgs.aliceMain] })).key,
    writer: (await w.aliceKey({ mode: 'write' })).key,
  }
}
type Keys = Awaited<ReturnType<typeof aliceWithKeys>>

const newApp = (app_id: string, org = (w: Keys) => w.orgs.aliceMain) => (w: Keys) => ({ app_id, name: 'x', org_id: org(w) })
const ids = (field: string) => (answer: { json: any }) => answer.json.data.map((row: Record<string, string>) => row[field])

describe('what a key reaches of orgs and apps, and what it may create', () => {
  scenarioTable<Keys>(aliceWithKeys, [
    // An app-limited key sees only its apps, and no org.
    { name: 'app-limited key: GET /app/ lists its app only', method: 'GET', path: '/app/', key: (w) => w.appLimited, status: 200, check: (a, w) => expect(ids('app_id')(a)).toEqual([w.apps.aliceOne]) },
    { name: 'app-limited key: GET /organization/ lists none', method: 'GET', path: '/organization/', key: (w) => w.appLimited, status: 200, check: (a) => expect(a.json.data).toEqual([]) },
    { name: "app-limited key: its app's org → 403", method: 'GET', path: (w) => `/organization/${w.orgs.aliceMain}`, key: (w) => w.appLimited, status: 403, code: 'insufficient_permissions' },
    { name: 'app-limited key: another org → 404', method: 'GET', path: (w) => `/organization/${w.orgs.aliceSide}`, key: (w) => w.appLimited, status: 404, code: 'not_found' },
    { name: 'app-limited key: renames its app', method: 'PUT', path: (w) => `/app/${w.apps.aliceOne}`, key: (w) => w.appLimited, body: { name: 'mine' }, status: 200, contains: ['"name":"mine"'] },
    // Only an unlimited all key creates orgs.
    { name: 'org-limited all key: POST /organization/ → 403', method: 'POST', path: '/organization/', key: (w) => w.orgLimited, body: { name: 'x' }, status: 403, unchanged: true },
    { name: 'write key: POST /organization/ → 403', method: 'POST', path: '/organization/', key: (w) => w.writer, body: { name: 'x' }, status: 403, unchanged: true },
    // App ids: reverse-domain, free, in an org of the user's.
    ...([
      ['no dot', 'comexample', 400],
      ['too short', 'a.', 400],
      ['too long', `com.${'a'.repeat(130)}`, 400],
      ['a space', 'com.ex ample', 400],
      ['a slash', 'com/example.app', 400],
      ['SQL', "com.x'; DROP TABLE apps;--", 400],
      ['taken by bob', 'com.bob.one', 409],
      ['taken by alice', 'com.alice.one', 409],
    ] as const).map(([what, appId, status]): ApiScenario<Keys> => (
      { name: `app_id with ${what} → ${status}`, method: 'POST', path: '/app/', key: (w) => w.alice.key, body: newApp(appId), status, unchanged: true }
    )),
    // Members: by the email of an existing user, once, with a role on the scale.
    ...([
      ['an unknown email', { email: 'nobody@example.com', role: 'read' }, 404, 'not_found'],
      ['an existing member', { email: 'alice@example.com', role: 'read' }, 409, 'conflict'],
      ['a bad role', { email: 'bob@example.com', role: 'owner' }, 400, 'invalid_mode'],
      ['an extra field', { email: 'bob@example.com', role: 'read', admin: true }, 400, 'validation_error'],
    ] as const).map(([what, body, status, code]): ApiScenario<Keys> => (
      { name: `adding ${what} → ${status}`, method: 'POST', path: (w) => `/organization/${w.orgs.aliceMain}/members`, key: (w) => w.alice.key, body, status, code, unchanged: true }
    )),
    { name: 'an app in an org the user is not in → 404', method: 'POST', path: '/app/', key: (w) => w.alice.key, body: newApp('com.alice.sneaky', (w) => w.orgs.bobMain), status: 404, code: 'not_found', unchanged: true },
  ])
})
