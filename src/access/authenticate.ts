/** Turns the `authorization` header into a Principal, or the 401 of SPEC §5 that fits. */
import type { Core } from '../core'
import { apiKeyDisabled, apiKeyExpired, AppError, invalidApiKey, missingApiKey } from '../errors'
import { hashKey, isWellFormedKey } from './key-format'

/** The key in an `authorization` header value: bare, or after `Bearer `. */
export function keyFromHeader(header: string | null | undefined): string | null {
  if (header === null || header === undefined) return null
  const value = header.trim()
  if (value === '') return null
  const bearer = /^bearer\s+/i.exec(value)
  return bearer ? value.slice(bearer[0].length).trim() : value
}

/** Whether a stored key may get in now: it is on, and until when. */
export interface Standing {
  enabled: boolean
  /** When it expires, in ms since the epoch; Infinity for never. */
  expiresAtMs: number
}

/** The 401 that fits a stored key as of now, or null when it may get in. */
function standingRefusal(core: Core, key: Standing): AppError | null {
  if (!key.enabled) return apiKeyDisabled()
  // Checked on every request, cached or not: time moves on.
  if (key.expiresAtMs <= core.clock.nowMs()) return apiKeyExpired()
  return null
}

/** Throws the 401 that fits a stored key (null: none) as of now; returns when it may get in. */
export function checkStanding<K extends Standing>(core: Core, key: K | null): asserts key is K {
  const refusal = refusalOf(core, key)
  if (refusal !== null) throw refusal
}

/** When a key with this `expires_at` expires, in ms since the epoch. */
export const expiryMs = (expiresAt: string | null): number => (expiresAt === null ? Number.POSITIVE_INFINITY : Date.parse(expiresAt))

/**
 * The hash to look the caller's key up by, or the 401 that fits a header without a usable
 * key: shape and checksum first, so garbage never reaches the database. The 401s are returned
 * rather than thrown: refusals are what a client guessing keys gets on every request, and
 * throwing them up through the gate cost about a tenth of a refused request
 * (docs/performance.md, "Hot path"). The lookup is by hash: no secret is compared, so there is
 * nothing to time.
 */
export function keyHashFromHeader(header: string | null | undefined): string | AppError {
  const key = keyFromHeader(header)
  if (key === null) return missingApiKey()
  return isWellFormedKey(key) ? hashKey(key) : invalidApiKey()
}

/** The 401 that fits what the lookup found (null: no key), or null when it may get in. */
export function refusalOf(core: Core, stored: Standing | null): AppError | null {
  return stored === null ? invalidApiKey() : standingRefusal(core, stored)
}
