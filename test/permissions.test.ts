/**
 * The permission truth table (SPEC §6): every route × key mode × member role × limited_to_orgs
 * (none / this org / other org) × limited_to_apps (none / this app / other app). The expected
 * outcome comes from `expected()`, a compact restatement of the five rules — not from the code
 * under test — and every request of a cell sees the same world: after one that committed
 * anything, the next gets a fresh one.
 */
import { describe, expect, test } from 'bun:test'
import { MODES, modeAtLeast, type Mode } from '../src/access/modes'
import { issueKey } from '../src/modules/apikey/service'
import { registerApp } from '../src/modules/app/service'
import { createOrganization } from '../src/modules/organization/service'
import { testServer } from './helpers/app'
import { written } from './helpers/world'
import type { Actor } from '../src/core'

type Limit = 'none' | 'this' | 'other'
type Scope = 'org' | 'app' | 'keys' | 'unlimited'
interface Route {
  method: string
  path: string
  body?: unknown
  need: Mode
  scope: Scope
  /** verify answers 403 where other routes answer 404; lists answer 200 and omit; a grant inherits the caller's limits. */
  kind?: 'verify' | 'list' | 'grant'
}

/** The world: the caller's user `u` has `role` in org `this` (apps this.app, this.other); `u` owns org `other` (app other.app). */
async function world(role: Mode, mode: Mode, orgLimit: Limit, appLimit: Limit) {
  const server = testServer()
  const { core } = server
  const now = core.clock.now().toISOString()
  const actor = (userId: string): Actor => ({ userId, keyId: null, ip: null, userAgent: null })
  const { key, thisOrg } = await written(core, async (tx) => {
    for (const [id, email] of [['usr_u', 'u@example.com'], ['usr_owner', 'owner@example.com'], ['usr_member', 'member@example.com'], ['usr_new', 'new@example.com']]) {
      await tx.users.insert({ id: id!, email: email!, name: 'n', created_at: now })
    }
    const thisOrg = (await createOrganization(core, tx, actor('usr_owner'), { name: 'this' })).id
    const otherOrg = (await createOrganization(core, tx, actor('usr_u'), { name: 'other' })).id
    await tx.orgs.addMember({ org_id: thisOrg, user_id: 'usr_u', role, created_at: now })
    await tx.orgs.addMember({ org_id: thisOrg, user_id: 'usr_member', role: 'read', created_at: now })
    await registerApp(core, tx, actor('usr_owner'), { app_id: 'com.this.app', name: 'a', org_id: thisOrg })
    await registerApp(core, tx, actor('usr_owner'), { app_id: 'com.this.other', name: 'a', org_id: thisOrg })
    await registerApp(core, tx, actor('usr_u'), { app_id: 'com.other.app', name: 'a', org_id: otherOrg })
    const orgs = { none: [], this: [thisOrg], other: [otherOrg] }[orgLimit]
    const apps = { none: [], this: ['com.this.app'], other: ['com.this.other'] }[appLimit]
    const { key } = await issueKey(core, tx, 'usr_u', { name: 'k', mode, limited_to_orgs: orgs, limited_to_apps: apps, expires_at: null })
    return { key, thisOrg }
  })
  return { ...server, key, thisOrg }
}

type World = Awaited<ReturnType<typeof world>>

function routes(thisOrg: string): Route[] {
  const org = `/organization/${thisOrg}`
  const verify = MODES.flatMap((mode): Route[] => [
    { method: 'GET', path: `/apikey/verify?mode=${mode}&app_id=com.this.app`, need: mode, scope: 'app', kind: 'verify' },
    { method: 'GET', path: `/apikey/verify?mode=${mode}&org_id=${thisOrg}`, need: mode, scope: 'org', kind: 'verify' },
  ])
  return [
    { method: 'GET', path: '/organization/', need: 'read', scope: 'org', kind: 'list' },
    { method: 'GET', path: org, need: 'read', scope: 'org' },
    { method: 'PUT', path: org, body: { name: 'renamed' }, need: 'write', scope: 'org' },
    { method: 'DELETE', path: org, need: 'all', scope: 'org' },
    { method: 'GET', path: `${org}/members`, need: 'read', scope: 'org' },
    { method: 'POST', path: `${org}/members`, body: { email: 'new@example.com', role: 'read' }, need: 'all', scope: 'org' },
    { method: 'PUT', path: `${org}/members/usr_member`, body: { role: 'upload' }, need: 'all', scope: 'org' },
    { method: 'DELETE', path: `${org}/members/usr_member`, need: 'all', scope: 'org' },
    { method: 'POST', path: '/app/', body: { app_id: 'com.this.new', name: 'n', org_id: thisOrg }, need: 'write', scope: 'org' },
    { method: 'GET', path: '/app/', need: 'read', scope: 'app', kind: 'list' },
    { method: 'GET', path: '/app/com.this.app', need: 'read', scope: 'app' },
    { method: 'PUT', path: '/app/com.this.app', body: { name: 'renamed' }, need: 'write', scope: 'app' },
    { method: 'DELETE', path: '/app/com.this.app', need: 'all', scope: 'app' },
    { method: 'POST', path: '/organization/', body: { name: 'new' }, need: 'all', scope: 'unlimited' },
    { method: 'GET', path: '/apikey/', need: 'all', scope: 'keys' },
    { method: 'POST', path: '/apikey/', body: { name: 'n', mode: 'read' }, need: 'all', scope: 'keys', kind: 'grant' },
    ...verify,
  ]
}

