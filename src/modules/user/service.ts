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
import type { Tx } from '../../store/types'

export interface NewUserResult {
  user: UserRecord
  organization: OrgRecord
  /** An `all` key with the full secret: shown once. */
  apikey: ApiKeyView
}

/** Creates a user, an org they own and an `all` key for them, in one transaction. */
export function createUser(core: Core, input: NewUserInput): Promise<NewUserResult> {
  return core.store.write((tx) => insertUser(core, tx, input))
}

/**
 * The first run's user: created only if there is no user yet, decided inside the write. Writers
 * take turns, so instances starting together on one empty database make one first user, and
 * the others get null.
 */
export function createFirstUser(core: Core, input: NewUserInput): Promise<NewUserResult | null> {
  return core.store.write(async (tx) => ((await tx.users.count()) > 0 ? null : insertUser(core, tx, input)))
}

interface NewUserInput {
  email: string
  name?: string
  orgName?: string
}

async function insertUser(core: Core, tx: Tx, input: NewUserInput): Promise<NewUserResult> {
  const email = normalizeEmail(input.email)
  const name = normalizeName(input.name ?? email.split('@')[0]!)
  if (await tx.users.findByEmail(email)) throw conflict(`A user with email ${email} already exists`)
  const user: UserRecord = { id: newId('usr'), email, name, created_at: core.clock.now().toISOString() }
  await tx.users.insert(user)
  const actor = operatorOf(user.id)
  const organization = await createOrganization(core, tx, actor, { name: input.orgName ?? `${name}'s organization` })
  return { user, organization, apikey: await operatorKey(core, tx, user.id, { name: 'Admin key', mode: 'all' }) }
}
