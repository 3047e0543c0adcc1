import type { Actor, Core } from '../../core'

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
