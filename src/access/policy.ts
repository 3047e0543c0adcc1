/**
 * The access model of SPEC §6, as one function. Every authorization decision of the server is
 * a call to `authorize`; routes and services state what they need, they never re-check by hand.
 */
import { forbidden, notFound } from '../errors'
import { modeAtLeast, type Mode } from './modes'
import type { KeyLimits, Principal } from './principal'

/** What an operation needs. */
export type Need =
  /** Anything that needs only a mode, such as a key verifying itself. */
  | { mode: Mode; on: 'any' }
  /** Key management as such (list, create): mode `all`. */
  | { mode: Mode; on: 'keys' }
  /** One stored key of some user: it must be the caller's own and within its reach. */
  | { mode: Mode; on: 'key'; key: KeyLimits & { user_id: string } }
  /** Handing out a key with these limits: they must be within the caller's reach. */
  | { mode: Mode; on: 'grant'; limits: KeyLimits }
  /** An org-level operation on org `orgId`. */
  | { mode: Mode; on: 'org'; orgId: string }
  /** An operation on one app. */
  | { mode: Mode; on: 'app'; orgId: string; appId: string }

/**
 * Throws unless `principal` may do what `need` describes. Things outside the caller's reach
 * throw 404 (`notFoundMessage`) so they stay invisible; a lack of mode or role throws 403.
 */
export function authorize(principal: Principal, need: Need, messages: { denied?: string; notFound?: string } = {}): void {
  const deny = () => forbidden(messages.denied)
  const hide = () => notFound(messages.notFound)
  // Rule 1 (a valid key) holds for every Principal: authentication makes one only from a
  // key that exists, is enabled and has not expired.
  // Rule 2: the key's mode.
  if (!modeAtLeast(principal.mode, need.mode)) throw deny()
  switch (need.on) {
    case 'any':
    case 'keys':
      return
    case 'key':
      if (need.key.user_id !== principal.userId || !withinReach(principal.limits, need.key)) throw hide()
      return
    case 'grant':
      if (!withinReach(principal.limits, need.limits)) throw deny()
      return
    case 'org':
    case 'app': {
      const { limited_to_orgs: orgs, limited_to_apps: apps } = principal.limits
      const role = principal.memberships.get(need.orgId)
      // Rule 3 and membership: an org the key cannot reach does not exist for it.
      if (role === undefined || (orgs.length > 0 && !orgs.includes(need.orgId))) throw hide()
      // Rule 4: an app-limited key reaches only its apps, and nothing org-level.
      if (apps.length > 0) {
        if (need.on === 'org') throw deny()
        if (!apps.includes(need.appId)) throw hide()
      }
      // Rule 5: a key never exceeds its user's role in the org.
      if (!modeAtLeast(role, need.mode)) throw deny()
      return
    }
  }
}

/** `authorize` as a predicate, for filtering lists down to what the caller may see. */
export function isAllowed(principal: Principal, need: Need): boolean {
  try {
    authorize(principal, need)
    return true
  } catch {
    return false
  }
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

function subsetOf(target: readonly string[], caller: readonly string[]): boolean {
  if (caller.length === 0) return true
  return target.length > 0 && target.every((id) => caller.includes(id))
}
