/**
 * Every statement the repositories prepare uses an index for its lookups (issue #5): no full
 * table scan on a request path. Statements are captured as the store prepares them, so a new
 * query is checked without anyone remembering to list it here (the usage tracker prepares its own).
 */
import { expect, test } from 'bun:test'
import { openDatabase } from '../src/db/database'
import { migrate } from '../src/db/migrate'
import { systemClock } from '../src/clock'
import { UsageTracker } from '../src/modules/apikey/usage'
import { createStore } from '../src/store'

/** Scans that are fine, and why. */
const ALLOWED_SCANS: Record<string, string> = {
  'SELECT count(*) AS n FROM users': 'first-run check, once at start',
  'SELECT id, email, name, created_at FROM users ORDER BY created_at, id': 'offline `user list`',
}

test('no repository statement scans a table', () => {
  const db = openDatabase(null)
  migrate(db)
  const statements: string[] = []
  const prepare = db.prepare.bind(db)
  db.prepare = ((sql: string) => {
    statements.push(sql)
    return prepare(sql)
  }) as typeof db.prepare
  createStore(db)
  // Last uses and usage counts: the batched writes, the usage answers and the retention pruning.
  new UsageTracker(db, systemClock)
  expect(statements.length).toBeGreaterThan(20)

  const scans: string[] = []
  for (const sql of statements) {
    const normalized = sql.replace(/\s+/g, ' ').trim()
    if (/^(INSERT|PRAGMA)/i.test(normalized) && !/SELECT/i.test(normalized)) continue
    if (ALLOWED_SCANS[normalized]) continue
    // Bind every parameter to NULL: the plan does not depend on the values.
    const plan = db.query(`EXPLAIN QUERY PLAN ${sql}`).all(...([] as never[])) as { detail: string }[]
    for (const { detail } of plan) {
      // A scan of json_each reads a bound JSON list (of ids), not a table.
      if (/^SCAN /.test(detail) && !/USING (COVERING )?INDEX/.test(detail) && !/^SCAN json_each VIRTUAL TABLE/.test(detail)) scans.push(`${normalized}\n    → ${detail}`)
    }
  }
  expect(scans).toEqual([])
})
