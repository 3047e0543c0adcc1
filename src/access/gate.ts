/**
 * The way in: throttles client addresses that keep failing, authenticates, applies the
 * key's rate limit and notes the key's use. No HTTP here; the auth plugin calls `admit`.
 */
import type { Core } from '../core'
import { AppError } from '../errors'
import { Outcome } from '../modules/apikey/usage-counts'
import type { CachedKey } from '../read-model/cached-key'
import { authenticate } from './authenticate'
import { rateLimited, rateLimitHeaders, TokenBuckets, type RateLimit } from './rate-limit'

export interface GateLimits {
  /** Failed authentications allowed per client address (default 100 a minute). */
  authFailureLimit: RateLimit
}

export const DEFAULT_AUTH_FAILURE_LIMIT: RateLimit = { requests: 100, per_seconds: 60 }

export interface Admission {
  /** The caller: the read model's key, which is the Principal the access model decides from. */
  principal: CachedKey
  /** RateLimit-* headers when the key is rate limited, else null. */
  headers: Record<string, string> | null
}

export class Gate {
  private readonly failures: TokenBuckets<string>
  private readonly keys: TokenBuckets<number>
  /** The key the lookup below found last: `admit` is synchronous, so it is the current request's. */
  private found: CachedKey | null = null

  constructor(
    private readonly core: Core,
    private readonly limits: GateLimits,
  ) {
    this.failures = new TokenBuckets(core.clock)
    this.keys = new TokenBuckets(core.clock)
  }

  /**
   * The fast path: stored keys by hash, from the read model, which also remembers hashes of no
   * key (a client retrying a deleted key need not ask the database each time).
   */
  private readonly lookup = (hash: string): CachedKey | null => (this.found = this.core.readModel.keyByHash(hash))

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
      const found = this.found as CachedKey | null // set by `lookup`, which TypeScript does not see
      if (found !== null) this.core.usage.counts.count(found.keyId, Outcome.rejected)
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
    this.core.usage.record(caller, ip)
    return { principal: caller, headers }
  }
}
