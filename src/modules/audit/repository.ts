/** Storage of audit events. */
import type { Database } from 'bun:sqlite'

export interface NewAuditEvent {
  at: string
  user_id: string
  actor_key_id: number | null
  action: string
  target_type: string
  target_id: string
  ip: string | null
  user_agent: string | null
  /** Never a secret: callers pass ids, names and modes, not keys or hashes. */
  details: Record<string, unknown>
}

/** An event as stored: `details` is its JSON text. */
export type AuditEventRow = Omit<NewAuditEvent, 'details'> & { id: number; details: string }

export function auditRepository(db: Database) {
  const insert = db.prepare<never, Record<string, string | number | null>>(
    `INSERT INTO audit_events (at, user_id, actor_key_id, action, target_type, target_id, ip, user_agent, details)
     VALUES ($at, $user_id, $actor_key_id, $action, $target_type, $target_id, $ip, $user_agent, $details)`,
  )
  const columns = 'id, at, user_id, actor_key_id, action, target_type, target_id, ip, user_agent, details'
  // Both served by the index audit_events_by_user(user_id, id): an OFFSET steps over that many
  // index entries, a keyset (`id < ?`) starts where it should (test/query-plans.test.ts).
  const ofUser = db.prepare<AuditEventRow, [string, number, number]>(
    `SELECT ${columns} FROM audit_events WHERE user_id = ? ORDER BY id DESC LIMIT ? OFFSET ?`,
  )
  const ofUserBefore = db.prepare<AuditEventRow, [string, number, number]>(
    `SELECT ${columns} FROM audit_events WHERE user_id = ? AND id < ? ORDER BY id DESC LIMIT ?`,
  )
  // Events are written in time order, so the oldest are the lowest ids: a slice looks at the
  // start of the table's rowid order, found without an index on `at` (which every insert would
  // pay for). An event written by a clock set back, behind a slice of newer ones, waits for them.
  const pruneOldest = db.prepare<never, [number, string]>(
    'DELETE FROM audit_events WHERE id IN (SELECT id FROM audit_events ORDER BY id LIMIT ?) AND at < ?',
  )
  return {
    insert: (event: NewAuditEvent) => void insert.run({ ...event, details: JSON.stringify(event.details) }),
    /** The user's events, newest first: `limit` of them after skipping `offset`. */
    listByUser: (userId: string, limit: number, offset: number) => ofUser.all(userId, limit, offset),
    /** The user's events with an id below `before`, newest first, at most `limit`. */
    listByUserBefore: (userId: string, before: number, limit: number) => ofUserBefore.all(userId, before, limit),
    /**
     * Deletes the events older than `cutoff` (ISO time) among the `slice` with the lowest ids;
     * returns how many. Fewer than `slice` means it reached the events to keep.
     */
    pruneOlderThan: (cutoff: string, slice: number) => pruneOldest.run(slice, cutoff).changes,
  }
}

export type AuditRepository = ReturnType<typeof auditRepository>
