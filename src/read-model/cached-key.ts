/**
 * What the read model keeps of a key: the caller it makes (a Principal, for the access model)
 * and what its view is made of, in one object. Nothing else of the stored record is kept, and
 * no text of its answer: GET /apikey/verify puts that together per request from the parts,
 * in about 0.1 us, where keeping it took two fifths of a cached key's memory
 * (docs/performance.md, "Read model").
 */
import { expiryMs } from '../access/authenticate'
import { maskKey } from '../access/key-format'
import { MODES, type Mode } from '../access/modes'
import type { KeyLimits, Principal } from '../access/principal'
import type { RateLimit } from '../access/rate-limit'
import type { ApiKeyRecord } from '../store/records'
import type { Use, UsedKey } from '../usage/tracker'
import { verifiedJson, type KeyViewParts } from '../modules/apikey/view'
import type { Slot } from './sieve'

/** The limits of every key not limited in either dimension: one shared object. */
const NO_LIMITS: KeyLimits = Object.freeze({ limited_to_apps: Object.freeze([]), limited_to_orgs: Object.freeze([]) })
/** The appOrgs of every key not limited to apps. */
const NO_APPS: ReadonlyMap<string, string> = new Map()

/**
 * Bytes a cached key keeps alive, as measured with bun:jsc's heapStats over 100,000 keys of
 * the benchmark's wide database (heap and the memory its strings hold, after a full
 * collection, per key): the object and its strings, its entry in the cache's map, and the
 * limits' objects when it has limits (docs/performance.md, "Read model").
 */
const KEY_BYTES = 760
const LIMITS_BYTES = 120
/** Per id in a limit list: the array slot and the string. */
const LIMIT_ID_BYTES = 48

/** A stored mode as the one string every key shares (a row's text is a fresh string each time). */
const sharedMode = (mode: Mode): Mode => MODES.find((m) => m === mode) ?? mode

/** The authenticated caller, and what GET /apikey/verify answers about it. Read-only but for its last use. */
export class CachedKey implements Principal, Slot, UsedKey, KeyViewParts {
  readonly keyId: number
  readonly userId: string
  readonly mode: Mode
  readonly limits: KeyLimits
  readonly expiresAt: string | null
  readonly expiresAtMs: number
  readonly enabled: boolean
  /** The key's own rate limit (null: it has none, and the server default applies). */
  readonly ownRateLimit: RateLimit | null
  readonly rateLimit: RateLimit | null
  /** org id → the user's role there (shared by the user's cached keys). */
  readonly memberships: ReadonlyMap<string, Mode>
  /** For an app-limited key: app id → the org of each of its apps that exists. */
  readonly appOrgs: ReadonlyMap<string, string>
  readonly keyJson: string
  readonly nameJson: string
  readonly userIdJson: string
  readonly createdAtJson: string
  readonly updatedAtJson: string
  readonly rotatedFrom: number | null
  /** The last use as written (the database's, then each written since). */
  lastUsedAt: string | null
  lastUsedIp: string | null
  /** The caller's reach as text (mode and limits), made when first asked for. */
  private reachText: string | undefined
  /** Its last use not written yet (src/usage/tracker.ts). */
  unwritten: Use | null = null
  visited = false
  bytes: number

  constructor(
    /** The hash of the key's secret: its key in the read model. */
    readonly hash: string,
    record: ApiKeyRecord,
    user: { userId: string; userIdJson: string; roles: ReadonlyMap<string, Mode> },
    limits: KeyLimits,
    appOrgs: ReadonlyMap<string, string> | null,
    defaultRateLimit: RateLimit | null,
    /** Its effective expiry (SPEC §6a): its own, or earlier by the policies that govern it. */
    expiresAt: string | null,
  ) {
    this.keyId = record.id
    this.userId = user.userId
    this.memberships = user.roles
    this.mode = sharedMode(record.mode)
    const { limited_to_apps: apps, limited_to_orgs: orgs } = limits
    this.limits = apps.length === 0 && orgs.length === 0 ? NO_LIMITS : limits
    this.appOrgs = appOrgs ?? NO_APPS
    this.expiresAt = expiresAt
    this.expiresAtMs = expiryMs(expiresAt)
    this.enabled = record.enabled
    this.ownRateLimit = record.rate_limit
    this.rateLimit = record.rate_limit ?? defaultRateLimit
    this.keyJson = JSON.stringify(maskKey(record.key_start))
    this.nameJson = JSON.stringify(record.name)
    this.userIdJson = user.userIdJson
    this.createdAtJson = JSON.stringify(record.created_at)
    this.updatedAtJson = record.updated_at === record.created_at ? this.createdAtJson : JSON.stringify(record.updated_at)
    this.rotatedFrom = record.rotated_from
    this.lastUsedAt = record.last_used_at
    this.lastUsedIp = record.last_used_ip
    const limitIds = apps.length + orgs.length
    this.bytes = KEY_BYTES + this.nameJson.length + (limitIds === 0 ? 0 : LIMITS_BYTES + limitIds * LIMIT_ID_BYTES)
  }

  /** GET /apikey/verify's answer for the key, with its last use as written; `mode` the effective one for what was asked. */
  verifiedJson(mode: Mode = this.mode): string {
    return verifiedJson(this, mode)
  }

  /** A last use of the key was written: the answer shows it from now on. */
  lastUsed(at: string, ip: string | null): void {
    this.lastUsedAt = at
    this.lastUsedIp = ip
  }

  /** The caller's mode and limits as JSON: what lists answered for it depend on besides the data. */
  get reach(): string {
    this.reachText ??= JSON.stringify([this.mode, this.limits.limited_to_apps, this.limits.limited_to_orgs])
    return this.reachText
  }
}
