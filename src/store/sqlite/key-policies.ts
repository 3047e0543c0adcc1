/**
 * Storage of the key lifetime policies that have been in force (the `key_policies` table of
 * migration 0004) on SQLite: the server's, scope 'server', and each org's, scope its id. The
 * read model keeps them (src/read-model/read-model.ts).
 */
import type { Database } from 'bun:sqlite'
import type { LifetimePolicy } from '../../access/lifetime'
import { EVERYTHING, type Change } from '../../read-model/changes'
import type { KeyPolicyRepo } from '../types'

interface PolicyRow {
  scope: string
  max_days: number | null
  require_expiry: number
  since: string
  until: string | null
}

const toPolicy = (row: PolicyRow): LifetimePolicy => ({
  scope: row.scope, maxDays: row.max_days, requireExpiry: row.require_expiry === 1, since: row.since, until: row.until,
})

export function keyPolicyRepository(db: Database, note: (change: Change) => void): KeyPolicyRepo {
  const all = db.prepare<PolicyRow, []>('SELECT scope, max_days, require_expiry, since, until FROM key_policies ORDER BY scope, since')
  const end = db.prepare<never, [string, string]>('UPDATE key_policies SET until = ? WHERE scope = ? AND until IS NULL')
  const insert = db.prepare<never, [string, number | null, number, string]>(
    'INSERT INTO key_policies (scope, max_days, require_expiry, since) VALUES (?, ?, ?, ?)',
  )
  return {
    /** Every policy ever in force, oldest first (there are few). */
    all: (): LifetimePolicy[] => all.all().map(toPolicy),
    /**
     * Ends the policy in force for `scope` at `at` and, unless `next` is null, puts `next` in
     * force from then. A policy bounds the life of cached keys: everything cached goes.
     */
    replace(scope: string, next: Pick<LifetimePolicy, 'maxDays' | 'requireExpiry'> | null, at: string): void {
      end.run(at, scope)
      if (next !== null) insert.run(scope, next.maxDays, next.requireExpiry ? 1 : 0, at)
      note(EVERYTHING)
    },
  }
}

