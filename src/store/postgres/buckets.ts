/**
 * Token buckets every instance shares (SPEC §11), in the UNLOGGED table of migration 0004.
 * Each take is one upsert: instances taking from one bucket at once take turns on its row, so
 * the cluster admits exactly the limit (no slack). The arithmetic is TokenBuckets'
 * (src/access/rate-limit.ts) in double precision, as JavaScript's numbers; time is the
 * caller's clock (`nowMs`), so instances' clocks must agree (NTP): skew shifts refills, it
 * never admits more than a full bucket.
 */
import type { SQL } from 'bun'
import type { RateDecision, RateLimit } from '../../access/rate-limit'
import type { SharedBuckets } from '../types'

/** How often (by the callers' clock) buckets that are full again are deleted. */
export const PRUNE_EVERY_MS = 60_000

/** At most this many rows per prune: one statement stays short. */
const PRUNE_SLICE = 10_000

export interface PostgresBuckets extends SharedBuckets {
  /** Deletes up to PRUNE_SLICE buckets that are full again at `nowMs` (as good as no row); returns how many. */
  prune(nowMs: number): Promise<number>
}

/** The RateLimit-* numbers of a bucket left with `tokens` (TokenBuckets' answer). */
function decision(tokens: number, limit: RateLimit, allowed: boolean): RateDecision {
  const missing = Math.max(0, 1 - tokens)
  const retryAfter = Math.ceil((missing * limit.per_seconds) / limit.requests)
  return { allowed, limit: limit.requests, remaining: Math.max(0, Math.floor(tokens)), retryAfter }
}

export function postgresBuckets(sql: SQL): PostgresBuckets {
  let nextPrune = -Infinity
  const prune = async (nowMs: number): Promise<number> => {
    // The condition again outside the subquery: a take that commits while the DELETE waits for
    // its row leaves a new version, which PostgreSQL checks against the outer condition only; a
    // bucket just taken from must not be reset to full.
    const result = await sql`DELETE FROM codepushgo_rate_buckets WHERE id IN
      (SELECT id FROM codepushgo_rate_buckets WHERE tokens + (${nowMs}::float8 - at_ms) * rate >= capacity LIMIT ${PRUNE_SLICE})
      AND tokens + (${nowMs}::float8 - at_ms) * rate >= capacity`
    return result.count
  }
  return {
    async take(id: string, limit: RateLimit, nowMs: number): Promise<RateDecision> {
      if (nowMs >= nextPrune) {
        nextPrune = nowMs + PRUNE_EVERY_MS
        // Housekeeping beside the request, never in its way: a failure waits for the next turn.
        prune(nowMs).catch(() => {})
      }
      const capacity = limit.requests
      const rate = limit.requests / (limit.per_seconds * 1000)
      // A new bucket starts full; an existing one is refilled by the time since its last take,
      // up to full (SET reads the row as it was). Then a token is taken when there is one.
      const [row] = await sql<{ tokens: number; allowed: boolean }[]>`
        INSERT INTO codepushgo_rate_buckets AS b (id, tokens, at_ms, capacity, rate, allowed)
        VALUES (${id}, ${capacity}::float8 - CASE WHEN ${capacity}::float8 >= 1 THEN 1 ELSE 0 END, ${nowMs}::float8,
          ${capacity}::float8, ${rate}::float8, ${capacity}::float8 >= 1)
        ON CONFLICT (id) DO UPDATE SET
          allowed = least(excluded.capacity, b.tokens + (excluded.at_ms - b.at_ms) * excluded.rate) >= 1,
          tokens = least(excluded.capacity, b.tokens + (excluded.at_ms - b.at_ms) * excluded.rate)
            - CASE WHEN least(excluded.capacity, b.tokens + (excluded.at_ms - b.at_ms) * excluded.rate) >= 1 THEN 1 ELSE 0 END,
          at_ms = excluded.at_ms, capacity = excluded.capacity, rate = excluded.rate
        RETURNING tokens, allowed`
      return decision(row!.tokens, limit, row!.allowed)
    },
    prune,
  }
}
