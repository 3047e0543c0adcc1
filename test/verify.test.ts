/** GET /apikey/verify, for other services and reverse proxies (SPEC §7). */
import { describe, expect, test } from 'bun:test'
import { seededWorld } from './helpers/world'

describe('GET /apikey/verify', () => {
  test('200 with the masked key and the x-codepushgo-* headers', async () => {
    const w = await seededWorld()
    const k = await w.aliceKey({ name: 'deploy', mode: 'upload', limited_to_apps: [w.apps.aliceOne] })
    const res = await w.request('GET', `/apikey/verify?mode=upload&app_id=${w.apps.aliceOne}`, { key: k.key })
    expect(res.status).toBe(200)
    expect(res.json).toMatchObject({ valid: true, apikey: { id: k.id, mode: 'upload', name: 'deploy', key: `${k.key.slice(0, 8)}...` } })
    expect(res.text).not.toContain(k.key)
    expect(res.headers.get('x-codepushgo-user-id')).toBe(w.alice.user.id)
    expect(res.headers.get('x-codepushgo-key-id')).toBe(String(k.id))
    expect(res.headers.get('x-codepushgo-key-mode')).toBe('upload')
  })

  test.each([
    // [key settings, query, status]
    [{ mode: 'read' }, '', 200],
    [{ mode: 'read' }, '?mode=read', 200],
    [{ mode: 'read' }, '?mode=upload', 403],
    [{ mode: 'upload' }, '?mode=upload', 200],
    [{ mode: 'write' }, '?mode=all', 403],
    [{ mode: 'all' }, '?mode=all&app_id=com.alice.one', 200],
    [{ mode: 'all', limited_to_apps: ['com.alice.one'] }, '?app_id=com.alice.two', 403],
    [{ mode: 'all', limited_to_orgs: ['ORG_SIDE'] }, '?app_id=com.alice.one', 403],
    [{ mode: 'all' }, '?app_id=com.bob.one', 403],
    [{ mode: 'all' }, '?app_id=com.nowhere.app', 403],
    [{ mode: 'all' }, '?org_id=ORG_MAIN', 200],
    [{ mode: 'all' }, '?org_id=org_nowhere0000000', 403],
    [{ mode: 'all' }, '?org_id=ORG_SIDE&app_id=com.alice.one', 403],
    [{ mode: 'all' }, '?org_id=ORG_MAIN&app_id=com.alice.one', 200],
    [{ mode: 'all' }, '?mode=admin', 400],
    // Behind nginx anything but 2xx/401/403 becomes a 500: odd ids are simply not granted.
    [{ mode: 'all' }, `?app_id=com.${'x'.repeat(5000)}`, 403],
    [{ mode: 'all' }, `?org_id=${'%00'.repeat(300)}`, 403],
  ] as const)('a key %j asking %s → %i (never 404)', async (settings, query, status) => {
    const w = await seededWorld()
    const fill = (s: string) => s.replace('ORG_SIDE', w.orgs.aliceSide).replace('ORG_MAIN', w.orgs.aliceMain)
    const k = await w.aliceKey({ ...settings, limited_to_orgs: (settings as { limited_to_orgs?: string[] }).limited_to_orgs?.map(fill) })
    const res = await w.request('GET', `/apikey/verify${fill(query)}`, { key: k.key })
    expect(res.status).toBe(status)
    if (status === 403) expect(res.json).toEqual({ error: 'The API key does not grant this access', status: 'KO', code: 'insufficient_permissions' })
    if (status !== 200) expect(res.headers.get('x-codepushgo-user-id')).toBeNull()
  })

  test('missing, bad and revoked keys → 401', async () => {
    const w = await seededWorld()
    const k = await w.aliceKey({ mode: 'read' })
    await w.request('DELETE', `/apikey/${k.id}`, { key: w.alice.key })
    for (const key of [null, 'nope', k.key]) {
      const res = await w.request('GET', '/apikey/verify', { key })
      expect(res.status).toBe(401)
    }
  })

  test('a member with a read role cannot verify upload on the org\'s apps, even with an upload key', async () => {
    const w = await seededWorld()
    await w.request('POST', `/organization/${w.orgs.aliceMain}/members`, { key: w.alice.key, body: { email: 'bob@example.com', role: 'read' } })
    const bobUpload = (await w.request('POST', '/apikey/', { key: w.bob.key, body: { name: 'u', mode: 'upload' } })).json.apikey.key
    expect((await w.request('GET', `/apikey/verify?mode=read&app_id=${w.apps.aliceOne}`, { key: bobUpload })).status).toBe(200)
    expect((await w.request('GET', `/apikey/verify?mode=upload&app_id=${w.apps.aliceOne}`, { key: bobUpload })).status).toBe(403)
    expect((await w.request('GET', `/apikey/verify?mode=upload&app_id=${w.apps.bobOne}`, { key: bobUpload })).status).toBe(200)
  })

  test('asked about an org or app, the mode (header and body) is the effective one there: the lower of the key\'s mode and the role', async () => {
    const w = await seededWorld()
    await w.request('POST', `/organization/${w.orgs.aliceMain}/members`, { key: w.alice.key, body: { email: 'bob@example.com', role: 'read' } })
    const bobAll = w.bob.key
    const cases = [
      [`?mode=read&app_id=${w.apps.aliceOne}`, 'read'],
      [`?org_id=${w.orgs.aliceMain}`, 'read'],
      [`?app_id=${w.apps.bobOne}`, 'all'],
      ['', 'all'],
    ] as const
    for (const [query, mode] of cases) {
      const res = await w.request('GET', `/apikey/verify${query}`, { key: bobAll })
      expect(res.status).toBe(200)
      expect(res.headers.get('x-codepushgo-key-mode')).toBe(mode)
      expect(res.json.apikey.mode).toBe(mode)
    }
    // The key itself is unchanged: its own view still says all.
    expect((await w.request('GET', `/apikey/${w.bob.keyId}`, { key: bobAll })).json.apikey.mode).toBe('all')
  })
})
