/** Audit events on SQLite. */
import type { Database } from 'bun:sqlite'
import type { AuditEventRow, AuditFilters, NewAuditEvent } from '../records'
import type { AuditRepo } from '../types'

export function auditRepository(db: Database): AuditRepo {
  const insert = db.prepare<never, Record<string, string | number | null>>(
    `INSERT INTO audit_events (at, user_id, actor_key_id, action, target_type, target_id, ip, user_agent, details)
     VALUES ($at, $user_id, $actor_key_id, $action, $target_type, $target_id, $ip, $user_agent, $details)`,
  )
  // A range of the index audit_events_by_user(user_id, id) below `before` (the keyset: it
  // starts where it should; test/query-plans.test.ts), stepping over `offset` matches; a filter
  // left null matches every event.
  const ofUser = db.prepare<AuditEventRow, [string, number, string | null, string | null, string | null, number | null, number, number]>(
    `SELECT id, at, user_id, actor_key_id, action, target_type, target_id, ip, user_agent, details
     FROM audit_events WHERE user_id = ?1 AND id < ?2
       AND (?3 IS NULL OR action = ?3) AND (?4 IS NULL OR target_type = ?4) AND (?5 IS NULL OR target_id = ?5)
       AND (?6 IS NULL OR actor_key_id = ?6)
     ORDER BY id DESC LIMIT ?7 OFFSET ?8`,
  )
  // Events are written in time order, so the oldest are the lowest ids: a slice looks at the
  // start of the table's rowid order, found without an index on `at` (which every insert would
  // pay for). An event written by a clock set back, behind a slice of newer ones, waits for them.
  const pruneOldest = db.prepare<never, [number, string]>(
    'DELETE FROM audit_events WHERE id IN (SELECT id FROM audit_events ORDER BY id LIMIT ?) AND at < ?',
  )
  return {
    insert: (event: NewAuditEvent) => void insert.run({ ...event, details: JSON.stringify(event.details) }),
    /**
     * The user's events that match `filters`, newest first: those with an id below `before`
     * (keyset paging; Number.MAX_SAFE_INTEGER for the first page), `limit` of them after
     * skipping `offset`.
     */
    listByUser: (userId: string, filters: AuditFilters, page: { before: number; offset: number }, limit: number) =>
      ofUser.all(
        userId, page.before, filters.action ?? null, filters.target_type ?? null, filters.target_id ?? null, filters.actor_key_id ?? null,
        limit, page.offset,
      ),
    /**
     * Deletes the events older than `cutoff` (ISO time) among the `slice` with the lowest ids;
     * returns how many. Fewer than `slice` means it reached the events to keep.
     */
    pruneOlderThan: (cutoff: string, slice: number) => pruneOldest.run(slice, cutoff).changes,
  }
}

