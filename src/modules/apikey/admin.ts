/** Operator functions for the offline CLI: outside any key's reach rules, for lost or leaked keys. */
import { operatorGranter, type KeyTerms } from '../../access/grant'
import type { Mode } from '../../access/modes'
import type { Actor, Core } from '../../core'
import { notFound } from '../../errors'
import { normalizeName } from '../../validation'
import { recordAudit } from '../audit/service'
import type { ApiKeyView } from './model'
import { newKeyPolicyEnd } from './policies'
import { checkWrite, issueKey, view } from './service'

/** What the CLI writes in the audit log as the actor: the operator, with no key. */
export const operatorOf = (userId: string): Actor => ({ userId, keyId: null, ip: null, userAgent: 'codepushgo-cli' })

/**
 * A key without limits made by the operator: it expires as the key policy says (the operator's
 * keys obey --max-key-lifetime-days too) and is audited in the user's log with no actor key.
 * The view carries the full key, once. Call inside a transaction.
 */
export function operatorKey(core: Core, userId: string, input: { name: string; mode: Mode }): ApiKeyView {
  const name = normalizeName(input.name)
  const terms: KeyTerms = {
    mode: input.mode, limited_to_apps: [], limited_to_orgs: [], expires_at: newKeyPolicyEnd(core), rate_limit: null, enabled: true,
    created_at: core.clock.now().toISOString(),
  }
  checkWrite(core, operatorGranter(core.readModel.memberships(userId)), terms)
  const { record, key } = issueKey(core, userId, { name, ...terms })
  recordAudit(core, operatorOf(userId), 'apikey.create', { type: 'apikey', id: record.id }, { name, mode: terms.mode, limited_to_apps: [], limited_to_orgs: [], expires_at: terms.expires_at })
  return view(core, record, key)
}

/**
 * `operatorKey` in a transaction of its own: for a user who has no key left that works (lost,
 * or all expired under --max-key-lifetime-days, since a key can hand out none that outlives it).
 */
export function issueKeyFor(core: Core, userId: string, input: { name: string; mode: Mode }): ApiKeyView {
  return core.store.write(() => operatorKey(core, userId, input))
}

/** A user's keys, masked, newest first. */
export function listKeysOfUser(core: Core, userId: string): ApiKeyView[] {
  return core.store.apikeys.listByUser(userId).map((key) => view(core, key))
}

/** Deletes a key; audited in the owner's log, with no actor key. */
export function revokeKey(core: Core, id: number): void {
  core.store.write(() => {
    const record = core.store.apikeys.findById(id)
    if (!record) throw notFound()
    core.store.apikeys.delete(id)
    recordAudit(core, operatorOf(record.user_id), 'apikey.revoke', { type: 'apikey', id }, { name: record.name, mode: record.mode })
  })
}
