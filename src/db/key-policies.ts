/**
 * Storage of the key lifetime policies that have been in force (the `key_policies` table of
 * migration 0004): the server's, scope 'server', and each org's, scope its id.
 */
import type { Database } from 'bun:sqlite'
import type { LifetimePolicy } from '../access/lifetime'
import type { ReadCache } from './read-cache'

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

export function keyPolicyRepository(db: Database, cache: ReadCache) {
  const all = db.prepare<PolicyRow, []>('SELECT scope, max_days, require_expiry, since, until FROM key_policies ORDER BY scope, since')
  const end = db.prepare<never, [string, string]>('UPDATE key_policies SET until = ? WHERE scope = ? AND until IS NULL')
  const insert = db.prepare<never, [string, number | null, number, string]>(
    'INSERT INTO key_policies (scope, max_days, require_expiry, since) VALUES (?, ?, ?, ?)',
  )
  /** Every policy ever in force, by scope, oldest first (cached; read-only; there are few). */
  const byScope = (): ReadonlyMap<string, readonly LifetimePolicy[]> =>
    cache.get('key-policies', () => {
      const policies = new Map<string, LifetimePolicy[]>()
      for (const row of all.all()) {
        const list = policies.get(row.scope) ?? []
        list.push(toPolicy(row))
        policies.set(row.scope, list)
      }
      return policies
    })
  return {
    byScope,
    /** The policy in force for `scope`, or null. */
    current: (scope: string): LifetimePolicy | null => byScope().get(scope)?.find((policy) => policy.until === null) ?? null,
    /**
     * Ends the policy in force for `scope` at `at` and, unless `next` is null, puts `next` in
     * force from then. Call inside a transaction.
     */
    replace(scope: string, next: Pick<LifetimePolicy, 'maxDays' | 'requireExpiry'> | null, at: string): void {
      end.run(at, scope)
      if (next !== null) insert.run(scope, next.maxDays, next.requireExpiry ? 1 : 0, at)
    },
  }
}

export type KeyPolicyRepository = ReturnType<typeof keyPolicyRepository>
