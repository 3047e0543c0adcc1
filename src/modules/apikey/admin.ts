/** Operator functions for the offline CLI: outside any key's reach rules, for lost or leaked keys. */
import { operatorGranter, type KeyTerms } from '../../access/grant'
import type { Mode } from '../../access/modes'
import type { Actor, Core } from '../../core'
import { notFound } from '../../errors'
import { normalizeName } from '../../validation'
import { recordAudit } from '../audit/service'
import type { ApiKeyView } from './model'
import { newKeyPolicyEnd } from './policies'
import type { Tx } from '../../store/types'
import { checkWrite, issueKey, view } from './service'

/** What the CLI writes in the audit log as the actor: the operator, with no key. */
export const operatorOf = (userId: string): Actor => ({ userId, keyId: null, ip: null, userAgent: 'codepushgo-cli' })

/**
 * A key without limits made by the operator in the transaction: it expires as the key policy
 * says (the operator's keys obey --max-key-lifetime-days too) and is audited in the user's log
 * with no actor key. The view carries the full key, once.
 */
export async function operatorKey(core: Core, tx: Tx, userId: string, input: { name: string; mode: Mode }): Promise<ApiKeyView> {
  const name = normalizeName(input.name)
  const fresh = core.readModel.uncached(tx)
  const terms: KeyTerms = {
    mode: input.mode, limited_to_apps: [], limited_to_orgs: [], expires_at: await newKeyPolicyEnd(core, fresh), rate_limit: null, enabled: true,
    created_at: core.clock.now().toISOString(),
  }
  await checkWrite(core, fresh, operatorGranter(await fresh.memberships(userId)), terms)
  const { record, key } = await issueKey(core, tx, userId, { name, ...terms })
  await recordAudit(core, tx, operatorOf(userId), 'apikey.create', { type: 'apikey', id: record.id }, {
    name, mode: terms.mode, limited_to_apps: [], limited_to_orgs: [], expires_at: terms.expires_at,
  })
  return view(fresh, record, key)
}

/**
 * `operatorKey` in a transaction of its own: for a user who has no key left that works (lost,
 * or all expired under --max-key-lifetime-days, since a key can hand out none that outlives it).
 */
export function issueKeyFor(core: Core, userId: string, input: { name: string; mode: Mode }): Promise<ApiKeyView> {
  return core.store.write((tx) => operatorKey(core, tx, userId, input))
}

/** A user's keys, masked, newest first. */
export async function listKeysOfUser(core: Core, userId: string): Promise<ApiKeyView[]> {
  const keys = await core.store.apikeys.listByUser(userId)
  return Promise.all(keys.map((key) => view(core.readModel, key)))
}

/** Deletes a key; audited in the owner's log, with no actor key. */
export function revokeKey(core: Core, id: number): Promise<void> {
  return core.store.write(async (tx) => {
    const record = await tx.apikeys.findById(id)
    if (!record) throw notFound()
    await tx.apikeys.delete(id)
    await recordAudit(core, tx, operatorOf(record.user_id), 'apikey.revoke', { type: 'apikey', id }, { name: record.name, mode: record.mode })
  })
}
