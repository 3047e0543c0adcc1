/** Audit events on PostgreSQL. */
import type { SQL } from 'bun'
import type { AuditEventRow, AuditFilters, NewAuditEvent } from '../records'
import type { AuditRepo } from '../types'

interface AuditRow extends Omit<AuditEventRow, 'id' | 'actor_key_id'> {
  id: string
  actor_key_id: string | null
}

export function auditRepository(sql: SQL): AuditRepo {
  return {
    async insert(event: NewAuditEvent): Promise<void> {
      // `details` is bound as an object: the json column keeps its text, keys in the order written.
      await sql`INSERT INTO audit_events (at, user_id, actor_key_id, action, target_type, target_id, ip, user_agent, details)
        VALUES (${event.at}, ${event.user_id}, ${event.actor_key_id}, ${event.action}, ${event.target_type}, ${event.target_id},
          ${event.ip}, ${event.user_agent}, ${event.details})`
    },
    /**
     * The user's events that match `filters`, newest first: those with an id below `before`
     * (keyset paging on audit_events_by_user), `limit` of them after skipping `offset`. A filter
     * left null matches every event. `details` is the column's JSON text, as SQLite stores it.
     */
    async listByUser(userId: string, filters: AuditFilters, page: { before: number; offset: number }, limit: number): Promise<AuditEventRow[]> {
      const action = filters.action ?? null
      const targetType = filters.target_type ?? null
      const targetId = filters.target_id ?? null
      const actor = filters.actor_key_id ?? null
      const rows = await sql<AuditRow[]>`
        SELECT id, at, user_id, actor_key_id, action, target_type, target_id, ip, user_agent, details::text AS details
        FROM audit_events WHERE user_id = ${userId} AND id < ${page.before}
          AND (${action}::text IS NULL OR action = ${action}) AND (${targetType}::text IS NULL OR target_type = ${targetType})
          AND (${targetId}::text IS NULL OR target_id = ${targetId}) AND (${actor}::bigint IS NULL OR actor_key_id = ${actor})
        ORDER BY id DESC LIMIT ${limit} OFFSET ${page.offset}`
      return rows.map((row) => ({ ...row, id: Number(row.id), actor_key_id: row.actor_key_id === null ? null : Number(row.actor_key_id) }))
    },
    /**
     * Deletes the events older than `cutoff` (ISO time) among the `slice` with the lowest ids
     * (events are written in time order); returns how many.
     */
    async pruneOlderThan(cutoff: string, slice: number): Promise<number> {
      const result = await sql`DELETE FROM audit_events WHERE id IN (SELECT id FROM audit_events ORDER BY id LIMIT ${slice}) AND at < ${cutoff}`
      return result.count
    },
  }
}
