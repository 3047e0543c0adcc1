/** The access model (SPEC §6) as a function: every rule, allow and deny. */
import { describe, expect, test } from 'bun:test'
import type { Mode } from '../src/access/modes'
import { authorize, isAllowed, withinReach, type Need } from '../src/access/policy'
import type { Principal } from '../src/access/principal'
import { AppError } from '../src/errors'

/** Apps a1, a2 live in org o1; a3 in o2. */
const APP_ORGS: Record<string, string> = { a1: 'o1', a2: 'o1', a3: 'o2' }

function principal(mode: Mode, limits: { apps?: string[]; orgs?: string[] } = {}, roles: Record<string, Mode> = { o1: 'all', o2: 'all' }): Principal {
  const apps = limits.apps ?? []
  return {
    keyId: 1, userId: 'usr_a', mode, expiresAt: null, expiresAtMs: Number.POSITIVE_INFINITY, rateLimit: null, ownRateLimit: null,
    limits: { limited_to_apps: apps, limited_to_orgs: limits.orgs ?? [] },
    memberships: new Map(Object.entries(roles)),
    appOrgs: new Map(apps.map((app) => [app, APP_ORGS[app]!])),
  }
}

/** 'allow', or the status authorize throws. */
function statusOf(p: Principal, need: Need): 'allow' | number {
  try {
    authorize(p, need)
    return 'allow'
  } catch (error) {
    return (error as AppError).status
  }
}

describe('authorize', () => {
  test.each([
    ['read', 'read', 'allow'], ['read', 'upload', 403], ['upload', 'upload', 'allow'], ['upload', 'write', 403],
    ['write', 'write', 'allow'], ['write', 'all', 403], ['all', 'all', 'allow'], ['all', 'read', 'allow'],
  ] as const)('rule 2: a %s key, needing %s → %p', (held, needed, expected) => {
    expect(statusOf(principal(held), { mode: needed, on: 'org', orgId: 'o1' })).toBe(expected)
    expect(statusOf(principal(held), { mode: needed, on: 'any' })).toBe(expected)
  })

  test('key management needs all', () => {
    expect(statusOf(principal('write'), { mode: 'all', on: 'keys' })).toBe(403)
    expect(statusOf(principal('all', { apps: ['a1'] }), { mode: 'all', on: 'keys' })).toBe('allow')
  })

  test.each([
    // [key limits, need, expected]
    [{}, { on: 'org', orgId: 'o1' }, 'allow'],
    [{ orgs: ['o1'] }, { on: 'org', orgId: 'o1' }, 'allow'],
    [{ orgs: ['o1'] }, { on: 'org', orgId: 'o2' }, 404], // rule 3
    [{}, { on: 'org', orgId: 'o9' }, 404], // not a member
    [{ apps: ['a1'] }, { on: 'org', orgId: 'o1' }, 403], // rule 4: nothing org-level…
    [{ apps: ['a1'] }, { on: 'org', orgId: 'o2' }, 404], // …and an org without its apps is beyond reach
    [{ apps: ['a1'] }, { on: 'app', orgId: 'o1', appId: 'a1' }, 'allow'],
    [{ apps: ['a1'] }, { on: 'app', orgId: 'o1', appId: 'a2' }, 404], // rule 4
    [{ orgs: ['o2'] }, { on: 'app', orgId: 'o1', appId: 'a1' }, 404], // rule 3 on an app
  ] as const)('rules 3-4: limits %j, %j → %p', (limits, need, expected) => {
    expect(statusOf(principal('all', limits as { apps?: string[]; orgs?: string[] }), { mode: 'read', ...need } as Need)).toBe(expected)
  })

  test('rule 5: a key never exceeds its user\'s role in the org', () => {
    const p = principal('all', {}, { o1: 'upload' })
    expect(statusOf(p, { mode: 'upload', on: 'org', orgId: 'o1' })).toBe('allow')
    expect(statusOf(p, { mode: 'write', on: 'org', orgId: 'o1' })).toBe(403)
    expect(statusOf(p, { mode: 'read', on: 'app', orgId: 'o1', appId: 'a1' })).toBe('allow')
  })

  test('a key of another user is 404, whatever it looks like', () => {
    const key = { user_id: 'usr_b', limited_to_apps: [], limited_to_orgs: [] }
    expect(statusOf(principal('all'), { mode: 'all', on: 'key', key })).toBe(404)
    expect(statusOf(principal('all'), { mode: 'all', on: 'key', key: { ...key, user_id: 'usr_a' } })).toBe('allow')
  })

  // The principal is key 1 of usr_a; `undefined`: asked before the key is read.
  const own = { user_id: 'usr_a', limited_to_apps: ['a1'], limited_to_orgs: [] }
  const sibling = { user_id: 'usr_a', limited_to_apps: [], limited_to_orgs: [] }
  test.each([
    ['a read key, itself, before reading it', 'allow', principal('read', { apps: ['a1'] }), 1, undefined],
    ['a read key, itself', 'allow', principal('read', { apps: ['a1'] }), 1, own],
    ['a write key, itself', 'allow', principal('write'), 1, { ...own, limited_to_apps: [] }],
    ['a read key, another id, before reading it', 403, principal('read'), 2, undefined],
    ['a read key, a sibling', 403, principal('read'), 2, sibling],
    ['a read key, no such key', 403, principal('read'), 2, null],
    ['an all key, another id, before reading it', 'allow', principal('all'), 2, undefined],
    ['an all key, a sibling', 'allow', principal('all'), 2, sibling],
    ['an all key limited to a1, an unlimited sibling', 404, principal('all', { apps: ['a1'] }), 2, sibling],
    ['an all key, another user\'s key', 404, principal('all'), 2, { ...sibling, user_id: 'usr_b' }],
    ['an all key, no such key', 404, principal('all'), 2, null],
  ] as const)('revoke: %s → %p', (_, expected, p, keyId, key) => {
    expect(statusOf(p, { mode: 'all', on: 'revoke', keyId, key })).toBe(expected)
  })

  test('isAllowed mirrors authorize', () => {
    expect(isAllowed(principal('read'), { mode: 'all', on: 'keys' })).toBe(false)
    expect(isAllowed(principal('all'), { mode: 'all', on: 'keys' })).toBe(true)
  })

  test('only an unlimited key may do what needs one', () => {
    expect(statusOf(principal('all'), { mode: 'all', on: 'unlimited' })).toBe('allow')
    expect(statusOf(principal('all', { orgs: ['o1'] }), { mode: 'all', on: 'unlimited' })).toBe(403)
    expect(statusOf(principal('all', { apps: ['a1'] }), { mode: 'all', on: 'unlimited' })).toBe(403)
  })
})

describe('withinReach (attenuation)', () => {
  const L = (apps: string[], orgs: string[]) => ({ limited_to_apps: apps, limited_to_orgs: orgs })
  test.each([
    [L([], []), L([], []), true],
    [L([], []), L(['a'], ['o']), true],
    [L(['a'], []), L(['a'], []), true],
    [L(['a', 'b'], []), L(['b'], ['o']), true],
    [L(['a'], []), L([], []), false], // unlimited is wider
    [L(['a'], []), L(['a', 'b'], []), false],
    [L([], ['o']), L(['a'], []), false], // limited in apps only, but the caller is org-limited
    [L([], ['o']), L([], ['o']), true],
    [L([], ['o']), L([], ['o', 'p']), false],
  ])('caller %j, target %j → %p', (caller, target, expected) => expect(withinReach(caller, target)).toBe(expected))
})
