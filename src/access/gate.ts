/**
 * The way in: throttles client addresses that keep failing, authenticates, applies the
 * key's rate limit and notes the key's use. No HTTP here; the auth plugin calls `admit`.
 * On SQLite every step answers at once and `admit` returns a plain value; on PostgreSQL the
 * lookup of a key the read model does not hold, and the shared buckets, are promises.
 */
import type { Core } from '../core'
import { AppError } from '../errors'
import { Outcome } from '../usage/counts'
import type { CachedKey } from '../read-model/cached-key'
import { then } from '../store/awaitable'
import type { Awaitable } from '../store/types'
import { keyHashFromHeader, refusalOf } from './authenticate'
import { rateLimitedBy, rateLimitHeaders, TokenBuckets, type RateDecision, type RateLimit } from './rate-limit'

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
  /** This process's buckets, used when the store shares none (SQLite). */
  private readonly local: TokenBuckets<string>

  constructor(
    private readonly core: Core,
    private readonly limits: GateLimits,
  ) {
    this.local = new TokenBuckets(core.clock)
  }

  /** Takes a token from bucket `id`: the cluster's when the store shares buckets, else this process's. */
  private take(id: string, limit: RateLimit): Awaitable<RateDecision> {
    const shared = this.core.store.buckets
    return shared === null ? this.local.take(id, limit) : shared.take(id, limit, this.core.clock.nowMs())
  }

  /**
   * Lets the caller in, or throws (rejects, when waiting) its 401 or 429. The read model also
   * remembers hashes of no key (a client retrying a deleted key need not ask the database
   * each time).
   *
   * Failed authentications are throttled per client address: past the limit, a further
   * failure answers 429 instead of 401. A valid key always gets in, so one client guessing
   * behind a shared address (a NAT, a reverse proxy) cannot lock everybody else out.
   * `ip` is asked for only when needed (finding a client's address costs as much as the rest
   * of a cached authentication): on a failure, and now and then for the key's last use.
   */
  admit(authorization: string | null, ip: () => string | null): Awaitable<Admission> {
    const hash = keyHashFromHeader(authorization)
    if (hash instanceof AppError) return this.refuse(hash, ip)
    return then(this.core.readModel.keyByHash(hash), (stored) => {
      const refusal = refusalOf(this.core, stored)
      if (refusal !== null) {
        // A key that was found and refused is disabled or expired: its usage shows the refusal.
        if (stored !== null) this.core.usage.counts.count(stored.keyId, Outcome.rejected)
        return this.refuse(refusal, ip)
      }
      return this.admitKey(stored!, ip)
    })
  }

  /** Throws `refusal`, one of authentication's 401s, counted against the client's address. */
  private refuse(refusal: AppError, ip: () => string | null): Awaitable<never> {
    return then(this.take(`ip:${ip() ?? 'unknown'}`, this.limits.authFailureLimit), (throttle) => {
      if (!throttle.allowed) throw rateLimitedBy(throttle, 'Too many failed authentications from this address; retry later')
      throw refusal
    })
  }

  private admitKey(caller: CachedKey, ip: () => string | null): Awaitable<Admission> {
    const limit = caller.rateLimit
    if (!limit) {
      this.core.usage.record(caller, ip)
      return { principal: caller, headers: null }
    }
    return then(this.take(`key:${caller.keyId}`, limit), (decision) => {
      if (!decision.allowed) {
        this.core.usage.counts.count(caller.keyId, Outcome.rateLimited)
        throw rateLimitedBy(decision, 'Rate limit exceeded for this API key; retry later')
      }
      this.core.usage.record(caller, ip)
      return { principal: caller, headers: rateLimitHeaders(decision) }
    })
  }
}
