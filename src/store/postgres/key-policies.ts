/**
 * The key lifetime policies that have been in force (SPEC §6a) on PostgreSQL: the server's,
 * scope 'server', and each org's, scope its id.
 */
import type { SQL } from 'bun'
import type { LifetimePolicy } from '../../access/lifetime'
import { EVERYTHING, type Change } from '../../read-model/changes'
import type { KeyPolicyRepo } from '../types'

export function keyPolicyRepository(sql: SQL, note: (change: Change) => void): KeyPolicyRepo {
  return {
    /**
     * Every policy ever in force, oldest first. Of two with the same start (replaced within
     * the millisecond it began) the one that ended comes first, as SQLite's rowid order has it.
     */
    async all(): Promise<LifetimePolicy[]> {
      return [...(await sql<LifetimePolicy[]>`
        SELECT scope, max_days AS "maxDays", require_expiry AS "requireExpiry", since, until
        FROM key_policies ORDER BY scope, since, until IS NULL`)]
    },
    /**
     * Ends the policy in force for `scope` at `at` and, unless `next` is null, puts `next` in
     * force from then. A policy bounds the life of cached keys: everything cached goes.
     */
    async replace(scope: string, next: Pick<LifetimePolicy, 'maxDays' | 'requireExpiry'> | null, at: string): Promise<void> {
      await sql`UPDATE key_policies SET until = ${at} WHERE scope = ${scope} AND until IS NULL`
      if (next !== null) {
        await sql`INSERT INTO key_policies (scope, max_days, require_expiry, since) VALUES (${scope}, ${next.maxDays}, ${next.requireExpiry}, ${at})`
      }
      note(EVERYTHING)
    },
  }
}
