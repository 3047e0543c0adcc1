/** Organizations and their members. */
import type { Actor, Core } from '../../core'
import { inTransaction } from '../../db/database'
import { newId } from '../../ids'
import { normalizeName } from '../apikey/validate'
import { recordAudit } from '../audit/service'
import type { OrgRecord } from './repository'

/** Creates an org with `actor.userId` as its `all` member. */
export function createOrganization(core: Core, actor: Actor, input: { name: string }): OrgRecord {
  const name = normalizeName(input.name)
  return inTransaction(core.store.db, () => {
    const now = core.clock.now().toISOString()
    const org: OrgRecord = { id: newId('org'), name, created_by: actor.userId, created_at: now, updated_at: now }
    core.store.orgs.insert(org)
    core.store.orgs.addMember({ org_id: org.id, user_id: actor.userId, role: 'all', created_at: now })
    recordAudit(core, actor, 'organization.create', { type: 'organization', id: org.id }, { name })
    return org
  })
}
