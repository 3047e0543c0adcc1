/** Every repository over one database, built once so their statements are prepared once. */
import type { Database } from 'bun:sqlite'
import { apiKeyRepository } from './modules/apikey/repository'
import { appRepository } from './modules/app/repository'
import { auditRepository } from './modules/audit/repository'
import { organizationRepository } from './modules/organization/repository'
import { userRepository } from './modules/user/repository'

export function createStore(db: Database) {
  return {
    db,
    users: userRepository(db),
    orgs: organizationRepository(db),
    apps: appRepository(db),
    apikeys: apiKeyRepository(db),
    audit: auditRepository(db),
  }
}

export type Store = ReturnType<typeof createStore>
