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

/** Which events to list; an absent field matches every event. */
export interface AuditFilters {
  action?: string
  target_type?: string
  target_id?: string
  actor_key_id?: number
}

/** An event as stored: `details` is its JSON text. */
export type AuditEventRow = Omit<NewAuditEvent, 'details'> & { id: number; details: string }

export function auditRepository(db: Database) {
  const insert = db.prepare<never, Record<string, string | number | null>>(
    `INSERT INTO audit_events (at, user_id, actor_key_id, action, target_type, target_id, ip, user_agent, details)
     VALUES ($at, $user_id, $actor_key_id, $action, $target_type, $target_id, $ip, $user_agent, $details)`,
  )
  // Served by the index audit_events_by_user(user_id, id); a filter left null matches every event.
  const ofUser = db.prepare<AuditEventRow, [string, string | null, string | null, string | null, number | null, number, number]>(
    `SELECT id, at, user_id, actor_key_id, action, target_type, target_id, ip, user_agent, details
     FROM audit_events WHERE user_id = ?1
       AND (?2 IS NULL OR action = ?2) AND (?3 IS NULL OR target_type = ?3) AND (?4 IS NULL OR target_id = ?4)
       AND (?5 IS NULL OR actor_key_id = ?5)
     ORDER BY id DESC LIMIT ?6 OFFSET ?7`,
  )
  return {
    insert: (event: NewAuditEvent) => void insert.run({ ...event, details: JSON.stringify(event.details) }),
    /** The user's events that match the filters, newest first: `limit` of them after skipping `offset`. */
    listByUser: (userId: string, filters: AuditFilters, limit: number, offset: number) =>
      ofUser.all(userId, filters.action ?? null, filters.target_type ?? null, filters.target_id ?? null, filters.actor_key_id ?? null, limit, offset),
  }
}

export type AuditRepository = ReturnType<typeof auditRepository>
