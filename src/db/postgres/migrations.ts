/**
 * The numbered PostgreSQL migrations, embedded in the binary as text. Append-only, like
 * SQLite's (src/db/migrations.ts): a shipped file is never edited; a change to the schema is a
 * new file here and one in SQLite's list, so that both backends keep the same data model.
 */
import init from '../../../migrations/postgres/0001_init.sql' with { type: 'text' }
import type { Migration } from '../migrations'

/** A PostgreSQL migration: plain SQL, run in one transaction. */
export type PostgresMigration = Pick<Migration, 'version' | 'name' | 'sql'>

export const POSTGRES_MIGRATIONS: readonly PostgresMigration[] = [
  { version: 1, name: '0001_init', sql: init },
]
