/** Operator functions for the offline CLI: outside any key's reach rules, for lost or leaked keys. */
import type { Actor, Core } from '../../core'
import { inTransaction } from '../../db/database'
import { notFound } from '../../errors'
import { recordAudit } from '../audit/service'
import type { ApiKeyView } from './model'
import { toApiKeyView } from './view'

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
    const operator: Actor = { userId: record.user_id, keyId: null, ip: null, userAgent: 'codepushgo-cli' }
    recordAudit(core, operator, 'apikey.revoke', { type: 'apikey', id }, { name: record.name, mode: record.mode })
  })
}
