/**
 * The numbered PostgreSQL migrations, embedded in the binary as text. Append-only, like
 * SQLite's (src/store/sqlite/migrations.ts): a shipped file is never edited; a change to the schema is a
 * new file here and one in SQLite's list, so that both backends keep the same data model.
 */
import type { TransactionSQL } from 'bun'
import init from '../../../migrations/postgres/0001_init.sql' with { type: 'text' }
import policiesAndUsage from '../../../migrations/postgres/0002_key_policies_identities_usage.sql' with { type: 'text' }
import commitCounter from '../../../migrations/postgres/0003_commit_counter.sql' with { type: 'text' }
import rateBuckets from '../../../migrations/postgres/0004_rate_buckets.sql' with { type: 'text' }
import auditFilterIndexes from '../../../migrations/postgres/0005_audit_filter_indexes.sql' with { type: 'text' }
import { emailKey } from '../../validation'
import type { Migration } from '../sqlite/migrations'

/** A PostgreSQL migration: SQL, then an optional code step, in one transaction. */
export type PostgresMigration = Pick<Migration, 'version' | 'name' | 'sql'> & { code?: (tx: TransactionSQL) => Promise<void> }

/** Fills `users.email_key` as SQLite's migration 0004 does (src/store/sqlite/migrations.ts), and makes it unique. */
async function foldEmails(tx: TransactionSQL): Promise<void> {
  const users: { id: string; email: string }[] = await tx`SELECT id, email FROM users ORDER BY created_at, id`
  const taken = new Set<string>()
  for (const { id, email } of users) {
    const key = emailKey(email)
    await tx`UPDATE users SET email_key = ${taken.has(key) ? null : key} WHERE id = ${id}`
    taken.add(key)
  }
  await tx`CREATE UNIQUE INDEX users_by_email_key ON users (email_key)`
}

export const POSTGRES_MIGRATIONS: readonly PostgresMigration[] = [
  { version: 1, name: '0001_init', sql: init },
  { version: 2, name: '0002_key_policies_identities_usage', sql: policiesAndUsage, code: foldEmails },
  { version: 3, name: '0003_commit_counter', sql: commitCounter },
  { version: 4, name: '0004_rate_buckets', sql: rateBuckets },
  { version: 5, name: '0005_audit_filter_indexes', sql: auditFilterIndexes },
]
