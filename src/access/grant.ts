/**
 * The rule book of key writes (SPEC §6 attenuation, §6a policies): what a key may make or
 * leave of another key. Asked the same question by every write path — POST, PUT, rotate and
 * the CLI — with the key as the write would leave it. Pure: the caller gathers the facts.
 */
import { AppError, alreadyRotated, conflict, forbidden, invalidExpiresAt } from '../errors'
import { policyBreach, effectiveExpiry, type LifetimePolicy } from './lifetime'
import { modeAtLeast, type Mode } from './modes'
import { withinRate, withinReach } from './policy'
import type { KeyLimits, Principal } from './principal'
import type { RateLimit } from './rate-limit'

/** A key's terms: what it may do and for how long. */
export interface KeyTerms extends KeyLimits {
  mode: Mode
  /** Its own expiry, as stored (policies may end it earlier). */
  expires_at: string | null
  /** Its own rate limit; null: the server default applies. */
  rate_limit: RateLimit | null
  enabled: boolean
  created_at: string
}

/** A key as it is before a change, with what only an existing key has. */
export interface ExistingKey extends KeyTerms {
  /** The key that replaced it by rotation, if any (set once, never cleared). */
  successor_id: number | null
}

/** What a write would do: make a key (`before` absent) or change one. */
export interface KeyWrite {
  before?: ExistingKey
  after: KeyTerms
}

/** Who hands a key out: an API key (a Principal), or the operator at the CLI (no limits). */
export type Granter = Pick<Principal, 'mode' | 'limits' | 'memberships' | 'rateLimit' | 'expiresAt'>

/** The operator at the CLI: the user's full power, no key to attenuate from. */
export function operatorGranter(memberships: Principal['memberships']): Granter {
  return { mode: 'all', limits: { limited_to_apps: [], limited_to_orgs: [] }, memberships, rateLimit: null, expiresAt: null }
}

/** The facts the rules need beyond the caller and the key. */
export interface GrantFacts {
  now: Date
  /** The org of each app named in `after.limited_to_apps` that exists. */
  appOrgs: ReadonlyMap<string, string>
  /** The rate limit of keys without their own (--key-rate-limit); null: none. */
  defaultRateLimit: RateLimit | null
  /** Every policy that governs a key with `after`'s limits: the server's, its orgs'. */
  policies: readonly LifetimePolicy[]
}

/**
 * Throws what the write may not do, in this order: limits naming what the caller cannot see
 * (400), a grant beyond the caller's reach, mode or rate (403), a life beyond the caller's or a
 * policy's (400), bringing back a rotated-away or expired key (409).
 *
 * A change that only takes away (a rename, disabling, a lower mode, narrower limits, an earlier
 * expiry, a tighter rate) is no grant: a key may do it to any key within its reach. Any other
 * change, and any new key, must leave the key within the caller's bounds in every dimension.
 */
export function checkKeyWrite(caller: Granter, write: KeyWrite, facts: GrantFacts): void {
  const { before, after } = write
  const rescoped = before === undefined || !sameLimits(before, after)
  if (rescoped) checkLimitsExist(caller, after, facts.appOrgs)

  if (before === undefined || grants(before, after, facts.defaultRateLimit)) {
    const afterRate = after.rate_limit ?? facts.defaultRateLimit
    if (!withinReach(caller.limits, after) || !modeAtLeast(caller.mode, after.mode) || !withinRate(caller.rateLimit, afterRate))
      throw forbidden()
    const life = effectiveExpiry(after.expires_at, after.created_at, facts.policies)
    if (caller.expiresAt !== null && (life === null || life > caller.expiresAt))
      throw invalidExpiresAt(`expires_at must not be later than the expiry of the calling key (${caller.expiresAt})`)
  }

  // The policies judge every expiry a write sets, and every key it brings under them.
  if (rescoped || before.expires_at !== after.expires_at) {
    for (const policy of facts.policies) {
      const breach = policyBreach(policy, after.expires_at, after.created_at)
      if (breach !== null) throw invalidExpiresAt(breach)
    }
  }

  if (before !== undefined && later(after.expires_at, before.expires_at)) {
    if (before.successor_id !== null) throw alreadyRotated(before.successor_id, 'its expiry cannot be moved past the end of its grace period')
    const life = effectiveExpiry(before.expires_at, before.created_at, facts.policies)
    if (life !== null && Date.parse(life) <= facts.now.getTime()) throw conflict('The API key has expired and cannot be brought back; create a new one instead')
  }
}

/** Whether `after` has anything `before` had not: a higher mode, enabled, wider limits, a later expiry or a looser rate. */
function grants(before: KeyTerms, after: KeyTerms, defaultRate: RateLimit | null): boolean {
  return (
    !modeAtLeast(before.mode, after.mode) ||
    (after.enabled && !before.enabled) ||
    !withinReach(before, after) ||
    later(after.expires_at, before.expires_at) ||
    !withinRate(before.rate_limit ?? defaultRate, after.rate_limit ?? defaultRate)
  )
}

/** True when `a` ends after `b` (null: never ends). */
function later(a: string | null, b: string | null): boolean {
  if (a === null) return b !== null
  return b !== null && a > b
}

function sameLimits(a: KeyLimits, b: KeyLimits): boolean {
  const same = (x: readonly string[], y: readonly string[]) => x.length === y.length && x.every((id, i) => id === y[i])
  return same(a.limited_to_apps, b.limited_to_apps) && same(a.limited_to_orgs, b.limited_to_orgs)
}

/**
 * `limited_to_orgs` must name orgs the user belongs to within the caller's org limit;
 * `limited_to_apps` apps of those orgs (inside `limited_to_orgs` when both are given) within
 * the caller's app limit. Unknown, foreign and out-of-reach ids get one and the same 400, so a
 * limited key learns nothing of what lies beyond its reach.
 */
function checkLimitsExist(caller: Granter, after: KeyLimits, appOrgs: ReadonlyMap<string, string>): void {
  const callerOrgs = caller.limits.limited_to_orgs
  const callerApps = caller.limits.limited_to_apps
  const visibleOrg = (org: string) => caller.memberships.has(org) && (callerOrgs.length === 0 || callerOrgs.includes(org))
  const badOrgs = after.limited_to_orgs.filter((org) => !visibleOrg(org))
  if (badOrgs.length > 0)
    throw new AppError(400, 'invalid_limited_to_orgs', `limited_to_orgs names unknown or foreign orgs: ${badOrgs.join(', ')}`)
  const orgs = after.limited_to_orgs
  const badApps = after.limited_to_apps.filter((appId) => {
    const org = appOrgs.get(appId)
    return org === undefined || !visibleOrg(org) || (callerApps.length > 0 && !callerApps.includes(appId)) || (orgs.length > 0 && !orgs.includes(org))
  })
  if (badApps.length > 0)
    throw new AppError(
      400,
      'invalid_limited_to_apps',
      `limited_to_apps names unknown or foreign apps${orgs.length > 0 ? ' (or apps outside limited_to_orgs)' : ''}: ${badApps.join(', ')}`,
    )
}
