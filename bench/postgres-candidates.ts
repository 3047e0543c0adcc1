/**
 * Candidate designs for the PostgreSQL backend, measured by bench/postgres.ts and pinned by
 * test/postgres-convergence.test.ts (docs/postgres-notes.md weighs them). Not part of the
 * server yet: the tables are created here, not by a migration.
 *
 * - A commit counter for convergence when a NOTIFY is lost: a one-row table bumped by every
 *   write transaction that changes what instances cache; pollers read it. Bumped first, its row
 *   lock also makes such transactions take turns, as SQLite's BEGIN IMMEDIATE does. Sharded
 *   (one of SHARDS rows, bumped last, pollers read the sum), writers do not wait for each other.
 * - A cross-instance rate limit: the token bucket of src/access/rate-limit.ts as one upsert.
 */
import type { SQL } from 'bun'
import type { RateLimit } from '../src/access/rate-limit'

/** Rows of the sharded write counter. */
export const SHARDS = 16

/** The candidates' tables. */
export async function createCandidateTables(sql: SQL): Promise<void> {
  await sql`CREATE TABLE write_counter (id boolean PRIMARY KEY DEFAULT true CHECK (id), n bigint NOT NULL)`
  await sql`INSERT INTO write_counter (n) VALUES (0)`
  await sql`CREATE TABLE write_counters (shard int PRIMARY KEY, n bigint NOT NULL)`
  await sql`INSERT INTO write_counters SELECT shard, 0 FROM generate_series(0, ${SHARDS - 1}) AS shard`
  // UNLOGGED: no WAL, so no disk flush at commit; a crash empties it (buckets start full again).
  for (const [table, kind] of [['rate_buckets', ''], ['rate_buckets_unlogged', 'UNLOGGED']]) {
    await sql.unsafe(`CREATE ${kind} TABLE ${table} (
      id text PRIMARY KEY, tokens double precision NOT NULL, at_ms bigint NOT NULL, allowed boolean NOT NULL)`)
  }
}

/** Bumps the one-row counter: call it first in a write transaction. */
export const bumpWriteCounter = (tx: SQL) => tx`UPDATE write_counter SET n = n + 1`

/** What pollers compare: it changes exactly when a transaction that bumped it commits. */
export async function readWriteCounter(sql: SQL): Promise<string> {
  const [{ n }] = await sql`SELECT n FROM write_counter`
  return n
}

/** Bumps one row of the sharded counter at random: call it last in a write transaction. */
export const bumpShardedCounter = (tx: SQL) => tx`UPDATE write_counters SET n = n + 1 WHERE shard = ${Math.floor(Math.random() * SHARDS)}`

/** The sharded counter's value: its rows' sum, which every commit that bumped one moves. */
export async function readShardedCounter(sql: SQL): Promise<string> {
  const [{ n }] = await sql`SELECT sum(n) AS n FROM write_counters`
  return n
}

/**
 * Takes a token from the bucket `id` in `table` when there is one: refilled by the time since
 * its last request, as TokenBuckets.take does, in one statement. The row is locked for the
 * update, so instances that take tokens at once take turns: the cluster admits exactly the
 * limit. `nowMs` comes from the caller's clock (the injected clock in tests).
 */
export async function takeToken(sql: SQL, table: string, id: string, limit: RateLimit, nowMs: number): Promise<{ allowed: boolean; tokens: number }> {
  const rate = limit.requests / (limit.per_seconds * 1000)
  const [row] = await sql.unsafe(
    `INSERT INTO ${table} AS b (id, tokens, at_ms, allowed) VALUES ($1, $2::float8 - 1, $3, true)
     ON CONFLICT (id) DO UPDATE SET
       allowed = least($2::float8, b.tokens + ($3 - b.at_ms) * $4::float8) >= 1,
       tokens = least($2::float8, b.tokens + ($3 - b.at_ms) * $4::float8)
                - CASE WHEN least($2::float8, b.tokens + ($3 - b.at_ms) * $4::float8) >= 1 THEN 1 ELSE 0 END,
       at_ms = $3
     RETURNING allowed, tokens`,
    [id, limit.requests, nowMs, rate],
  )
  return row
}
