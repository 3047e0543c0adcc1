/**
 * What the read model keeps of a key: the caller it makes (a Principal, for the access model)
 * and its view as JSON text, in one object. Nothing else of the stored record is kept: a
 * cached key of the benchmark's wide database holds about a third of what the whole record,
 * its derived texts and the cache's wrappers held (docs/performance.md, "Read model").
 */
import { expiryMs } from '../access/authenticate'
import { MODES, type Mode } from '../access/modes'
import type { KeyLimits, Principal } from '../access/principal'
import type { RateLimit } from '../access/rate-limit'
import type { ApiKeyRecord } from '../modules/apikey/repository'
import type { Use, UsedKey } from '../modules/apikey/usage'
import { verifiedHeadJson, verifiedTailJson } from '../modules/apikey/view'
import type { Slot } from './sieve'

/** The limits of every key not limited in either dimension: one shared object. */
const NO_LIMITS: KeyLimits = Object.freeze({ limited_to_apps: Object.freeze([]), limited_to_orgs: Object.freeze([]) })
/** The appOrgs of every key not limited to apps. */
const NO_APPS: ReadonlyMap<string, string> = new Map()
/** The end of the verify answer of a key never used: one shared string. */
const NEVER_USED = verifiedTailJson(null, null)

/**
 * `text` as one flat string. JSC keeps a concatenation as a tree of its parts until the text is
 * read as a whole: a kept text would hold its parts alive (10 strings per cached key instead
 * of 3). A regular expression reads it whole (`charCodeAt` does not).
 */
const READ_WHOLE = /^/
function flat(text: string): string {
  READ_WHOLE.test(text)
  return text
}

/**
 * Bytes a cached key keeps alive besides its strings: the object, its entry in the cache's map,
 * and the limits' objects when it has limits. Measured with bun:jsc's heapStats over 100,000
 * keys of the benchmark's wide database (docs/performance.md, "Read model").
 */
const KEY_OVERHEAD_BYTES = 240
const LIMITS_OVERHEAD_BYTES = 120
/** Per id in a limit list: the array slot and the string. */
const LIMIT_ID_BYTES = 48
/** The last use's text, once the key has one. */
const LAST_USE_BYTES = 96

/** A stored mode as the one string every key shares (a row's text is a fresh string each time). */
const sharedMode = (mode: Mode): Mode => MODES.find((m) => m === mode) ?? mode

/** The authenticated caller, and what GET /apikey/verify answers about it. Read-only but for its last use. */
export class CachedKey implements Principal, Slot, UsedKey {
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
  /**
   * GET /apikey/verify's answer (`{"valid":true,"apikey":…}`) in two flat strings: all but the
   * last use, made once; the last use and closing braces, made again when a last use is
   * written. Remaking the whole answer instead left 400 bytes of garbage per key at every
   * flush: 40 MB every 5 s with 100,000 keys in use (docs/performance.md, "Read model").
   */
  private readonly verifiedHead: string
  private verifiedTail: string
  /** The caller's reach as text (mode and limits), made when first asked for. */
  private reachText: string | undefined
  /** Its last use not written yet (src/modules/apikey/usage.ts). */
  unwritten: Use | null = null
  visited = false
  bytes: number

  constructor(
    /** The hash of the key's secret: its key in the read model. */
    readonly hash: string,
    record: ApiKeyRecord,
    user: { userId: string; roles: ReadonlyMap<string, Mode> },
    limits: KeyLimits,
    appOrgs: ReadonlyMap<string, string> | null,
    defaultRateLimit: RateLimit | null,
  ) {
    this.keyId = record.id
    this.userId = user.userId
    this.memberships = user.roles
    this.mode = sharedMode(record.mode)
    const { limited_to_apps: apps, limited_to_orgs: orgs } = limits
    this.limits = apps.length === 0 && orgs.length === 0 ? NO_LIMITS : limits
    this.appOrgs = appOrgs ?? NO_APPS
    this.expiresAt = record.expires_at
    this.expiresAtMs = expiryMs(record.expires_at)
    this.enabled = record.enabled
    this.ownRateLimit = record.rate_limit
    this.rateLimit = record.rate_limit ?? defaultRateLimit
    this.verifiedHead = flat(verifiedHeadJson(record))
    this.verifiedTail = record.last_used_at === null && record.last_used_ip === null ? NEVER_USED : flat(verifiedTailJson(record.last_used_at, record.last_used_ip))
    const limitIds = apps.length + orgs.length
    this.bytes =
      KEY_OVERHEAD_BYTES + hash.length + this.verifiedHead.length + LAST_USE_BYTES +
      (limitIds === 0 ? 0 : LIMITS_OVERHEAD_BYTES + limitIds * LIMIT_ID_BYTES) + (record.expires_at?.length ?? 0)
  }

  /** GET /apikey/verify's answer for the key, with its last use as written. */
  verifiedJson(): string {
    return this.verifiedHead + this.verifiedTail
  }

  /** A last use of the key was written: the answer shows it from now on. */
  lastUsed(at: string, ip: string | null): void {
    this.verifiedTail = flat(verifiedTailJson(at, ip))
  }

  /** The caller's mode and limits as JSON: what lists answered for it depend on besides the data. */
  get reach(): string {
    this.reachText ??= JSON.stringify([this.mode, this.limits.limited_to_apps, this.limits.limited_to_orgs])
    return this.reachText
  }
}
