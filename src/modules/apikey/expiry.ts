/** When keys stop working: the caller's own expiry and the server policy bound every key. */
import type { Principal } from '../../access/principal'
import type { Core } from '../../core'
import { invalidExpiresAt } from '../../errors'

const DAY_MS = 24 * 60 * 60 * 1000

/** The earlier of two expiries, where null means never. */
export function earlier(a: string | null, b: string | null): string | null {
  if (a === null) return b
  if (b === null) return a
  return a < b ? a : b
}

/**
 * Checks an expiry a caller is about to give a key: it may not outlive the calling key (SPEC
 * §6), and with --max-key-lifetime-days every key must expire within that many days.
 */
export function checkExpiry(core: Core, principal: Principal, expires: string | null): string | null {
  if (principal.expiresAt !== null && (expires === null || expires > principal.expiresAt))
    throw invalidExpiresAt('expires_at must not be later than the expiry of the calling key')
  const maxDays = core.policy.maxKeyLifetimeDays
  if (maxDays !== null) {
    if (expires === null) throw invalidExpiresAt(`expires_at is required: this server allows keys of at most ${maxDays} days`)
    if (Date.parse(expires) > core.clock.now().getTime() + maxDays * DAY_MS)
      throw invalidExpiresAt(`expires_at must be within ${maxDays} days (server policy)`)
  }
  return expires
}

/** The latest expiry the policy allows for a key made now (null: no policy). */
export function policyBound(core: Core): string | null {
  const maxDays = core.policy.maxKeyLifetimeDays
  return maxDays === null ? null : new Date(core.clock.now().getTime() + maxDays * DAY_MS).toISOString()
}
