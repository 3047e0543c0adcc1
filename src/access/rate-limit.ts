/**
 * Token buckets (SPEC §5): per key, opt-in; per client address, for failed authentications.
 * Time comes from the injected clock, so tests move it instead of sleeping.
 */
import type { Clock } from '../clock'
import { rateLimited, type AppError } from '../errors'

/** `requests` per `per_seconds`, as configured (`100/60`) or stored on a key. */
export interface RateLimit {
  requests: number
  per_seconds: number
}

interface Bucket {
  tokens: number
  at: number
}

/** What a bucket says about one request: allowed or not, and the RateLimit-* numbers. */
export interface RateDecision {
  allowed: boolean
  limit: number
  remaining: number
  /** Seconds until a token is back (0 when one is there). */
  retryAfter: number
}

/** Many token buckets, one per id; full buckets are forgotten so memory stays bounded. */
export class TokenBuckets<Id> {
  private buckets = new Map<Id, Bucket>()

  constructor(
    private readonly clock: Clock,
    private readonly maxEntries = 100_000,
  ) {}

  private refilled(id: Id, limit: RateLimit, now: number): Bucket {
    const bucket = this.buckets.get(id)
    if (!bucket) return { tokens: limit.requests, at: now }
    const rate = limit.requests / (limit.per_seconds * 1000)
    return { tokens: Math.min(limit.requests, bucket.tokens + (now - bucket.at) * rate), at: now }
  }

  private decision(bucket: Bucket, limit: RateLimit, allowed: boolean): RateDecision {
    const missing = Math.max(0, 1 - bucket.tokens)
    const retryAfter = Math.ceil((missing * limit.per_seconds) / limit.requests)
    return { allowed, limit: limit.requests, remaining: Math.max(0, Math.floor(bucket.tokens)), retryAfter }
  }

  /** Takes a token when there is one. */
  take(id: Id, limit: RateLimit): RateDecision {
    const now = this.clock.nowMs()
    const bucket = this.refilled(id, limit, now)
    const allowed = bucket.tokens >= 1
    if (allowed) bucket.tokens -= 1
    this.store(id, bucket)
    return this.decision(bucket, limit, allowed)
  }

  private store(id: Id, bucket: Bucket): void {
    this.buckets.delete(id)
    this.buckets.set(id, bucket)
    // Under a flood of distinct ids, drop the least recently touched ones.
    if (this.buckets.size > this.maxEntries) this.buckets.delete(this.buckets.keys().next().value as Id)
  }
}

/** The RateLimit-* headers (IETF draft) and, when refused, Retry-After. */
export function rateLimitHeaders(decision: RateDecision): Record<string, string> {
  const headers: Record<string, string> = {
    'ratelimit-limit': String(decision.limit),
    'ratelimit-remaining': String(decision.remaining),
    'ratelimit-reset': String(decision.retryAfter),
  }
  if (!decision.allowed) headers['retry-after'] = String(Math.max(1, decision.retryAfter))
  return headers
}

/** The 429 for a refused decision, with the headers that say when to come back. */
export function rateLimitedBy(decision: RateDecision, message: string): AppError {
  return rateLimited(message, rateLimitHeaders(decision))
}

/** Parses `N/S` (N requests per S seconds), as given to --key-rate-limit. */
export function parseRateLimit(value: string): RateLimit | null {
  const match = /^\s*(\d{1,9})\s*\/\s*(\d{1,9})\s*$/.exec(value)
  if (!match) return null
  const limit = { requests: Number(match[1]), per_seconds: Number(match[2]) }
  return limit.requests > 0 && limit.per_seconds > 0 ? limit : null
}
