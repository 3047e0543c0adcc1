/** Hourly usage counts per key on PostgreSQL (the `key_usage_hourly` table). Counts are bigint: Bun returns them as strings. */
import type { SQL } from 'bun'
import type { UsageCountRow, UsageSumRow } from '../records'
import type { UsageRepo } from '../types'

type Counted<T> = { [K in keyof T]: string }

export function usageRepository(sql: SQL): UsageRepo {
  return {
    /**
     * One statement for the batch (rows of one key and hour are summed first); a key deleted
     * since its counts came in matches no row, and its counts are dropped.
     */
    async add(rows: readonly UsageCountRow[]): Promise<void> {
      if (rows.length === 0) return
      const column = (pick: (row: UsageCountRow) => number) => rows.map(pick)
      await sql`INSERT INTO key_usage_hourly AS u (key_id, hour, allowed, forbidden, rate_limited, rejected)
        SELECT r.key_id, r.hour, sum(r.allowed), sum(r.forbidden), sum(r.rate_limited), sum(r.rejected)
        FROM unnest(${column((r) => r.keyId)}::bigint[], ${column((r) => r.hour)}::bigint[], ${column((r) => r.allowed)}::bigint[],
          ${column((r) => r.forbidden)}::bigint[], ${column((r) => r.rate_limited)}::bigint[], ${column((r) => r.rejected)}::bigint[])
          AS r (key_id, hour, allowed, forbidden, rate_limited, rejected)
        WHERE EXISTS (SELECT 1 FROM apikeys WHERE id = r.key_id)
        GROUP BY r.key_id, r.hour
        ON CONFLICT (key_id, hour) DO UPDATE SET allowed = u.allowed + excluded.allowed, forbidden = u.forbidden + excluded.forbidden,
          rate_limited = u.rate_limited + excluded.rate_limited, rejected = u.rejected + excluded.rejected`
    },
    /** Sums per hour over these keys, hours in [from, to), earliest first. */
    async sums(keyIds: readonly number[], from: number, to: number): Promise<UsageSumRow[]> {
      const rows = await sql<Counted<UsageSumRow>[]>`
        SELECT hour, sum(allowed) AS allowed, sum(forbidden) AS forbidden, sum(rate_limited) AS rate_limited, sum(rejected) AS rejected
        FROM key_usage_hourly WHERE key_id = ANY(${[...keyIds]}::bigint[]) AND hour >= ${from} AND hour < ${to}
        GROUP BY hour ORDER BY hour`
      return rows.map((row) => ({
        hour: Number(row.hour), allowed: Number(row.allowed), forbidden: Number(row.forbidden),
        rate_limited: Number(row.rate_limited), rejected: Number(row.rejected),
      }))
    },
    /** Deletes at most `limit` rows older than `before` (Unix seconds), oldest first; returns how many. */
    async prune(before: number, limit: number): Promise<number> {
      const result = await sql`DELETE FROM key_usage_hourly WHERE (key_id, hour) IN
        (SELECT key_id, hour FROM key_usage_hourly WHERE hour < ${before} ORDER BY hour LIMIT ${limit})`
      return result.count
    },
  }
}
