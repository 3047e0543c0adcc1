import { resolveDir } from '../config'
import { closeDatabase, openDatabase } from '../store/sqlite/database'
import { migrate as applyMigrations, schemaVersion } from '../store/sqlite/migrate'
import { parseFlags, type Command } from './args'

const help = `Usage: codepushgo migrate [--dir DIR]

Applies pending database migrations and exits. Refuses a database whose schema is newer
than this binary.

Options:
  --dir DIR   data directory (env CODEPUSHGO_DIR, default ./codepushgo_data)
  -h, --help  show this help
`

export const migrate: Command = {
  help,
  async run(argv) {
    const { values } = parseFlags(argv, { dir: { type: 'string' } })
    const db = openDatabase(resolveDir(values.dir))
    try {
      const applied = applyMigrations(db)
      process.stdout.write(
        applied.length === 0
          ? `schema is up to date (version ${schemaVersion(db)})\n`
          : applied.map((m) => `applied ${m.name}\n`).join('') + `schema version ${schemaVersion(db)}\n`,
      )
      return 0
    } finally {
      closeDatabase(db)
    }
  },
}
