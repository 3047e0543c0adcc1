import { Database } from 'bun:sqlite'
import { closeSync, existsSync, fsyncSync, openSync, realpathSync, rmSync, statSync } from 'node:fs'
import { basename, dirname, join, resolve } from 'node:path'
import { ConfigError, resolveDatabase } from '../config'
import { DATABASE_FILE } from '../store/sqlite/database'
import { DATABASE_COMPANIONS } from '../store/sqlite/private-files'
import { parseFlags, type Command } from './args'

const help = `Usage: codepushgo backup FILE [--dir DIR]

Writes a consistent copy of the database to FILE (SQLite VACUUM INTO) and checks it. Safe
while serve runs: the copy is one read transaction, so requests keep being served and every
write acknowledged before the backup started is in it. Prints one line of JSON on stdout:
{"backup": "/abs/path/FILE", "bytes": N, "schema_version": V}

FILE must not exist yet, and its directory must exist; it is created readable by its owner
only (0600: it holds key hashes and the audit log). FILE may not be a name the live database
uses (${DATABASE_FILE} and its -journal, -wal and -shm in the data directory, however the
path is spelled): SQLite would take it for part of the database. The database is never
migrated or changed by a backup.

Restore:
  1. stop the server
  2. replace DIR/${DATABASE_FILE} with the backup file:
       cp FILE DIR/${DATABASE_FILE}
  3. delete DIR/${DATABASE_FILE}-wal and DIR/${DATABASE_FILE}-shm if they exist (they belong
     to the replaced database):
       rm -f DIR/${DATABASE_FILE}-wal DIR/${DATABASE_FILE}-shm
  4. start the server

On PostgreSQL (--database-url or CODEPUSHGO_DATABASE_URL) this command does nothing but
say so: back the database up with pg_dump.

Options:
  --dir DIR   data directory (env CODEPUSHGO_DIR, default ./codepushgo_data)
  -h, --help  show this help
`

export const backup: Command = {
  help,
  async run(argv) {
    const { values, positionals } = parseFlags(argv, { dir: { type: 'string' }, 'database-url': { type: 'string' } })
    const database = resolveDatabase(values)
    if (database.kind === 'postgres') throw new ConfigError('backup copies SQLite data directories; back a PostgreSQL database up with pg_dump')
    if (positionals.length === 0) throw new ConfigError('backup needs the target file: codepushgo backup FILE')
    if (positionals.length > 1) throw new ConfigError(`backup takes one target file, got ${positionals.length}: ${positionals.join(' ')}`)
    const target = resolve(positionals[0]!)
    const source = join(database.dir, DATABASE_FILE)

    if (!existsSync(source)) throw new Error(`no database at ${source} (check --dir / CODEPUSHGO_DIR)`)
    const parent = dirname(target)
    if (!existsSync(parent) || !statSync(parent).isDirectory()) throw new Error(`directory ${parent} does not exist; create it first`)
    const live = liveFileNamed(realpathSync(parent), basename(target), source)
    if (live !== null) throw new Error(`${target} is a file of the live database ${source} (${live}): choose another name`)
    // Claim the name atomically (O_EXCL): from here on the file is ours, so removing it on
    // failure never removes someone else's. SQLite's VACUUM INTO accepts an empty file.
    try {
      closeSync(openSync(target, 'wx', 0o600))
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code
      if (code === 'EEXIST') throw new Error(`${target} already exists; a backup never overwrites a file, choose a new name`)
      throw new Error(`cannot create ${target}: ${code ?? (error as Error).message}`)
    }

    // No migrations, no journal-mode change: the running server owns the schema. This
    // connection only reads (VACUUM INTO is one read transaction, which WAL lets run beside
    // the server's writes); busy_timeout covers the moments it must wait (e.g. WAL recovery).
    try {
      const db = new Database(source, { readwrite: true, create: false, strict: true })
      try {
        db.run('PRAGMA busy_timeout = 5000')
        db.query('VACUUM INTO ?').run(target)
      } finally {
        db.close()
      }
    } catch (error) {
      rmSync(target, { force: true }) // a partial copy is no backup
      throw new Error(`cannot copy ${source}: ${(error as Error).message}`)
    }

    try {
      // Make the copy (and its directory entry) durable before reporting success.
      fsyncPath(target)
      fsyncPath(parent)
      const copy = new Database(target, { readonly: true, strict: true })
      let schemaVersion: number
      try {
        const problems = (copy.query('PRAGMA integrity_check').all() as { integrity_check: string }[]).map((r) => r.integrity_check)
        if (problems.length !== 1 || problems[0] !== 'ok') throw new Error(`integrity check of the copy failed: ${problems.slice(0, 3).join('; ')}`)
        schemaVersion = (copy.query('PRAGMA user_version').get() as { user_version: number }).user_version
      } finally {
        copy.close()
      }
      process.stdout.write(`${JSON.stringify({ backup: target, bytes: statSync(target).size, schema_version: schemaVersion })}\n`)
      return 0
    } catch (error) {
      rmSync(target, { force: true })
      throw error
    }
  },
}

/**
 * Whether `name` in the directory `realDir` (symlinks resolved) is a file SQLite uses for the
 * database at `source`: the database itself, its `-journal`, `-wal` or `-shm`, next to the path
 * given or next to the file it resolves to. A backup there would be taken for a hot journal or
 * a WAL, and lock or corrupt the live database. Says which one, or null.
 */
function liveFileNamed(realDir: string, name: string, source: string): string | null {
  const candidate = join(realDir, name)
  const databases = new Set([join(realpathSync(dirname(source)), basename(source)), realpathSync(source)])
  for (const database of databases) {
    if (candidate === database) return 'the database itself'
    for (const suffix of DATABASE_COMPANIONS) if (candidate === database + suffix) return `its ${suffix}`
  }
  return null
}

function fsyncPath(path: string): void {
  const fd = openSync(path, 'r')
  try {
    fsyncSync(fd)
  } finally {
    closeSync(fd)
  }
}
