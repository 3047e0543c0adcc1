import { SQL } from 'bun'
import { resolveDatabase } from '../config'
import { migratePostgres, postgresSchemaVersion } from '../store/postgres/migrate'
import { closeDatabase, openDatabase } from '../store/sqlite/database'
import { migrate as applyMigrations, schemaVersion } from '../store/sqlite/migrate'
import { parseFlags, type Command } from './args'
import { describeLocation } from './open'

const help = `Usage: codepushgo migrate [--dir DIR | --database-url URL]

Applies pending database migrations and exits. Refuses a database whose schema is newer
than this binary. On PostgreSQL, instances and migrate commands started together apply
each migration once (they take turns under an advisory lock).

Options:
  --dir DIR           data directory (env CODEPUSHGO_DIR, default ./codepushgo_data)
  --database-url URL  the PostgreSQL database instead (env CODEPUSHGO_DATABASE_URL),
                      postgres://USER:PASSWORD@HOST:PORT/DATABASE
  -h, --help          show this help
`

/** What was applied and the version now, one line each. */
function report(applied: readonly { name: string }[], version: number): string {
  return applied.length === 0 ? `schema is up to date (version ${version})\n` : applied.map((m) => `applied ${m.name}\n`).join('') + `schema version ${version}\n`
}

export const migrate: Command = {
  help,
  async run(argv) {
    const { values } = parseFlags(argv, { dir: { type: 'string' }, 'database-url': { type: 'string' } })
    const database = resolveDatabase(values)
    if (database.kind === 'postgres') {
      const sql = new SQL(database.url, { max: 1, connectionTimeout: 5 })
      try {
        const applied = await migratePostgres(sql)
        process.stdout.write(report(applied, await postgresSchemaVersion(sql)))
        return 0
      } catch (error) {
        throw new Error(`cannot migrate the PostgreSQL database at ${describeLocation(database)}: ${(error as Error).message}`)
      } finally {
        await sql.close({ timeout: 1 })
      }
    }
    const db = openDatabase(database.dir)
    try {
      process.stdout.write(report(applyMigrations(db), schemaVersion(db)))
      return 0
    } finally {
      closeDatabase(db)
    }
  },
}
