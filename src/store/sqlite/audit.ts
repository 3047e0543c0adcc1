/** Audit events on SQLite. */
import type { Database } from 'bun:sqlite'
import type { AuditEventRow, AuditFilters, NewAuditEvent } from '../records'
import type { AuditRepo } from '../types'

type ListParameters = [string, number, string | null, string | null, string | null, number | null, number, number]

/**
 * The filters each index on audit_events leads with after `user_id` (migrations 0001 and 0006),
 * the most selective first; the last, none, is audit_events_by_user.
 */
const INDEX_LEADS: (keyof AuditFilters)[][] = [['target_type', 'target_id'], ['actor_key_id'], ['action'], []]

/**
 * A page of a user's events below `id` ?2 (the keyset), newest first, stepping over ?8 matches.
 * The filters `lead` names are equalities, so the page is a range of the index that leads with
 * them, in its order (test/query-plans.test.ts); any other filter is checked on the rows that
 * range holds, and matches every event when left null.
 */
function listSql(lead: readonly (keyof AuditFilters)[]): string {
  const filters = (['action', 'target_type', 'target_id', 'actor_key_id'] as const).map((column, i) =>
    lead.includes(column) ? `${column} = ?${i + 3}` : `(?${i + 3} IS NULL OR ${column} = ?${i + 3})`)
  return `SELECT id, at, user_id, actor_key_id, action, target_type, target_id, ip, user_agent, details
     FROM audit_events WHERE user_id = ?1 AND id < ?2 AND ${filters.join(' AND ')}
     ORDER BY id DESC LIMIT ?7 OFFSET ?8`
}

export function auditRepository(db: Database): AuditRepo {
  const insert = db.prepare<never, Record<string, string | number | null>>(
    `INSERT INTO audit_events (at, user_id, actor_key_id, action, target_type, target_id, ip, user_agent, details)
     VALUES ($at, $user_id, $actor_key_id, $action, $target_type, $target_id, $ip, $user_agent, $details)`,
  )
  const lists = INDEX_LEADS.map((lead) => ({ lead, statement: db.prepare<AuditEventRow, ListParameters>(listSql(lead)) }))
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
      lists.find(({ lead }) => lead.every((column) => filters[column] !== undefined))!.statement.all(
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

