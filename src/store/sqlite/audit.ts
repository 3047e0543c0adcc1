/** Audit events on SQLite. */
import type { Database } from 'bun:sqlite'
import type { AuditEventRow, AuditFilters, NewAuditEvent } from '../records'
import type { AuditRepo, Awaitable } from '../types'

/**
 * How many of a user's events a filtered page reads per turn of the event loop: about 2 ms
 * (docs/performance.md, "Paging"). A filter has no index of its own, which every write would
 * pay for (docs/performance.md, "Writes").
 */
export const FILTER_SLICE = 10_000

const COLUMNS = 'id, at, user_id, actor_key_id, action, target_type, target_id, ip, user_agent, details'

/** A filter left null matches every event. */
const FILTERS = '(?4 IS NULL OR action = ?4) AND (?5 IS NULL OR target_type = ?5) AND (?6 IS NULL OR target_id = ?6) AND (?7 IS NULL OR actor_key_id = ?7)'

const yieldTurn = () => new Promise<void>((resolve) => setImmediate(resolve))

export function auditRepository(db: Database): AuditRepo {
  const insert = db.prepare<never, Record<string, string | number | null>>(
    `INSERT INTO audit_events (at, user_id, actor_key_id, action, target_type, target_id, ip, user_agent, details)
     VALUES ($at, $user_id, $actor_key_id, $action, $target_type, $target_id, $ip, $user_agent, $details)`,
  )
  // A range of audit_events_by_user below `before` (the keyset), in its order: it starts where
  // it should, whatever the depth (test/query-plans.test.ts).
  const page = db.prepare<AuditEventRow, [string, number, number, number]>(
    `SELECT ${COLUMNS} FROM audit_events WHERE user_id = ?1 AND id < ?2 ORDER BY id DESC LIMIT ?3 OFFSET ?4`,
  )
  // The id of the FILTER_SLICE-th event below `before`: where a slice ends (the index alone).
  const sliceEnd = db.prepare<{ id: number }, [string, number, number]>(
    'SELECT id FROM audit_events WHERE user_id = ?1 AND id < ?2 ORDER BY id DESC LIMIT 1 OFFSET ?3',
  )
  // The matches among one slice of the user's events, [?3, ?2), newest first.
  const matches = db.prepare<AuditEventRow, [string, number, number, string | null, string | null, string | null, number | null, number]>(
    `SELECT ${COLUMNS} FROM audit_events WHERE user_id = ?1 AND id < ?2 AND id >= ?3 AND ${FILTERS} ORDER BY id DESC LIMIT ?8`,
  )

  /** A filtered page: the user's events read slice by slice, newest first, a turn of the event loop between slices. */
  async function filteredPage(userId: string, filters: AuditFilters, { before, offset }: { before: number; offset: number }, limit: number) {
    const { action = null, target_type = null, target_id = null, actor_key_id = null } = filters
    const rows: AuditEventRow[] = []
    let skip = offset
    for (;;) {
      const end = sliceEnd.get(userId, before, FILTER_SLICE - 1)?.id ?? 0
      for (const row of matches.all(userId, before, end, action, target_type, target_id, actor_key_id, skip + limit - rows.length)) {
        if (skip > 0) skip--
        else rows.push(row)
      }
      if (rows.length === limit || end === 0) return rows
      before = end
      await yieldTurn()
    }
  }

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
     * skipping `offset`. Unfiltered, one index range; filtered, a promise of the slices' matches.
     */
    listByUser: (userId: string, filters: AuditFilters, at: { before: number; offset: number }, limit: number): Awaitable<AuditEventRow[]> =>
      Object.values(filters).every((value) => value === undefined)
        ? page.all(userId, at.before, limit, at.offset)
        : filteredPage(userId, filters, at, limit),
    /**
     * Deletes the events older than `cutoff` (ISO time) among the `slice` with the lowest ids;
     * returns how many. Fewer than `slice` means it reached the events to keep.
     */
    pruneOlderThan: (cutoff: string, slice: number) => pruneOldest.run(slice, cutoff).changes,
  }
}
