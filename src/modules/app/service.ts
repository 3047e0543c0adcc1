/** Apps: reverse-domain ids, globally unique, each in one org. Checks go through `authorize`. */
import type { Mode } from '../../access/modes'
import { authorize, isAllowed } from '../../access/policy'
import type { Principal } from '../../access/principal'
import type { Actor, Core } from '../../core'
import { conflict, notFound } from '../../errors'
import { checkAppId, normalizeName } from '../../validation'
import { recordAudit } from '../audit/service'
import type { CachedKey } from '../../read-model/cached-key'
import type { CachedApp } from '../../read-model/entries'
import type { AppRecord } from '../../store/records'

/** Creates an app in an org. Call with an authorized actor (or through `createAppFor`). Named apart from the HTTP app factory `createApp`. */
export function registerApp(core: Core, actor: Actor, input: { app_id: string; name: string; org_id: string }): AppRecord {
  checkAppId(input.app_id)
  const name = normalizeName(input.name)
  return core.store.write(() => {
    const taken = core.store.apps.takenAnyCase(input.app_id)
    if (taken !== null) throw conflict(`App id ${input.app_id} is already taken${taken === input.app_id ? '' : ` (as ${taken})`}`)
    // Keys may still be limited to a deleted app's id: it must never name another app.
    const retired = core.store.apps.retiredAnyCase(input.app_id)
    if (retired !== null) throw conflict(`App id ${input.app_id} belonged to a deleted app${retired === input.app_id ? '' : ` (${retired})`} and cannot be reused`)
    const now = core.clock.now().toISOString()
    const app: AppRecord = { app_id: input.app_id, org_id: input.org_id, name, created_at: now, updated_at: now }
    core.store.apps.insert(app)
    recordAudit(core, actor, 'app.create', { type: 'app', id: app.app_id }, { name, org_id: app.org_id })
    return app
  })
}

/** POST /app/: creating an app changes its org, so it needs `write` on the org. */
export function createAppFor(core: Core, principal: Principal, actor: Actor, input: { app_id: string; name: string; org_id: string }): AppRecord {
  authorize(principal, { mode: 'write', on: 'org', orgId: input.org_id })
  return registerApp(core, actor, input)
}

/**
 * Apps within the key's reach, optionally of one org. What a key reaches depends on its user's
 * memberships and apps, its mode and its limits, and changes only with a write, so the read
 * model keeps it per user and reach: keys alike share one entry (10,000 keys of 100 users made
 * 10,000 copies, 6 MB). Each request only filters by org.
 */
export function listApps(core: Core, caller: CachedKey, filter: { org_id?: string }): readonly CachedApp[] {
  const reached = core.readModel.appsReached(caller, (apps, memberships) => {
    // With the memberships as they are now (the caller's may be from before another process's commit).
    const current: Principal = { ...caller, memberships }
    return apps.filter(({ record }) => isAllowed(current, { mode: 'read', on: 'app', orgId: record.org_id, appId: record.app_id }))
  })
  return filter.org_id === undefined ? reached : reached.filter(({ record }) => record.org_id === filter.org_id)
}

/** The app, once `principal` may do `mode` on it (404 when unknown or beyond reach). */
function reachApp(core: Core, principal: Principal, appId: string, mode: Mode): AppRecord {
  const app = core.readModel.app(appId)
  if (!app) throw notFound('App not found')
  authorize(principal, { mode, on: 'app', orgId: app.org_id, appId })
  return app
}

export function getApp(core: Core, principal: Principal, appId: string): AppRecord {
  return reachApp(core, principal, appId, 'read')
}

export function renameApp(core: Core, principal: Principal, actor: Actor, appId: string, input: { name: string }): AppRecord {
  const name = normalizeName(input.name)
  return core.store.write(() => {
    const app = reachApp(core, principal, appId, 'write')
    const now = core.clock.now().toISOString()
    core.store.apps.rename(appId, name, now)
    recordAudit(core, actor, 'app.update', { type: 'app', id: appId }, { name, previous_name: app.name })
    return { ...app, name, updated_at: now }
  })
}

export function deleteApp(core: Core, principal: Principal, actor: Actor, appId: string): void {
  core.store.write(() => {
    const app = reachApp(core, principal, appId, 'all')
    core.store.apps.delete(appId, core.clock.now().toISOString())
    recordAudit(core, actor, 'app.delete', { type: 'app', id: appId }, { name: app.name, org_id: app.org_id })
  })
}
