/**
 * The cached authentication path (issue #5): every change that matters takes effect on the
 * very next request, from this process or from another one (the offline CLI).
 */
import { Database } from 'bun:sqlite'
import { describe, expect, spyOn, test } from 'bun:test'
import { rmSync } from 'node:fs'
import { join } from 'node:path'
import { createApp } from '../src/app'
import { key } from '../src/cli/key'
import * as admin from '../src/modules/apikey/admin'
import { openCore } from '../src/cli/open'
import { generateKey, hashKey, keyStart } from '../src/access/key-format'
import { createCore } from '../src/create-core'
import { openSqliteStore } from '../src/store/sqlite/store'
import { jsonLogger } from '../src/http/logger'
import { registerApp } from '../src/modules/app/service'
import { createUser } from '../src/modules/user/service'
import { FOREIGN_COMMITS_POLL_MS } from '../src/read-model/changes'
import { tempDir } from './helpers/binary'
import { manualClock } from './helpers/app'
import { seededWorld } from './helpers/world'

type World = Awaited<ReturnType<typeof seededWorld>>

const operatorOf = (userId: string) => ({ userId, keyId: null, ip: null, userAgent: 'test' })

/** Uses the key once (so it is cached), applies `change`, and returns the next answer. */
async function afterChange(w: World, key: string, change: () => Promise<unknown> | unknown, path = '/apikey/verify') {
  expect((await w.request('GET', path, { key })).status).toBe(200)
  expect((await w.request('GET', path, { key })).status).toBe(200)
  await change()
  return w.request('GET', path, { key })
}

