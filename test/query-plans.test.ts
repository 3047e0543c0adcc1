/**
 * Every statement the repositories prepare uses an index for its lookups (issue #5): no full
 * table scan on a request path. Statements are captured as the store prepares them, so a new
 * query is checked without anyone remembering to list it here (the usage tracker prepares its own).
 */
import { expect, test } from 'bun:test'
import { Database } from 'bun:sqlite'
import { openSqliteStore } from '../src/store/sqlite/store'

/** Scans that are fine, and why. */
const ALLOWED_SCANS: Record<string, string> = {
  'SELECT count(*) AS n FROM users': 'first-run check, once at start',
  'SELECT id, email, name, created_at FROM users ORDER BY created_at, id': 'offline `user list`',
  'DELETE FROM audit_events WHERE id IN (SELECT id FROM audit_events ORDER BY id LIMIT ?) AND at < ?':
    'audit retention: the first rows in rowid order, as many as the LIMIT',
}

/** The database, and every statement the store prepares (on either connection), captured as it prepares them. */
function preparedStatements() {
  const statements: string[] = []
  const prepare = Database.prototype.prepare
  Database.prototype.prepare = function (this: Database, sql: string) {
    statements.push(sql)
    return prepare.call(this, sql)
  } as typeof prepare
  let db: Database
  try {
    db = openSqliteStore(null).db
  } finally {
    Database.prototype.prepare = prepare
  }
  // Bind every parameter to NULL: the plan does not depend on the values.
  const plan = (sql: string) => (db.query(`EXPLAIN QUERY PLAN ${sql}`).all(...([] as never[])) as { detail: string }[]).map((row) => row.detail)
  return { statements, plan }
}

test('no repository statement scans a table', () => {
  const { statements, plan } = preparedStatements()
  expect(statements.length).toBeGreaterThan(20)

  const scans: string[] = []
  for (const sql of statements) {
    const normalized = sql.replace(/\s+/g, ' ').trim()
    if (/^(INSERT|PRAGMA)/i.test(normalized) && !/SELECT/i.test(normalized)) continue
    if (ALLOWED_SCANS[normalized]) continue
    for (const detail of plan(sql)) {
      // A scan of json_each reads a bound JSON list (of ids), not a table.
      if (/^SCAN /.test(detail) && !/USING (COVERING )?INDEX/.test(detail) && !/^SCAN json_each VIRTUAL TABLE/.test(detail)) scans.push(`${normalized}\n    → ${detail}`)
    }
  }
  expect(scans).toEqual([])
})

test('keyset pages are index ranges: their cost does not grow with their depth', () => {
  const { statements, plan } = preparedStatements()
  const statement = (pattern: RegExp) => statements.find((sql) => pattern.test(sql.replace(/\s+/g, ' ')))!
  // GET /audit/?after= (and every page): a range of the (user_id, id) index below the keyset, in
  // its order; a filtered page reads slices of it, each ended by a walk of the index alone.
  const distinct = (pattern: RegExp) => [...new Set(statements.filter((sql) => pattern.test(sql.replace(/\s+/g, ' '))))].map(plan)
  expect(distinct(/FROM audit_events WHERE user_id = \?1 AND id < \?2 ORDER BY id DESC LIMIT \?3 OFFSET \?4$/)).toEqual([
    ['SEARCH audit_events USING INDEX audit_events_by_user (user_id=? AND id<?)'],
  ])
  expect(distinct(/^SELECT id FROM audit_events WHERE user_id = \?1 AND id < \?2/)).toEqual([
    ['SEARCH audit_events USING COVERING INDEX audit_events_by_user (user_id=? AND id<?)'],
  ])
  expect(distinct(/FROM audit_events WHERE user_id = \?1 AND id < \?2 AND id >= \?3/)).toEqual([
    ['SEARCH audit_events USING INDEX audit_events_by_user (user_id=? AND id>? AND id<?)'],
  ])
  // GET /apikey/?after= pages through the user's key list in memory (at most 1000 keys, found
  // by binary search); the list itself is one range of the (user_id, id) index, in its order.
  expect(plan(statement(/FROM apikeys WHERE user_id = \? ORDER BY id DESC$/))).toEqual(['SEARCH apikeys USING INDEX apikeys_by_user (user_id=?)'])
})
