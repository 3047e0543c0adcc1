/** Apps: reverse-domain ids, globally unique, each in one org. Checks go through `authorize`. */
import type { Mode } from '../../access/modes'
import { authorize, isAllowed } from '../../access/policy'
import type { Principal } from '../../access/principal'
import { writeAs } from '../../access/write-as'
import type { Actor, Core } from '../../core'
import { conflict, notFound } from '../../errors'
import { checkAppId, normalizeName } from '../../validation'
import { recordAudit, renameRecord } from '../audit/service'
import type { CachedKey } from '../../read-model/cached-key'
import type { CachedApp } from '../../read-model/entries'
import type { AppRecord } from '../../store/records'
import { then } from '../../store/awaitable'
import type { Awaitable, Tx } from '../../store/types'

/** Creates an app in an org, in the transaction. Call with an authorized actor (or through `createAppFor`). Named apart from the HTTP app factory `createApp`. */
export async function registerApp(core: Core, tx: Tx, actor: Actor, input: { app_id: string; name: string; org_id: string }): Promise<AppRecord> {
  checkAppId(input.app_id)
  const name = normalizeName(input.name)
  const taken = await tx.apps.takenAnyCase(input.app_id)
  if (taken !== null) throw conflict(`App id ${input.app_id} is already taken${taken === input.app_id ? '' : ` (as ${taken})`}`)
  // Keys may still be limited to a deleted app's id: it must never name another app.
  const retired = await tx.apps.retiredAnyCase(input.app_id)
  if (retired !== null) throw conflict(`App id ${input.app_id} belonged to a deleted app${retired === input.app_id ? '' : ` (${retired})`} and cannot be reused`)
  const now = core.clock.now().toISOString()
  const app: AppRecord = { app_id: input.app_id, org_id: input.org_id, name, created_at: now, updated_at: now }
  await tx.apps.insert(app)
  await recordAudit(core, tx, actor, 'app.create', { type: 'app', id: app.app_id }, { name, org_id: app.org_id })
  return app
}

/** POST /app/: creating an app changes its org, so it needs `write` on the org. */
export async function createAppFor(core: Core, principal: Principal, actor: Actor, input: { app_id: string; name: string; org_id: string }): Promise<AppRecord> {
  authorize(principal, { mode: 'write', on: 'org', orgId: input.org_id })
  checkAppId(input.app_id)
  normalizeName(input.name)
  return writeAs(core, principal, ({ tx }) => registerApp(core, tx, actor, input))
}

/**
 * Apps within the key's reach, optionally of one org. What a key reaches depends on its user's
 * memberships and apps, its mode and its limits, and changes only with a write, so the read
 * model keeps it per user and reach: keys alike share one entry (10,000 keys of 100 users made
 * 10,000 copies, 6 MB). Each request only filters by org.
 */
export function listApps(core: Core, caller: CachedKey, filter: { org_id?: string }): Awaitable<readonly CachedApp[]> {
  const reached = core.readModel.appsReached(caller, (apps, memberships) => {
    // With the memberships as they are now (the caller's may be from before another process's commit).
    const current: Principal = { ...caller, memberships }
    return apps.filter(({ record }) => isAllowed(current, { mode: 'read', on: 'app', orgId: record.org_id, appId: record.app_id }))
  })
  return filter.org_id === undefined ? reached : then(reached, (apps) => apps.filter(({ record }) => record.org_id === filter.org_id))
}

/** The app, once `principal` may do `mode` on it (404 when unknown or beyond reach). */
async function reachApp(apps: { app(appId: string): Awaitable<AppRecord | null> }, principal: Principal, appId: string, mode: Mode): Promise<AppRecord> {
  const app = await apps.app(appId)
  if (!app) throw notFound('App not found')
  authorize(principal, { mode, on: 'app', orgId: app.org_id, appId })
  return app
}

export function getApp(core: Core, principal: Principal, appId: string): Promise<AppRecord> {
  return reachApp(core.readModel, principal, appId, 'read')
}

export async function renameApp(core: Core, principal: Principal, actor: Actor, appId: string, input: { name: string }): Promise<AppRecord> {
  const name = normalizeName(input.name)
  return writeAs(core, principal, async ({ tx, fresh }) => {
    const app = await reachApp(fresh, principal, appId, 'write')
    const { record, changes } = await renameRecord(app, name, core.clock.now().toISOString(), (to, at) => tx.apps.rename(appId, to, at))
    if (changes.name !== undefined) await recordAudit(core, tx, actor, 'app.update', { type: 'app', id: appId }, changes)
    return record
  })
}

export async function deleteApp(core: Core, principal: Principal, actor: Actor, appId: string): Promise<void> {
  await writeAs(core, principal, async ({ tx, fresh }) => {
    const app = await reachApp(fresh, principal, appId, 'all')
    await tx.apps.delete(appId, core.clock.now().toISOString())
    await recordAudit(core, tx, actor, 'app.delete', { type: 'app', id: appId }, { name: app.name, org_id: app.org_id })
  })
}
