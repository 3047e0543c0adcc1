/**
 * Every statement the repositories prepare uses an index for its lookups (issue #5): no full
 * table scan on a request path. Statements are captured as the store prepares them, so a new
 * query is checked without anyone remembering to list it here (the usage tracker prepares its own).
 */
import { expect, test } from 'bun:test'
import { Database } from 'bun:sqlite'
import type { AuditFilters } from '../src/store/records'
import { auditRepository } from '../src/store/sqlite/audit'
import { openDatabase } from '../src/store/sqlite/database'
import { migrate } from '../src/store/sqlite/migrate'
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
  // GET /audit/?after= (and every page): a range of the index that leads with the filters
  // given, in its order: no sort, no scan, and a filtered page reads only the events it may answer.
  // Each connection prepares its own: the distinct statements, in the order prepared.
  const auditPages = new Set(statements.filter((sql) => /FROM audit_events WHERE user_id = \?1 AND id < \?2 .*ORDER BY id DESC LIMIT \?7 OFFSET \?8$/.test(sql.replace(/\s+/g, ' '))))
  expect([...auditPages].map(plan)).toEqual([
    ['SEARCH audit_events USING INDEX audit_events_by_target (user_id=? AND target_type=? AND target_id=? AND id<?)'],
    ['SEARCH audit_events USING INDEX audit_events_by_actor (user_id=? AND actor_key_id=? AND id<?)'],
    ['SEARCH audit_events USING INDEX audit_events_by_action (user_id=? AND action=? AND id<?)'],
    ['SEARCH audit_events USING INDEX audit_events_by_user (user_id=? AND id<?)'],
  ])
  // GET /apikey/?after= pages through the user's key list in memory (at most 1000 keys, found
  // by binary search); the list itself is one range of the (user_id, id) index, in its order.
  expect(plan(statement(/FROM apikeys WHERE user_id = \? ORDER BY id DESC$/))).toEqual(['SEARCH apikeys USING INDEX apikeys_by_user (user_id=?)'])
})

test('GET /audit/ with filters pages through the index that leads with them', () => {
  const db = openDatabase(null)
  migrate(db)
  // Which statement each page ran, by the plan of its SQL.
  const ran: string[] = []
  const prepare = db.prepare.bind(db)
  db.prepare = ((sql: string) => {
    const statement = prepare(sql)
    const all = statement.all.bind(statement)
    statement.all = ((...parameters: never[]) => {
      ran.push((db.query(`EXPLAIN QUERY PLAN ${sql}`).all() as { detail: string }[]).map((row) => row.detail).join('; '))
      return all(...parameters)
    }) as typeof statement.all
    return statement
  }) as typeof db.prepare
  const audit = auditRepository(db)
  const cases: [AuditFilters, string][] = [
    [{}, 'audit_events_by_user (user_id=? AND id<?)'],
    [{ action: 'apikey.create' }, 'audit_events_by_action (user_id=? AND action=? AND id<?)'],
    [{ target_type: 'apikey', target_id: '7' }, 'audit_events_by_target (user_id=? AND target_type=? AND target_id=? AND id<?)'],
    [{ actor_key_id: 7 }, 'audit_events_by_actor (user_id=? AND actor_key_id=? AND id<?)'],
    // Several filters: the index of the most selective, the others checked on its range.
    [{ action: 'apikey.update', target_type: 'apikey', target_id: '7', actor_key_id: 7 }, 'audit_events_by_target (user_id=? AND target_type=? AND target_id=? AND id<?)'],
    [{ action: 'apikey.update', actor_key_id: 7 }, 'audit_events_by_actor (user_id=? AND actor_key_id=? AND id<?)'],
    // A target type alone (every key, every app) is common: the user's events in id order.
    [{ target_type: 'apikey' }, 'audit_events_by_user (user_id=? AND id<?)'],
  ]
  for (const [filters, index] of cases) {
    ran.length = 0
    audit.listByUser('usr_1', filters, { before: Number.MAX_SAFE_INTEGER, offset: 0 }, 100)
    expect({ filters, ran }).toEqual({ filters, ran: [`SEARCH audit_events USING INDEX ${index}`] })
  }
})
