/**
 * Every repository over one database, built once so their statements are prepared once, and
 * sharing one ReadCache for the lookups that every request makes and one GroupCommit.
 */
import type { Database } from 'bun:sqlite'
import { GroupCommit } from './db/group-commit'
import { ReadCache } from './db/read-cache'
import { keyPolicyRepository } from './db/key-policies'
import { apiKeyRepository } from './modules/apikey/repository'
import { appRepository } from './modules/app/repository'
import { auditRepository } from './modules/audit/repository'
import { organizationRepository } from './modules/organization/repository'
import { userRepository } from './modules/user/repository'

export function createStore(db: Database) {
  const cache = new ReadCache(db)
  return {
    db,
    cache,
    /** The transaction that key writes arriving together share (src/db/group-commit.ts). */
    groupCommit: new GroupCommit(db),
    users: userRepository(db),
    orgs: organizationRepository(db, cache),
    apps: appRepository(db, cache),
    apikeys: apiKeyRepository(db, cache),
    audit: auditRepository(db),
    keyPolicies: keyPolicyRepository(db, cache),
  }
}

export type Store = ReturnType<typeof createStore>
