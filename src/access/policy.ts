/**
 * The access model of SPEC §6, as one function: `decide`. Every authorization decision of the
 * server goes through it (as `authorize`, which throws, or `isAllowed`, which filters); routes
 * and services state what they need, they never re-check by hand.
 */
import { forbidden, MESSAGES, notFound } from '../errors'
import { modeAtLeast, type Mode } from './modes'
import type { KeyLimits, Principal } from './principal'
import type { RateLimit } from './rate-limit'

const FORBIDDEN_ELSEWHERE = 'Insufficient permissions for this operation'

/** What an operation needs. */
export type Need =
  /** Anything that needs only a mode, such as a key verifying itself. */
  | { mode: Mode; on: 'any' }
  /** Something only a key without limits may do (create an org, read the audit log). */
  | { mode: Mode; on: 'unlimited' }
  /** Key management as such (list, create): mode `all`. */
  | { mode: Mode; on: 'keys' }
  /** One stored key of some user: it must be the caller's own and within its reach. */
  | { mode: Mode; on: 'key'; key: KeyLimits & { user_id: string } }
  /**
   * Deleting key `keyId`. A key may always delete itself, whatever its mode (SPEC §6:
   * revocation). Any other key needs `mode`, and, once `key` has been read (its record, null
   * when there is none), must be as `key` above. Asked first without `key`, so that a key of
   * a lower mode is refused before anything is read or locked.
   */
  | { mode: Mode; on: 'revoke'; keyId: number; key?: (KeyLimits & { user_id: string }) | null }
  /** An org-level operation on org `orgId`. */
  | { mode: Mode; on: 'org'; orgId: string }
  /** An operation on one app. */
  | { mode: Mode; on: 'app'; orgId: string; appId: string }

/** The 403 and 404 messages, per kind of target. */
function messagesFor(need: Need): { denied: string; notFound: string } {
  switch (need.on) {
    case 'unlimited':
      return { denied: 'This operation needs an API key without limits', notFound: 'Not found' }
    case 'any':
      return { denied: FORBIDDEN_ELSEWHERE, notFound: 'Not found' }
    case 'org':
      return { denied: FORBIDDEN_ELSEWHERE, notFound: 'Organization not found' }
    case 'app':
      return { denied: FORBIDDEN_ELSEWHERE, notFound: 'App not found' }
    default:
      return { denied: MESSAGES.manageKeysDenied, notFound: MESSAGES.keyNotFound }
  }
}

/** What the access model says: allowed, refused (403), or beyond reach (404). */
export type Decision = 'allow' | 'forbidden' | 'hidden'

/**
 * The access model (SPEC §6): 'forbidden' when the key's mode (rule 2) or its user's role
 * (rule 5) falls short, 'hidden' for anything outside the key's reach (rules 3-4, membership,
 * another user's key), so that what a key cannot reach stays invisible to it.
 */
export function decide(principal: Principal, need: Need): Decision {
  // Rule 1 (a valid key) holds for every Principal: authentication makes one only from a
  // key that exists, is enabled and has not expired.
  // A key revoking itself: it gives nothing away, and a leaked key of any mode can be stopped with itself.
  if (need.on === 'revoke' && need.keyId === principal.keyId) return 'allow'
  // Rule 2: the key's mode. It says nothing about the target, so it may come first (before
  // whether a key to revoke exists: a key of a lower mode learns nothing of other keys' ids).
  if (!modeAtLeast(principal.mode, need.mode)) return 'forbidden'
  switch (need.on) {
    case 'any':
    case 'keys':
      return 'allow'
    case 'unlimited':
      return principal.limits.limited_to_apps.length > 0 || principal.limits.limited_to_orgs.length > 0 ? 'forbidden' : 'allow'
    case 'revoke':
      // Not read yet: the mode (above) is all there is to decide.
      if (need.key === undefined) return 'allow'
      return need.key !== null && ownWithinReach(principal, need.key) ? 'allow' : 'hidden'
    case 'key':
      return ownWithinReach(principal, need.key) ? 'allow' : 'hidden'
    case 'org':
    case 'app': {
      const { limited_to_orgs: orgs, limited_to_apps: apps } = principal.limits
      const role = principal.memberships.get(need.orgId)
      // Membership and rule 3: an org the key cannot reach does not exist for it.
      if (role === undefined || (orgs.length > 0 && !orgs.includes(need.orgId))) return 'hidden'
      // Rule 4: an app-limited key reaches only its apps, and nothing org-level. An org that
      // holds none of its apps is beyond its reach altogether.
      if (apps.length > 0) {
        if (need.on === 'app' && !apps.includes(need.appId)) return 'hidden'
        if (need.on === 'org') return [...principal.appOrgs.values()].includes(need.orgId) ? 'forbidden' : 'hidden'
      }
      // Rule 5: a key never exceeds its user's role in the org.
      return modeAtLeast(role, need.mode) ? 'allow' : 'forbidden'
    }
  }
}

/**
 * What the key may do in org `orgId`: the lower of its mode and its user's role there (rule 5).
 * Ask only once `decide` allowed something there (the user is then a member).
 */
export function effectiveMode(principal: Principal, orgId: string): Mode {
  const role = principal.memberships.get(orgId)
  return role !== undefined && !modeAtLeast(role, principal.mode) ? role : principal.mode
}

/** A stored key the caller may touch: one of its own user's, within its reach. */
function ownWithinReach(principal: Principal, key: KeyLimits & { user_id: string }): boolean {
  return key.user_id === principal.userId && withinReach(principal.limits, key)
}

/** `decide`, throwing the 403 or 404 (with the message that fits the target) unless allowed. */
export function authorize(principal: Principal, need: Need): void {
  const decision = decide(principal, need)
  if (decision === 'allow') return
  const { denied, notFound: hidden } = messagesFor(need)
  throw decision === 'forbidden' ? forbidden(denied) : notFound(hidden)
}

/** `decide` as a predicate, for filtering lists down to what the caller may see (no throwing). */
export function isAllowed(principal: Principal, need: Need): boolean {
  return decide(principal, need) === 'allow'
}

/**
 * Attenuation: `target` is within the reach of a caller limited by `caller` when, in every
 * dimension where the caller is limited, the target is limited too, to a subset of the
 * caller's list.
 */
export function withinReach(caller: KeyLimits, target: KeyLimits): boolean {
  return (
    subsetOf(target.limited_to_orgs, caller.limited_to_orgs) && subsetOf(target.limited_to_apps, caller.limited_to_apps)
  )
}

/** A rate limit no looser than the caller's: no bigger burst, no higher rate (null: unlimited). */
export function withinRate(caller: RateLimit | null, target: RateLimit | null): boolean {
  if (caller === null) return true
  if (target === null) return false
  return target.requests <= caller.requests && target.requests * caller.per_seconds <= caller.requests * target.per_seconds
}

function subsetOf(target: readonly string[], caller: readonly string[]): boolean {
  if (caller.length === 0) return true
  return target.length > 0 && target.every((id) => caller.includes(id))
}
