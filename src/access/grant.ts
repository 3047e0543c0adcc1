/**
 * The rule book of key writes (SPEC §6 attenuation, §6a policies): what a key may make or
 * leave of another key. Asked the same question by every write path — POST, PUT, rotate and
 * the CLI — with the key as the write would leave it. Pure: the caller gathers the facts.
 */
import { alreadyRotated, conflict, forbidden, invalidExpiresAt, invalidLimitedToApps, invalidLimitedToOrgs } from '../errors'
import { effectiveExpiry, policyBreach, policyName, type LifetimePolicy } from './lifetime'
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
  /** Set when the key has been rotated: its successor's id, or null when the caller may not see it. */
  rotated: { successor: number | null } | null
}

/** What a write would do: make a key (`before` absent) or change one. */
export interface KeyWrite {
  before?: ExistingKey
  after: KeyTerms
  /** Limits the key takes as they are (from the key it replaces by rotation): not judged again. */
  inherited?: KeyLimits
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
  /** The org of each existing app named in `after.limited_to_apps`. */
  appOrgs: ReadonlyMap<string, string>
  /** The rate limit of keys without their own (--key-rate-limit); null: none. */
  defaultRateLimit: RateLimit | null
  /** Every policy (ever in force) that governs a key with `after`'s limits, and with `before`'s. */
  policies: { after: readonly LifetimePolicy[]; before: readonly LifetimePolicy[] }
}

/**
 * Throws what the write may not do, in this order: limits naming what the caller cannot see
 * (400), bringing back a rotated-away or expired key (409), a grant beyond the caller's reach,
 * mode or rate (403), a life beyond the caller's or a policy's (400).
 *
 * A change that only takes away (a rename, disabling, a lower mode, narrower limits, an earlier
 * effective expiry, a tighter rate) is no grant: a key may do it to any key within its reach.
 * Any other change, and any new key, must leave the key within the caller's bounds in every
 * dimension. Expiries compare as effective (the policies that govern the key included), so
 * moving a key out from under a policy is a grant like any later expiry.
 */
export function checkKeyWrite(caller: Granter, write: KeyWrite, facts: GrantFacts): void {
  const { before, after, inherited } = write
  const rescoped = before === undefined || !sameLimits(before, after)
  if (rescoped) checkLimitsExist(caller, after, facts.appOrgs, inherited ?? before)

  const lifeAfter = effectiveExpiry(after.expires_at, after.created_at, facts.policies.after)
  const lifeBefore = before === undefined ? null : effectiveExpiry(before.expires_at, before.created_at, facts.policies.before)
  const longer = before !== undefined && later(lifeAfter, lifeBefore)
  if (before !== undefined && longer) {
    if (before.rotated !== null) throw alreadyRotated(before.rotated.successor, 'its expiry cannot be moved past the end of its grace period')
    if (lifeBefore !== null && Date.parse(lifeBefore) <= facts.now.getTime())
      throw conflict('The API key has expired and cannot be brought back; create a new one instead')
  }

  if (before === undefined || longer || grants(before, after, facts.defaultRateLimit)) {
    if (!withinReach(caller.limits, after) || !modeAtLeast(caller.mode, after.mode) || !withinRate(caller.rateLimit, after.rate_limit ?? facts.defaultRateLimit))
      throw forbidden()
    if (caller.expiresAt !== null && (lifeAfter === null || lifeAfter > caller.expiresAt))
      throw invalidExpiresAt(`expires_at must not be later than the expiry of the calling key (${caller.expiresAt})`)
  }

  // The policies in force judge every expiry a write moves later, and every key they newly govern.
  const judged = (before === undefined || later(after.expires_at, before.expires_at))
    ? facts.policies.after
    : facts.policies.after.filter((policy) => !facts.policies.before.some((old) => old.scope === policy.scope && old.since === policy.since))
  for (const policy of judged) {
    if (policy.until !== null) continue
    const breach = policyBreach(policy, policyName(policy, (org) => caller.memberships.has(org)), after.expires_at, after.created_at)
    if (breach !== null) throw invalidExpiresAt(breach)
  }
}

/**
 * Throws when `key` may not be rotated at all: it has a successor already (409
 * `already_rotated`), or it has expired (409: its successor would be born dead).
 */
export function checkRotation(key: ExistingKey, facts: Pick<GrantFacts, 'now' | 'policies'>): void {
  if (key.rotated !== null) throw alreadyRotated(key.rotated.successor)
  const life = effectiveExpiry(key.expires_at, key.created_at, facts.policies.before)
  if (life !== null && Date.parse(life) <= facts.now.getTime()) throw conflict('The API key has already expired; create a new one instead')
}

/** Whether `after` has anything `before` had not but a longer life: a higher mode, enabled, wider limits or a looser rate. */
function grants(before: KeyTerms, after: KeyTerms, defaultRate: RateLimit | null): boolean {
  return (
    !modeAtLeast(before.mode, after.mode) ||
    (after.enabled && !before.enabled) ||
    !withinReach(before, after) ||
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
 * the caller's app limit. Ids the key already had, or takes from the key it replaces, are not
 * judged again (an app deleted since stays named, powerless). Unknown, foreign and out-of-reach ids
 * get one and the same 400, so a limited key learns nothing of what lies beyond its reach.
 */
function checkLimitsExist(caller: Granter, after: KeyLimits, appOrgs: ReadonlyMap<string, string>, kept: KeyLimits | undefined): void {
  const callerOrgs = caller.limits.limited_to_orgs
  const callerApps = caller.limits.limited_to_apps
  const visibleOrg = (org: string) => caller.memberships.has(org) && (callerOrgs.length === 0 || callerOrgs.includes(org))
  const badOrgs = after.limited_to_orgs.filter((org) => !kept?.limited_to_orgs.includes(org) && !visibleOrg(org))
  if (badOrgs.length > 0)
    throw invalidLimitedToOrgs(badOrgs)
  const orgs = after.limited_to_orgs
  const badApps = after.limited_to_apps.filter((appId) => {
    if (kept?.limited_to_apps.includes(appId)) return false
    const org = appOrgs.get(appId)
    return org === undefined || !visibleOrg(org) || (callerApps.length > 0 && !callerApps.includes(appId)) || (orgs.length > 0 && !orgs.includes(org))
  })
  if (badApps.length > 0)
    throw invalidLimitedToApps(badApps, orgs.length > 0)
}
