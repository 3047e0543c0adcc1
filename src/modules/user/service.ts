/** Users, created by the operator (CLI) or at first run; there is no sign-up over HTTP. */
import type { Core } from '../../core'
import { inTransaction } from '../../db/database'
import { conflict, validationError } from '../../errors'
import { newId } from '../../ids'
import { operatorOf } from '../apikey/admin'
import { policyBound } from '../apikey/expiry'
import { issueKey } from '../apikey/service'
import { toApiKeyView } from '../apikey/view'
import type { ApiKeyView } from '../apikey/model'
import { normalizeName } from '../apikey/validate'
import { recordAudit } from '../audit/service'
import { createOrganization } from '../organization/service'
import type { OrgRecord } from '../organization/repository'
import type { UserRecord } from './repository'

const EMAIL = /^[^\s@]+@[^\s@]+$/

export interface NewUserResult {
  user: UserRecord
  organization: OrgRecord
  /** An `all` key with the full secret: shown once. */
  apikey: ApiKeyView
}

/** Creates a user, an org they own and an `all` key for them, in one transaction. */
export function createUser(core: Core, input: { email: string; name?: string; orgName?: string }): NewUserResult {
  const email = input.email.trim()
  if (!EMAIL.test(email) || email.length > 254) throw validationError('email must be a valid email address')
  const name = normalizeName(input.name ?? email.split('@')[0]!)
  return inTransaction(core.store.db, () => {
    if (core.store.users.findByEmail(email)) throw conflict(`A user with email ${email} already exists`)
    const user: UserRecord = { id: newId('usr'), email, name, created_at: core.clock.now().toISOString() }
    core.store.users.insert(user)
    const actor = operatorOf(user.id)
    const organization = createOrganization(core, actor, { name: input.orgName ?? `${name}'s organization` })
    // Under --max-key-lifetime-days the operator's key obeys the policy too.
    const { record, key } = issueKey(core, user.id, {
      name: 'Admin key', mode: 'all', limited_to_apps: [], limited_to_orgs: [], expires_at: policyBound(core),
    })
    recordAudit(core, actor, 'apikey.create', { type: 'apikey', id: record.id }, { name: record.name, mode: 'all' })
    return { user, organization, apikey: toApiKeyView(record, null, key) }
  })
}
