/**
 * Every repository over one database, built once so their statements are prepared once, with
 * the write transactions that tell the read model what they changed (src/db/transactions.ts)
 * and the group commit that key writes share.
 */
import type { Database } from 'bun:sqlite'
import { GroupCommit } from './db/group-commit'
import { keyPolicyRepository } from './db/key-policies'
import { Transactions } from './db/transactions'
import { apiKeyRepository } from './modules/apikey/repository'
import { appRepository } from './modules/app/repository'
import { auditRepository } from './modules/audit/repository'
import { organizationRepository } from './modules/organization/repository'
import { userRepository } from './modules/user/repository'

export function createStore(db: Database) {
  const transactions = new Transactions(db)
  return {
    db,
    transactions,
    /** Runs `fn` in a write transaction (a savepoint inside one); see src/db/transactions.ts. */
    write: <T>(fn: () => T): T => transactions.write(fn),
    /** The transaction that key writes arriving together share (src/db/group-commit.ts). */
    groupCommit: new GroupCommit(db, transactions),
    users: userRepository(db),
    orgs: organizationRepository(db, transactions),
    apps: appRepository(db, transactions),
    apikeys: apiKeyRepository(db, transactions),
    audit: auditRepository(db),
    keyPolicies: keyPolicyRepository(db, transactions),
  }
}

export type Store = ReturnType<typeof createStore>
