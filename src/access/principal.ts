import type { Mode } from './modes'
import type { RateLimit } from './rate-limit'

/** What limits a key carries; an empty list means "not limited in this dimension". */
export interface KeyLimits {
  limited_to_apps: readonly string[]
  limited_to_orgs: readonly string[]
}

/** The authenticated caller: the key used, and its user's role in each org. */
export interface Principal {
  keyId: number
  userId: string
  mode: Mode
  limits: KeyLimits
  expiresAt: string | null
  /** `expiresAt` as a timestamp, compared on every request. */
  expiresAtMs: number
  /** org id → the user's role there. */
  memberships: ReadonlyMap<string, Mode>
  /** The key's rate limit: its own, else the server default; null: none. */
  rateLimit: RateLimit | null
  /** The key's own rate limit; null: it has none (the server default, if any, applies). */
  ownRateLimit: RateLimit | null
  /** For an app-limited key: app id → the org it belongs to (apps that no longer exist are absent). */
  appOrgs: ReadonlyMap<string, string>
}
