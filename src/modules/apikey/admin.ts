/** Operator functions for the offline CLI: outside any key's reach rules, for lost or leaked keys. */
import type { Mode } from '../../access/modes'
import type { Actor, Core } from '../../core'
import { inTransaction } from '../../db/database'
import { notFound } from '../../errors'
import { recordAudit } from '../audit/service'
import { policyBound } from './expiry'
import type { ApiKeyView } from './model'
import { issueKey } from './service'
import { normalizeName } from './validate'
import { toApiKeyView } from './view'

/** What the CLI writes in the audit log as the actor: the operator, with no key. */
export const operatorOf = (userId: string): Actor => ({ userId, keyId: null, ip: null, userAgent: 'codepushgo-cli' })

/**
 * A new unlimited key for a user who has none left that works (lost, or all expired under
 * --max-key-lifetime-days, since a key can hand out none that outlives it). Expires as the
 * server policy says; audited in the user's log. The view carries the full key, once.
 */
export function issueKeyFor(core: Core, userId: string, input: { name: string; mode: Mode }): ApiKeyView {
  const name = normalizeName(input.name)
  return inTransaction(core.store.db, () => {
    const settings = { name, mode: input.mode, limited_to_apps: [], limited_to_orgs: [], expires_at: policyBound(core) }
    const { record, key } = issueKey(core, userId, settings)
    recordAudit(core, operatorOf(userId), 'apikey.create', { type: 'apikey', id: record.id }, settings)
    return toApiKeyView(record, null, key)
  })
}

/** A user's keys, masked, newest first. */
export function listKeysOfUser(core: Core, userId: string): ApiKeyView[] {
  return core.store.apikeys.listByUser(userId).map((key) => toApiKeyView(key, core.usage))
}

/** Deletes a key; audited in the owner's log, with no actor key. */
export function revokeKey(core: Core, id: number): void {
  inTransaction(core.store.db, () => {
    const record = core.store.apikeys.findById(id)
    if (!record) throw notFound()
    core.store.apikeys.delete(id)
    recordAudit(core, operatorOf(record.user_id), 'apikey.revoke', { type: 'apikey', id }, { name: record.name, mode: record.mode })
  })
}