/** The five rules, restated: 'allow', 403 or 404 for one cell of the table. */
function expected(route: Route, mode: Mode, role: Mode, orgLimit: Limit, appLimit: Limit): 'allow' | 400 | 403 | 404 {
  // Rule 2: the key's mode, whatever the target.
  if (!modeAtLeast(mode, route.need)) return 403
  // A new key inherits the caller's limits, which must name apps inside its orgs: a key
  // limited to the other org and to apps of this one can hand out nothing valid.
  if (route.kind === 'grant' && orgLimit === 'other' && appLimit !== 'none') return 400
  if (route.scope === 'keys') return 'allow'
  if (route.scope === 'unlimited') return orgLimit === 'none' && appLimit === 'none' ? 'allow' : 403
  // Rule 3: an org outside limited_to_orgs is out of reach.
  if (orgLimit === 'other') return 404
  // Rule 4: an app-limited key reaches only its apps; org-level things are refused (both
  // limited apps live in this org, so the org itself is visible to it).
  if (appLimit !== 'none' && route.scope === 'app' && appLimit === 'other') return 404
  if (appLimit !== 'none' && route.scope === 'org') return 403
  // Rule 5: the user's role in the org.
  if (!modeAtLeast(role, route.need)) return 403
  return 'allow'
}

/** What the server did, in the table's terms. */
async function outcome(w: World, route: Route): Promise<'allow' | 'omitted' | number> {
  const res = await w.request(route.method, route.path, { key: w.key, body: route.body })
  expect(res.status).toBeLessThan(500)
  if (route.kind === 'list') {
    if (res.status !== 200) return res.status
    const ids = res.json.data.map((item: { id?: string; app_id?: string }) => item.id ?? item.app_id)
    return ids.includes(route.scope === 'org' ? w.thisOrg : 'com.this.app') ? 'allow' : 'omitted'
  }
  return res.status < 300 ? 'allow' : res.status
}

const LIMITS: Limit[] = ['none', 'this', 'other']
const cells = MODES.flatMap((mode) => MODES.flatMap((role) => LIMITS.flatMap((orgs) => LIMITS.map((apps) => [mode, role, orgs, apps] as const))))

describe('permission truth table', () => {
  test.each(cells)('key mode %s, role %s, limited_to_orgs %s, limited_to_apps %s', async (mode, role, orgLimit, appLimit) => {
    let w = await world(role, mode, orgLimit, appLimit)
    const mismatches: string[] = []
    for (let i = 0, count = routes('').length; i < count; i++) {
      const route = routes(w.thisOrg)[i]!
      let want: 'allow' | 'omitted' | number = expected(route, mode, role, orgLimit, appLimit)
      // verify never answers 404 (proxies do not understand it); a list leaves out what is denied.
      if (route.kind === 'verify' && want === 404) want = 403
      if (route.kind === 'list' && want !== 'allow') want = 'omitted'
      const commits = w.store.commits
      const got = await outcome(w, route)
      if (w.store.commits !== commits) w = await world(role, mode, orgLimit, appLimit)
      if (got !== want) mismatches.push(`${route.method} ${route.path}: expected ${want}, got ${got}`)
    }
    expect(mismatches).toEqual([])
  })

  test('the table is not vacuous: it holds allows, 403s and 404s', () => {
    const seen = new Set(cells.flatMap(([mode, role, o, a]) => routes('org').map((r) => expected(r, mode, role, o, a))))
    expect([...seen].sort()).toEqual([400, 403, 404, 'allow'])
  })
})
