/** Apps: reverse-domain ids, globally unique, each in one org. */
import type { Actor, Core } from '../../core'
import { inTransaction } from '../../db/database'
import { conflict, validationError } from '../../errors'
import { normalizeName } from '../apikey/validate'
import { recordAudit } from '../audit/service'
import type { AppRecord } from './repository'

/** Letters, digits, `.`, `_`, `-`; 3–128 characters; at least one dot (`com.demo.app`). */
export const APP_ID_PATTERN = /^(?=.{3,128}$)(?=[^.]*\.)[A-Za-z0-9._-]+$/

export function createApp(core: Core, actor: Actor, input: { app_id: string; name: string; org_id: string }): AppRecord {
  if (!APP_ID_PATTERN.test(input.app_id))
    throw validationError('app_id must be a reverse-domain identifier: 3-128 letters, digits, ".", "_" or "-", with at least one dot')
  const name = normalizeName(input.name)
  return inTransaction(core.store.db, () => {
    if (core.store.apps.findById(input.app_id)) throw conflict(`App id ${input.app_id} is already taken`)
    const now = core.clock.now().toISOString()
    const app: AppRecord = { app_id: input.app_id, org_id: input.org_id, name, created_at: now, updated_at: now }
    core.store.apps.insert(app)
    recordAudit(core, actor, 'app.create', { type: 'app', id: app.app_id }, { name, org_id: app.org_id })
    return app
  })
}
