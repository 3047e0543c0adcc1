/** Users, created by the operator (CLI) or at first run; there is no sign-up over HTTP. */
import type { Core } from '../../core'
import { conflict } from '../../errors'
import { newId } from '../../ids'
import { operatorKey, operatorOf } from '../apikey/admin'
import type { ApiKeyView } from '../apikey/model'
import { createOrganization } from '../organization/service'
import type { OrgRecord } from '../../store/records'
import { normalizeEmail, normalizeName } from '../../validation'
import type { UserRecord } from '../../store/records'

export interface NewUserResult {
  user: UserRecord
  organization: OrgRecord
  /** An `all` key with the full secret: shown once. */
  apikey: ApiKeyView
}

/** Creates a user, an org they own and an `all` key for them, in one transaction. */
export function createUser(core: Core, input: { email: string; name?: string; orgName?: string }): Promise<NewUserResult> {
  const email = normalizeEmail(input.email)
  const name = normalizeName(input.name ?? email.split('@')[0]!)
  return core.store.write(async (tx) => {
    if (await tx.users.findByEmail(email)) throw conflict(`A user with email ${email} already exists`)
    const user: UserRecord = { id: newId('usr'), email, name, created_at: core.clock.now().toISOString() }
    await tx.users.insert(user)
    const actor = operatorOf(user.id)
    const organization = await createOrganization(core, tx, actor, { name: input.orgName ?? `${name}'s organization` })
    return { user, organization, apikey: await operatorKey(core, tx, user.id, { name: 'Admin key', mode: 'all' }) }
  })
}
