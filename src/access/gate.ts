/**
 * The way in: throttles client addresses that keep failing, authenticates, applies the
 * key's rate limit and notes the key's use. No HTTP here; the auth plugin calls `admit`.
 */
import type { Core } from '../core'
import { AppError } from '../errors'
import { Outcome } from '../modules/apikey/usage-counts'
import { authenticate, loadKey, type StoredKey } from './authenticate'
import type { Principal } from './principal'
import { rateLimited, rateLimitHeaders, TokenBuckets, type RateLimit } from './rate-limit'

export interface GateLimits {
  /** Failed authentications allowed per client address (default 100 a minute). */
  authFailureLimit: RateLimit
}

export const DEFAULT_AUTH_FAILURE_LIMIT: RateLimit = { requests: 100, per_seconds: 60 }

export interface Admission {
  principal: Principal
  /** RateLimit-* headers when the key is rate limited, else null. */
  headers: Record<string, string> | null
}

export class Gate {
  private readonly failures: TokenBuckets<string>
  private readonly keys: TokenBuckets<number>
  /** The stored key the lookup below found last: `admit` is synchronous, so it is the current request's. */
  private found: StoredKey | null = null
  /**
   * The fast path: stored keys by hash, from the store's read cache, which also remembers
   * hashes of no key (a client retrying a deleted key need not ask the database each time).
   */
  private readonly lookup = (hash: string): StoredKey | null =>
    (this.found = this.core.store.apikeys.cachedByHash(hash, () => loadKey(this.core, hash)))

  constructor(
    private readonly core: Core,
    private readonly limits: GateLimits,
  ) {
    this.failures = new TokenBuckets(core.clock)
    this.keys = new TokenBuckets(core.clock)
  }

  /**
   * Failed authentications are throttled per client address: past the limit, a further
   * failure answers 429 instead of 401. A valid key always gets in, so one client guessing
   * behind a shared address (a NAT, a reverse proxy) cannot lock everybody else out.
   * `ip` is asked for only when needed (finding a client's address costs as much as the rest
   * of a cached authentication): on a failure, and now and then for the key's last use.
   */
  admit(authorization: string | null, ip: () => string | null): Admission {
    this.found = null
    const caller = authenticate(this.core, authorization, this.lookup)
    // A refusal is one of authentication's 401s, each counted against the client's address.
    if (caller instanceof AppError) {
      // A key that was found and refused is disabled or expired: its usage shows the refusal.
      const found = this.found as StoredKey | null // set by `lookup`, which TypeScript does not see
      if (found !== null) this.core.usage.counts.count(found.principal.keyId, Outcome.rejected)
      const throttle = this.failures.take(ip() ?? 'unknown', this.limits.authFailureLimit)
      if (!throttle.allowed) throw rateLimited(throttle, 'Too many failed authentications from this address; retry later')
      throw caller
    }
    const limit = caller.rateLimit
    let headers: Record<string, string> | null = null
    if (limit) {
      const decision = this.keys.take(caller.keyId, limit)
      if (!decision.allowed) {
        this.core.usage.counts.count(caller.keyId, Outcome.rateLimited)
        throw rateLimited(decision, 'Rate limit exceeded for this API key; retry later')
      }
      headers = rateLimitHeaders(decision)
    }
    this.core.usage.record(caller.keyId, ip)
    return { principal: caller, headers }
  }
}
