import { authorize } from '../../access/policy'
import type { Principal } from '../../access/principal'
import type { Actor, Core } from '../../core'
import { validationError } from '../../errors'
import { pageStart } from '../../http/schemas'
import type { AuditEventView, AuditListQuery } from './model'
import type { AuditEventRow } from '../../store/records'
import type { Awaitable, Tx } from '../../store/types'

/** Records one audit event, in the transaction of the change it describes. */
export function recordAudit(
  core: Core,
  tx: Tx,
  actor: Actor,
  action: string,
  target: { type: string; id: string | number },
  details: Record<string, unknown> = {},
): Awaitable<void> {
  return tx.audit.insert({
    at: core.clock.now().toISOString(),
    user_id: actor.userId,
    actor_key_id: actor.keyId,
    action,
    target_type: target.type,
    target_id: String(target.id),
    ip: actor.ip,
    user_agent: actor.userAgent,
    details,
  })
}

/**
 * Renames an org or an app in the transaction, at `at` (`rename` stores the name): the record
 * as it is now, and what its audit event says of the change (`{}`: the name was the same, and
 * nothing was written).
 */
export async function renameRecord<R extends { name: string; updated_at: string }>(
  record: R,
  name: string,
  at: string,
  rename: (name: string, at: string) => Awaitable<void>,
): Promise<{ record: R; changes: { name?: string; previous_name?: string } }> {
  if (name === record.name) return { record, changes: {} }
  await rename(name, at)
  return { record: { ...record, name, updated_at: at }, changes: { name, previous_name: record.name } }
}

/**
 * The deepest a `?page=` may start: SQLite steps over every event before it, about 4 ms per
 * 100,000 (docs/performance.md, "Paging"), and a request must not hold the server longer.
 * `?after=` reaches any depth at the cost of the first page.
 */
export const MAX_AUDIT_OFFSET = 100_000

/**
 * GET /audit/: the caller's user's events, newest first. Reading the whole log needs an
 * `all` key without limits: a limited key would otherwise see changes beyond its reach.
 */
export async function listAuditEvents(core: Core, principal: Principal, query: AuditListQuery): Promise<AuditEventView[]> {
  authorize(principal, { mode: 'all', on: 'unlimited' })
  const { limit = 100, page: _, after: __, ...filters } = query
  const start = pageStart(query)
  if ('after' in start) return (await core.store.audit.listByUser(principal.userId, filters, { before: start.after, offset: 0 }, limit)).map(toAuditEventView)
  const offset = start.page * limit
  if (offset > MAX_AUDIT_OFFSET)
    throw validationError(`Invalid query field 'page': pages may start at most ${MAX_AUDIT_OFFSET} events deep; use 'after' (the id of the last event of the previous page) to go further`)
  return (await core.store.audit.listByUser(principal.userId, filters, { before: Number.MAX_SAFE_INTEGER, offset }, limit)).map(toAuditEventView)
}

function toAuditEventView(row: AuditEventRow): AuditEventView {
  return { ...row, details: parseDetails(row.details) }
}

/** `details` is written by `recordAudit` as a JSON object; anything else reads as `{}`. */
function parseDetails(text: string): Record<string, unknown> {
  try {
    const value: unknown = JSON.parse(text)
    return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : {}
  } catch {
    return {}
  }
}
