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

export function auditRepository(db: Database) {
  const insert = db.prepare<never, Record<string, string | number | null>>(
    `INSERT INTO audit_events (at, user_id, actor_key_id, action, target_type, target_id, ip, user_agent, details)
     VALUES ($at, $user_id, $actor_key_id, $action, $target_type, $target_id, $ip, $user_agent, $details)`,
  )
  return {
    insert: (event: NewAuditEvent) => void insert.run({ ...event, details: JSON.stringify(event.details) }),
  }
}

export type AuditRepository = ReturnType<typeof auditRepository>
