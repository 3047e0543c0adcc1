import { Database } from 'bun:sqlite'
import { join } from 'node:path'
import { preparePrivateDatabase, preparePrivateDir } from './private-files'

export type { Database }

/** The database file inside a data directory. */
export const DATABASE_FILE = 'codepushgo.db'

/** Where the data directory's notes go (a pre-existing directory open to others, say). */
const toStderr = (line: string) => void process.stderr.write(`codepushgo: ${line}\n`)

/**
 * Opens (creating if needed) the database with the pragmas of SPEC §9: WAL so readers never
 * block the writer, a busy timeout so concurrent writers wait instead of failing, foreign keys
 * on, and synchronous=NORMAL (durable across process crashes in WAL mode). The directory and
 * the files are private to their owner, whatever the umask (src/store/sqlite/private-files.ts).
 * `dir` null opens a private in-memory database (tests).
 */
export function openDatabase(dir: string | null, warn: (line: string) => void = toStderr): Database {
  let db: Database
  if (dir === null) {
    db = new Database(':memory:', { strict: true })
  } else {
    preparePrivateDir(dir, warn)
    const file = join(dir, DATABASE_FILE)
    preparePrivateDatabase(file, warn)
    db = new Database(file, { create: true, strict: true })
    db.run('PRAGMA journal_mode = WAL')
  }
  db.run('PRAGMA busy_timeout = 5000')
  db.run('PRAGMA foreign_keys = ON')
  db.run('PRAGMA synchronous = NORMAL')
  return db
}

/** Flushes the WAL into the main file and closes; used at shutdown. */
export function closeDatabase(db: Database): void {
  try {
    db.run('PRAGMA wal_checkpoint(TRUNCATE)')
  } finally {
    db.close()
  }
}
