import type { Database } from 'bun:sqlite'
import { MIGRATIONS, type Migration } from './migrations'

/** The database was written by a newer binary; running on it could corrupt it. */
export class SchemaTooNewError extends Error {
  constructor(readonly found: number, readonly supported: number) {
    super(`database schema version ${found} is newer than this binary supports (${supported}); upgrade codepushgo`)
    this.name = 'SchemaTooNewError'
  }
}

export function schemaVersion(db: Database): number {
  return (db.query('PRAGMA user_version').get() as { user_version: number }).user_version
}

/**
 * Applies every pending migration in order, each in its own transaction together with the
 * `user_version` bump, so a crash leaves the schema at a whole version. Returns what it applied.
 */
export function migrate(db: Database, migrations: readonly Migration[] = MIGRATIONS): Migration[] {
  const latest = migrations.at(-1)?.version ?? 0
  const current = schemaVersion(db)
  if (current > latest) throw new SchemaTooNewError(current, latest)
  const pending = migrations.filter((m) => m.version > current)
  for (const migration of pending) {
    db.transaction(() => {
      db.run(migration.sql)
      migration.code?.(db)
      db.run(`PRAGMA user_version = ${migration.version}`)
    }).immediate()
  }
  return pending
}