describe('key cache invalidation: the very next request sees the change', () => {
  test('revoked', async () => {
    const w = await seededWorld()
    const k = await w.aliceKey({ mode: 'read' })
    const res = await afterChange(w, k.key, () => w.request('DELETE', `/apikey/${k.id}`, { key: w.alice.key }))
    expect(res.json.code).toBe('invalid_api_key')
  })

  test('disabled', async () => {
    const w = await seededWorld()
    const k = await w.aliceKey({ mode: 'read' })
    const res = await afterChange(w, k.key, () => w.request('PUT', `/apikey/${k.id}`, { key: w.alice.key, body: { enabled: false } }))
    expect(res.json.code).toBe('api_key_disabled')
  })

  test('rotated without grace', async () => {
    const w = await seededWorld()
    const k = await w.aliceKey({ mode: 'read' })
    const res = await afterChange(w, k.key, () => w.request('POST', `/apikey/${k.id}/rotate`, { key: w.alice.key }))
    expect(res.json.code).toBe('api_key_expired')
  })

  test('updated (mode lowered)', async () => {
    const w = await seededWorld()
    const k = await w.aliceKey({ mode: 'all' })
    const res = await afterChange(w, k.key, () => w.request('PUT', `/apikey/${k.id}`, { key: w.alice.key, body: { mode: 'read' } }), '/apikey/')
    expect(res.status).toBe(403)
  })

  test('expired (by the clock alone)', async () => {
    const w = await seededWorld()
    const k = await w.aliceKey({ mode: 'read', expires_at: '2026-01-01T00:00:30Z' })
    const res = await afterChange(w, k.key, () => w.clock.advance(30_000))
    expect(res.json.code).toBe('api_key_expired')
  })

  test('membership changed (role lowered, then removed)', async () => {
    const w = await seededWorld()
    await w.request('POST', `/organization/${w.orgs.aliceMain}/members`, { key: w.alice.key, body: { email: 'bob@example.com', role: 'upload' } })
    const path = `/apikey/verify?mode=upload&app_id=${w.apps.aliceOne}`
    const lowered = await afterChange(w, w.bob.key, () =>
      w.request('PUT', `/organization/${w.orgs.aliceMain}/members/${w.bob.user.id}`, { key: w.alice.key, body: { role: 'read' } }), path)
    expect(lowered.status).toBe(403)
    const readPath = `/apikey/verify?mode=read&app_id=${w.apps.aliceOne}`
    const removed = await afterChange(w, w.bob.key, () =>
      w.request('DELETE', `/organization/${w.orgs.aliceMain}/members/${w.bob.user.id}`, { key: w.alice.key }), readPath)
    expect(removed.status).toBe(403)
  })

  test('the apps a key reaches (GET /app/): membership added then removed, app created, key limited', async () => {
    const w = await seededWorld()
    const appIds = async (key: string) => ((await w.request('GET', '/app/', { key })).json.data as { app_id: string }[]).map((a) => a.app_id).sort()
    expect(await appIds(w.bob.key)).toEqual([w.apps.bobOne])
    await w.request('POST', `/organization/${w.orgs.aliceMain}/members`, { key: w.alice.key, body: { email: 'bob@example.com', role: 'read' } })
    expect(await appIds(w.bob.key)).toEqual([w.apps.aliceOne, w.apps.aliceTwo, w.apps.bobOne].sort())
    await w.request('POST', '/app/', { key: w.alice.key, body: { app_id: 'com.alice.three', name: 'Three', org_id: w.orgs.aliceMain } })
    expect(await appIds(w.bob.key)).toContain('com.alice.three')
    await w.request('DELETE', `/organization/${w.orgs.aliceMain}/members/${w.bob.user.id}`, { key: w.alice.key })
    expect(await appIds(w.bob.key)).toEqual([w.apps.bobOne])
    const k = await w.aliceKey({ mode: 'read' })
    expect(await appIds(k.key)).toHaveLength(4)
    await w.request('PUT', `/apikey/${k.id}`, { key: w.alice.key, body: { limited_to_apps: [w.apps.aliceSide] } })
    expect(await appIds(k.key)).toEqual([w.apps.aliceSide])
  })

  test('answers sent as kept JSON text (app and key lists, verify) show a rename at once', async () => {
    const w = await seededWorld()
    const k = await w.aliceKey({ mode: 'read', name: 'before' })
    const appName = async () => ((await w.request('GET', '/app/', { key: k.key })).json.data as { app_id: string; name: string }[]).find((a) => a.app_id === w.apps.aliceOne)!.name
    const keyName = async () => ((await w.request('GET', '/apikey/', { key: w.alice.key })).json.data as { id: number; name: string }[]).find((x) => x.id === k.id)!.name
    const verifiedName = async () => (await w.request('GET', '/apikey/verify', { key: k.key })).json.apikey.name
    const before = [await appName(), await keyName(), await verifiedName()]
    expect(before[1]).toBe('before')
    expect(before[2]).toBe('before')
    await w.request('PUT', `/app/${w.apps.aliceOne}`, { key: w.alice.key, body: { name: 'Renamed app' } })
    await w.request('PUT', `/apikey/${k.id}`, { key: w.alice.key, body: { name: 'after' } })
    expect([await appName(), await keyName(), await verifiedName()]).toEqual(['Renamed app', 'after', 'after'])
  })

  test('org deleted', async () => {
    const w = await seededWorld()
    const k = await w.aliceKey({ mode: 'read', limited_to_orgs: [w.orgs.aliceSide] })
    const path = `/apikey/verify?org_id=${w.orgs.aliceSide}`
    const res = await afterChange(w, k.key, () => w.request('DELETE', `/organization/${w.orgs.aliceSide}`, { key: w.alice.key }), path)
    expect(res.status).toBe(403)
  })

  test('a write by another process (the offline CLI) is seen within FOREIGN_COMMITS_POLL_MS', async () => {
    const dir = tempDir()
    try {
      const store = openSqliteStore(dir)
      const clock = manualClock()
      const core = createCore(store, { clock, policy: { maxKeyLifetimeDays: null, keyRateLimit: null } })
      const app = createApp({ ...core, log: jsonLogger(() => {}), version: 'test' })
      const { apikey } = await createUser(core, { email: 'x@example.com' })
      const verify = () => app.handle(new Request('http://localhost/apikey/verify', { headers: { authorization: apikey.key } }))
      expect((await verify()).status).toBe(200)
      expect((await verify()).status).toBe(200)
      const other = new Database(join(dir, 'codepushgo.db'))
      other.run('DELETE FROM apikeys WHERE id = ?', [apikey.id])
      other.close()
      // Before the poll interval is over, the cached key may still get in; from then on, not.
      clock.advance(FOREIGN_COMMITS_POLL_MS)
      expect((await verify()).status).toBe(401)
      await store.close()
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  test('`key revoke` (the offline CLI) answers only once a running server refuses the key', async () => {
    const dir = tempDir()
    const core = await openCore({ kind: 'sqlite', dir })
    // When the revocation committed, and when the command answered.
    let committedAt = Number.NaN
    let answeredAt = Number.NaN
    const revokeKey = admin.revokeKey
    const revoke = spyOn(admin, 'revokeKey').mockImplementation(async (...args) => {
      await revokeKey(...args)
      committedAt = performance.now()
    })
    const output = spyOn(process.stdout, 'write').mockImplementation(() => {
      answeredAt = performance.now()
      return true
    })
    try {
      const app = createApp({ ...core, log: jsonLogger(() => {}), version: 'test' })
      const { apikey } = await createUser(core, { email: 'x@example.com' })
      const verify = () => app.handle(new Request('http://localhost/apikey/verify', { headers: { authorization: apikey.key } }))
      // Cached, and the server has just looked for other processes' commits.
      expect([(await verify()).status, (await verify()).status]).toEqual([200, 200])
      expect(await key.run(['revoke', String(apikey.id), '--dir', dir])).toBe(0)
      expect(output).toHaveBeenCalledWith(`${JSON.stringify({ success: true, revoked: apikey.id })}\n`)
      // A server notices another process's commit within FOREIGN_COMMITS_POLL_MS: the command
      // waits that long, whatever its own start-up took.
      expect(answeredAt - committedAt).toBeGreaterThanOrEqual(FOREIGN_COMMITS_POLL_MS)
      expect((await verify()).status).toBe(401)
    } finally {
      revoke.mockRestore()
      output.mockRestore()
      await core.store.close()
      rmSync(dir, { recursive: true, force: true })
    }
  })
})

describe("another process's commit noticed in the middle of a request", () => {
  test('a membership it added is in GET /app/ from the next request on, not kept out by the reach cached meanwhile', async () => {
    const dir = tempDir()
    const store = openSqliteStore(dir)
    const clock = manualClock()
    const core = createCore(store, { clock, policy: { maxKeyLifetimeDays: null, keyRateLimit: null } })
    const other = new Database(join(dir, 'codepushgo.db')) // another process's connection
    other.run('PRAGMA busy_timeout = 5000')
    // The look for other processes' commits falls due between the gate's key lookup and GET
    // /app/'s reach lookup, every time: the principal is from before a commit, the reach after.
    const lookup = core.readModel.keyByHash.bind(core.readModel)
    const keyLookup = spyOn(core.readModel, 'keyByHash').mockImplementation((hash) => {
      const found = lookup(hash)
      clock.advance(FOREIGN_COMMITS_POLL_MS)
      return found
    })
    try {
      const app = createApp({ ...core, log: jsonLogger(() => {}), version: 'test' })
      const alice = await createUser(core, { email: 'alice@example.com' })
      const bob = await createUser(core, { email: 'bob@example.com' })
      await store.write((tx) => registerApp(core, tx, operatorOf(alice.user.id), { app_id: 'com.alice.one', name: 'One', org_id: alice.organization.id }))
      const appsOfBob = async () => {
        const res = await app.handle(new Request('http://localhost/app/', { headers: { authorization: bob.apikey.key } }))
        return ((await res.json()) as { data: { app_id: string }[] }).data.map((a) => a.app_id)
      }
      expect(await appsOfBob()).toEqual([])
      other.run("INSERT INTO org_members (org_id, user_id, role, created_at) VALUES (?, ?, 'read', '2026-01-01T00:00:00.000Z')", [alice.organization.id, bob.user.id])
      // The request that notices the commit may still answer from before it (the documented
      // 100 ms); every later one is current.
      await appsOfBob()
      for (let i = 0; i < 3; i++) {
        clock.advance(60_000)
        expect(await appsOfBob()).toEqual(['com.alice.one'])
      }
      other.run('DELETE FROM org_members WHERE org_id = ? AND user_id = ?', [alice.organization.id, bob.user.id])
      await appsOfBob()
      clock.advance(60_000)
      expect(await appsOfBob()).toEqual([])
    } finally {
      keyLookup.mockRestore()
      other.close()
      await store.close()
      rmSync(dir, { recursive: true, force: true })
    }
  })
})

describe('last-use flushes keep the cache', () => {
  test('after a flush, keys are still served from memory, and views show the written last use', async () => {
    const w = await seededWorld()
    const k = await w.aliceKey({ mode: 'read' })
    expect((await w.request('GET', '/apikey/verify', { key: k.key })).status).toBe(200)
    expect((await w.request('GET', `/apikey/${k.id}`, { key: w.alice.key })).json.apikey.last_used_at).toBeNull()
    const listedBefore = (await w.request('GET', '/apikey/', { key: w.alice.key })).json.data.find((x: { id: number }) => x.id === k.id)
    expect(listedBefore.last_used_at).toBeNull()
    const findByHash = spyOn(w.core.store.apikeys, 'findByHash')
    w.clock.advance(1000)
    expect(await w.core.usage.flush()).toBe(2)
    const verified = await w.request('GET', '/apikey/verify', { key: k.key })
    expect(verified.json.apikey).toMatchObject({ last_used_at: '2026-01-01T00:00:00.000Z', last_used_ip: null })
    const listed = (await w.request('GET', '/apikey/', { key: w.alice.key })).json.data.find((x: { id: number }) => x.id === k.id)
    expect(listed.last_used_at).toBe('2026-01-01T00:00:00.000Z')
    expect(findByHash).not.toHaveBeenCalled()
    // What the views show is what the database holds.
    const row = w.db.query('SELECT last_used_at FROM apikeys WHERE id = ?').get(k.id) as { last_used_at: string }
    expect(row.last_used_at).toBe('2026-01-01T00:00:00.000Z')
  })

  test('a key write (not a last-use flush) drops the key it changes: the next request reloads it', async () => {
    const w = await seededWorld()
    const k = await w.aliceKey({ mode: 'read' })
    expect((await w.request('GET', '/apikey/verify', { key: k.key })).status).toBe(200)
    const findByHash = spyOn(w.core.store.apikeys, 'findByHash')
    expect((await w.request('PUT', `/apikey/${k.id}`, { key: w.alice.key, body: { name: 'renamed' } })).status).toBe(200)
    expect((await w.request('GET', '/apikey/verify', { key: k.key })).json.apikey.name).toBe('renamed')
    expect(findByHash).toHaveBeenCalled()
  })
})

describe('key writes forget only the key they change', () => {
  test('creating, changing, rotating or deleting one key leaves every other cached key in memory', async () => {
    const w = await seededWorld()
    const k = await w.aliceKey({ mode: 'all' })
    const verify = (key: string) => w.request('GET', '/apikey/verify', { key })
    for (const key of [k.key, w.alice.key, w.bob.key]) expect((await verify(key)).status).toBe(200)
    const findByHash = spyOn(w.core.store.apikeys, 'findByHash')
    const created = await w.request('POST', '/apikey/', { key: k.key, body: { name: 'new', mode: 'read' } })
    expect(created.status).toBe(201)
    const id = created.json.apikey.id
    expect((await w.request('PUT', `/apikey/${id}`, { key: k.key, body: { name: 'renamed' } })).status).toBe(200)
    const rotated = await w.request('POST', `/apikey/${id}/rotate`, { key: k.key })
    expect(rotated.status).toBe(201)
    expect((await w.request('DELETE', `/apikey/${rotated.json.apikey.id}`, { key: k.key })).status).toBe(200)
    for (const key of [k.key, w.alice.key, w.bob.key]) expect((await verify(key)).status).toBe(200)
    expect(findByHash).not.toHaveBeenCalled()
    // And the changed keys are seen as changed: the deleted one is gone, the rotated one expired.
    expect((await verify(rotated.json.apikey.key)).status).toBe(401)
    expect((await verify(created.json.apikey.key)).json.code).toBe('api_key_expired')
  })

  test('a key created with a hash remembered as absent is found by the very next lookup', async () => {
    const w = await seededWorld()
    const key = generateKey()
    const hash = hashKey(key)
    const lookup = () => w.core.readModel.keyByHash(hash)
    expect(await lookup()).toBeNull()
    const now = '2026-01-01T00:00:00.000Z'
    await w.core.store.write((tx) =>
      tx.apikeys.insert({
        user_id: w.alice.user.id, name: 'late', mode: 'read', limited_to_apps: [], limited_to_orgs: [], key_hash: hash,
        key_start: keyStart(key), created_at: now, updated_at: now, expires_at: null, enabled: true, rotated_from: null, rate_limit: null,
      }),
    )
    expect(JSON.parse((await lookup())!.verifiedJson()).apikey.name).toBe('late')
  })

  test('kept key lists are per caller reach and per query', async () => {
    const w = await seededWorld()
    const limited = await w.aliceKey({ mode: 'all', limited_to_orgs: [w.orgs.aliceMain] })
    const inOrg = await w.aliceKey({ mode: 'read', limited_to_orgs: [w.orgs.aliceMain] })
    const list = async (key: string, query = '') => (await w.request('GET', `/apikey/${query}`, { key })).json.data as { id: number; mode: string }[]
    const ids = (keys: { id: number }[]) => keys.map((x) => x.id)
    // Twice over: the second round is answered from the kept texts.
    for (let round = 0; round < 2; round++) {
      const all = await list(w.alice.key)
      const reached = ids(await list(limited.key))
      expect(reached.length).toBeLessThan(all.length)
      expect(reached).toEqual(expect.arrayContaining([limited.id, inOrg.id]))
      expect(ids(await list(w.alice.key, '?mode=read'))).toEqual(ids(all.filter((x) => x.mode === 'read')))
      expect(ids(await list(w.alice.key, '?limit=1'))).toEqual(ids(all).slice(0, 1))
      expect(ids(await list(w.alice.key, '?limit=1&page=1'))).toEqual(ids(all).slice(1, 2))
    }
  })

  test('a key list is fresh after each key write', async () => {
    const w = await seededWorld()
    const names = async () => ((await w.request('GET', '/apikey/', { key: w.alice.key })).json.data as { name: string }[]).map((x) => x.name)
    const before = await names()
    const created = await w.request('POST', '/apikey/', { key: w.alice.key, body: { name: 'listed', mode: 'read' } })
    expect(await names()).toEqual(['listed', ...before])
    await w.request('PUT', `/apikey/${created.json.apikey.id}`, { key: w.alice.key, body: { name: 'relisted' } })
    expect(await names()).toEqual(['relisted', ...before])
    await w.request('DELETE', `/apikey/${created.json.apikey.id}`, { key: w.alice.key })
    expect(await names()).toEqual(before)
  })
})

describe('keys nobody has', () => {
  test('a well-formed unknown key asked again and again reaches the database once, and gets its 401 each time', async () => {
    const w = await seededWorld()
    const unknown = generateKey()
    const findByHash = spyOn(w.core.store.apikeys, 'findByHash')
    for (let i = 0; i < 3; i++) {
      const answer = await w.request('GET', '/apikey/verify', { key: unknown })
      expect(answer.status).toBe(401)
      expect(answer.json.code).toBe('invalid_api_key')
    }
    expect(findByHash).toHaveBeenCalledTimes(1)
  })

  test('a deleted key is refused from the very next request on, and stays refused', async () => {
    const w = await seededWorld()
    const k = await w.aliceKey({ mode: 'read' })
    const deleted = await afterChange(w, k.key, () => w.request('DELETE', `/apikey/${k.id}`, { key: w.alice.key }))
    expect(deleted.status).toBe(401)
    expect((await w.request('GET', '/apikey/verify', { key: k.key })).status).toBe(401)
  })
})
