/**
 * What identifies users and apps, and how long names may be (SPEC §3, §7): emails compare
 * case-insensitively beyond ASCII (NFC, then Unicode case folding); app ids are reverse-domain
 * labels, unique and retired case-insensitively; name limits count characters, not UTF-16 units.
 */
import { describe, expect, test } from 'bun:test'
import { createUser } from '../src/modules/user/service'
import { emailKey } from '../src/validation'
import { scenarioTable } from './helpers/scenario'
import { seededWorld } from './helpers/world'

describe('emails', () => {
  test.each([
    ['Émile@example.com', 'émile@example.com'],
    ['Émile@example.com', 'E\u0301mile@example.com'],
    ['STRASSE@example.com', 'straße@example.com'],
    ['STRAẞE@example.com', 'strasse@example.com'],
    ['ΟΔΟΣ@example.com', 'οδος@example.com'],
    ['ΟΔΟΣ@example.com', 'οδοσ@example.com'],
    ['Carol@Example.COM', 'carol@example.com'],
  ])('%s and %s are one user', async (first, second) => {
    expect(emailKey(first)).toBe(emailKey(second))
    const w = await seededWorld()
    await createUser(w.core, { email: first })
    await expect(createUser(w.core, { email: second })).rejects.toThrow(/already exists/)
    expect((await w.core.store.users.findByEmail(second))?.email).toBe(first)
  })

  test.each([['dılan@example.com', 'dilan@example.com']])('%s and %s are two users (no Turkic folding)', async (first, second) => {
    const w = await seededWorld()
    await createUser(w.core, { email: first })
    await createUser(w.core, { email: second })
    expect((await w.core.store.users.findByEmail(first))?.email).toBe(first)
    expect((await w.core.store.users.findByEmail(second.toUpperCase()))?.email).toBe(second)
  })

  test('folding is idempotent', () => {
    for (const email of ['STRAẞE@x', 'İstanbul@x', 'ΟΔΟΣ@x', 'ﬀ@x', 'ǰ@x', 'Ǆ@x']) expect(emailKey(emailKey(email))).toBe(emailKey(email))
  })

  test('members are added by their email in any case', async () => {
    const w = await seededWorld()
    await createUser(w.core, { email: 'Émile@example.com' })
    const res = await w.request('POST', `/organization/${w.orgs.aliceMain}/members`, { key: w.alice.key, body: { email: 'ÉMILE@EXAMPLE.COM', role: 'read' } })
    expect(res.status).toBe(201)
    expect(res.json.member.email).toBe('Émile@example.com')
  })
})

const app = (app_id: string) => ({ app_id, name: 'A', org_id: 'ORG' })

describe('app ids', () => {
  const world = async () => {
    const w = await seededWorld()
    return { ...w, request: (method: string, path: string, options: { key?: string | null; body?: unknown } = {}) => {
      const body = options.body as { org_id?: string } | undefined
      return w.request(method, path, { ...options, body: body?.org_id === 'ORG' ? { ...body, org_id: w.orgs.aliceMain } : body })
    } }
  }
  scenarioTable(world, [
    ...['...', 'a..b', '.a.b', 'a.b.', 'ab', 'a', 'com', 'com..app', 'com.app!', `com.${'x'.repeat(125)}`].map((id) => ({
      name: `${JSON.stringify(id.length > 20 ? `${id.slice(0, 12)}…(${id.length})` : id)} is refused`,
      method: 'POST', path: '/app/', key: (w: Awaited<ReturnType<typeof world>>) => w.alice.key, body: app(id), status: 400, code: 'validation_error', unchanged: true,
    })),
    ...['a.b', 'com.demo.app', 'io.x_y.z-1', `com.${'x'.repeat(124)}`].map((id) => ({
      name: `${JSON.stringify(id.length > 20 ? `${id.slice(0, 12)}…(${id.length})` : id)} is taken`,
      method: 'POST', path: '/app/', key: (w: Awaited<ReturnType<typeof world>>) => w.alice.key, body: app(id), status: 201,
    })),
    {
      name: 'an id taken in another case → 409', method: 'POST', path: '/app/', key: (w) => w.alice.key, body: app('COM.Alice.One'),
      status: 409, code: 'conflict', unchanged: true, contains: ['com.alice.one'],
    },
  ])

  test('the id of a deleted app cannot come back in another case', async () => {
    const w = await seededWorld()
    await w.request('DELETE', `/app/${w.apps.aliceTwo}`, { key: w.alice.key })
    const before = (await w.snapshot())
    const res = await w.request('POST', '/app/', { key: w.alice.key, body: { app_id: 'Com.Alice.TWO', name: 'A', org_id: w.orgs.aliceMain } })
    expect(res.status).toBe(409)
    expect((await w.snapshot())).toBe(before)
  })
})

describe('names count characters, not UTF-16 units', () => {
  scenarioTable(seededWorld, [
    { name: '100 emoji are 100 characters', method: 'POST', path: '/apikey/', key: (w) => w.alice.key, body: { name: '🚀'.repeat(100), mode: 'read' }, status: 201 },
    { name: '101 emoji are too many', method: 'POST', path: '/apikey/', key: (w) => w.alice.key, body: { name: '🚀'.repeat(101), mode: 'read' }, status: 400, code: 'validation_error', unchanged: true },
    { name: 'an org name of 100 emoji', method: 'POST', path: '/organization/', key: (w) => w.alice.key, body: { name: '𝄞'.repeat(100) }, status: 201 },
  ])
})

describe('deleting an org', () => {
  test('writes an audit event for each app it takes with it', async () => {
    const w = await seededWorld()
    await w.request('DELETE', `/organization/${w.orgs.aliceMain}`, { key: w.alice.key })
    const events = (await w.request('GET', '/audit/', { key: w.alice.key })).json.data
    expect(events[0]).toMatchObject({ action: 'organization.delete', target_id: w.orgs.aliceMain })
    const appDeletes = events.filter((e: { action: string }) => e.action === 'app.delete').map((e: { target_id: string; details: unknown }) => [e.target_id, e.details])
    expect(appDeletes).toEqual(
      expect.arrayContaining([
        [w.apps.aliceOne, { name: 'One', org_id: w.orgs.aliceMain, with_organization: true }],
        [w.apps.aliceTwo, { name: 'Two', org_id: w.orgs.aliceMain, with_organization: true }],
      ]),
    )
    expect(appDeletes).toHaveLength(2)
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
