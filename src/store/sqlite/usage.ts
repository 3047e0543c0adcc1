/** Hourly usage counts per key on SQLite (the `key_usage_hourly` table of migration 0005). */
import type { Database } from 'bun:sqlite'
import type { UsageSumRow } from '../records'
import type { UsageRepo } from '../types'

export function usageRepository(db: Database): UsageRepo {
  // A key deleted since its counts came in matches no row, and its counts are dropped.
  const upsert = db.prepare<never, [number, number, number, number, number, number]>(
    `INSERT INTO key_usage_hourly (key_id, hour, allowed, forbidden, rate_limited, rejected)
     SELECT ?1, ?2, ?3, ?4, ?5, ?6 WHERE EXISTS (SELECT 1 FROM apikeys WHERE id = ?1)
     ON CONFLICT (key_id, hour) DO UPDATE SET allowed = allowed + excluded.allowed, forbidden = forbidden + excluded.forbidden,
       rate_limited = rate_limited + excluded.rate_limited, rejected = rejected + excluded.rejected`,
  )
  const sums = db.prepare<UsageSumRow, [string, number, number]>(
    `SELECT hour, sum(allowed) AS allowed, sum(forbidden) AS forbidden, sum(rate_limited) AS rate_limited, sum(rejected) AS rejected
     FROM key_usage_hourly WHERE key_id IN (SELECT value FROM json_each(?)) AND hour >= ? AND hour < ? GROUP BY hour`,
  )
  const pruneSlice = db.prepare<never, [number, number]>(
    `DELETE FROM key_usage_hourly WHERE (key_id, hour) IN
       (SELECT key_id, hour FROM key_usage_hourly WHERE hour < ? ORDER BY hour LIMIT ?)`,
  )
  return {
    add(rows): void {
      for (const row of rows) upsert.run(row.keyId, row.hour, row.allowed, row.forbidden, row.rate_limited, row.rejected)
    },
    sums: (keyIds, from, to) => sums.all(JSON.stringify(keyIds), from, to),
    prune: (before, limit) => pruneSlice.run(before, limit).changes,
  }
}
