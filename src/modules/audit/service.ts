import { authorize } from '../../access/policy'
import type { Principal } from '../../access/principal'
import type { Actor, Core } from '../../core'
import type { AuditEventView, AuditListQuery } from './model'
import type { AuditEventRow } from './repository'

/** Records one audit event. Call inside the transaction of the change it describes. */
export function recordAudit(
  core: Core,
  actor: Actor,
  action: string,
  target: { type: string; id: string | number },
  details: Record<string, unknown> = {},
): void {
  core.store.audit.insert({
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
 * GET /audit/: the caller's user's events, newest first. Reading the whole log needs an
 * `all` key without limits: a limited key would otherwise see changes beyond its reach.
 */
export function listAuditEvents(core: Core, principal: Principal, query: AuditListQuery): AuditEventView[] {
  authorize(principal, { mode: 'all', on: 'unlimited' })
  const { limit = 100, page = 0, ...filters } = query
  const offset = page * limit
  // SQLite refuses an OFFSET beyond a 64-bit integer; no user has that many events anyway.
  if (!Number.isSafeInteger(offset)) return []
  return core.store.audit.listByUser(principal.userId, filters, limit, offset).map(toAuditEventView)
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
