/**
 * Applies the PostgreSQL migrations. Several instances may start together on one database:
 * each migration runs in its own transaction that first takes a transaction-scoped advisory
 * lock, then reads the version, so the instances apply the pending migrations one after the
 * other, each exactly once, and a crash leaves the schema at a whole version (the lock goes
 * with the transaction). The version is the highest row of `codepushgo_migrations`.
 */
import type { SQL } from 'bun'
import { SchemaTooNewError } from '../sqlite/migrate'
import { POSTGRES_MIGRATIONS, type PostgresMigration } from './migrations'

/**
 * The advisory lock key of migrations ("cpgomigr" read as a number). Advisory locks are per
 * database, so this only waits for other codepushgo instances on the same database.
 */
export const MIGRATION_LOCK_KEY = 0x6370_676f_6d69_6772n

/** The table that records each applied migration. */
const VERSION_TABLE = 'codepushgo_migrations'

/** The schema version of the database: 0 when nothing is migrated yet. */
export async function postgresSchemaVersion(sql: SQL): Promise<number> {
  const [row] = await sql`SELECT to_regclass(${VERSION_TABLE}) IS NOT NULL AS exists`
  if (!row.exists) return 0
  const [{ version }] = await sql.unsafe(`SELECT coalesce(max(version), 0) AS version FROM ${VERSION_TABLE}`)
  return version
}

/**
 * Applies every pending migration in order, each in its own transaction together with its
 * row in the version table. Returns what this call applied (another instance may have
 * applied the rest). Throws SchemaTooNewError, changing nothing, when the database was
 * migrated by a newer binary.
 */
export async function migratePostgres(sql: SQL, migrations: readonly PostgresMigration[] = POSTGRES_MIGRATIONS): Promise<PostgresMigration[]> {
  const latest = migrations.at(-1)?.version ?? 0
  const applied: PostgresMigration[] = []
  for (;;) {
    const migration = await sql.begin(async (tx) => {
      await tx`SELECT pg_advisory_xact_lock(${MIGRATION_LOCK_KEY})`
      await tx.unsafe(`CREATE TABLE IF NOT EXISTS ${VERSION_TABLE} (
        version     integer PRIMARY KEY,
        name        text NOT NULL,
        applied_at  timestamptz NOT NULL DEFAULT now()
      )`)
      const current = await postgresSchemaVersion(tx)
      if (current > latest) throw new SchemaTooNewError(current, latest)
      const next = migrations.find((m) => m.version > current)
      if (!next) return null
      await tx.unsafe(next.sql)
      await next.code?.(tx)
      await tx.unsafe(`INSERT INTO ${VERSION_TABLE} (version, name) VALUES ($1, $2)`, [next.version, next.name])
      return next
    })
    if (!migration) return applied
    applied.push(migration)
  }
}
