/**
 * The numbered migrations, embedded in the binary as text. Append-only: a shipped file is
 * never edited; a change to the schema is a new file added at the end of this list. A
 * migration may end with a code step, for what SQL cannot compute (Unicode case folding).
 */
import type { Database } from 'bun:sqlite'
import init from '../../../migrations/0001_init.sql' with { type: 'text' }
import keyUsage from '../../../migrations/0002_key_usage_and_rate_limit.sql' with { type: 'text' }
import retiredAppIds from '../../../migrations/0003_retired_app_ids.sql' with { type: 'text' }
import keyPolicies from '../../../migrations/0004_key_policies_and_identities.sql' with { type: 'text' }
import keyUsageHourly from '../../../migrations/0005_key_usage_hourly.sql' with { type: 'text' }
import auditFilterIndexes from '../../../migrations/0006_audit_filter_indexes.sql' with { type: 'text' }
import auditFiltersWithoutIndexes from '../../../migrations/0007_audit_filters_without_indexes.sql' with { type: 'text' }
import { emailKey } from '../../validation'

export interface Migration {
  version: number
  name: string
  sql: string
  /** Runs after `sql`, in the same transaction. */
  code?: (db: Database) => void
}

/**
 * Fills `users.email_key` and makes it unique. Two users whose emails differ only beyond ASCII
 * case (allowed before) keep their accounts: the later one gets no key, so it is no longer
 * found by email (`user list` still shows it).
 */
function foldEmails(db: Database): void {
  const users = db.query<{ id: string; email: string }, []>('SELECT id, email FROM users ORDER BY created_at, id').all()
  const set = db.prepare<never, [string | null, string]>('UPDATE users SET email_key = ? WHERE id = ?')
  const taken = new Set<string>()
  for (const { id, email } of users) {
    const key = emailKey(email)
    set.run(taken.has(key) ? null : key, id)
    taken.add(key)
  }
  db.run('CREATE UNIQUE INDEX users_by_email_key ON users(email_key)')
}

export const MIGRATIONS: readonly Migration[] = [
  { version: 1, name: '0001_init', sql: init },
  { version: 2, name: '0002_key_usage_and_rate_limit', sql: keyUsage },
  { version: 3, name: '0003_retired_app_ids', sql: retiredAppIds },
  { version: 4, name: '0004_key_policies_and_identities', sql: keyPolicies, code: foldEmails },
  { version: 5, name: '0005_key_usage_hourly', sql: keyUsageHourly },
  { version: 6, name: '0006_audit_filter_indexes', sql: auditFilterIndexes },
  { version: 7, name: '0007_audit_filters_without_indexes', sql: auditFiltersWithoutIndexes },
]
