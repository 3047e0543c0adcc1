/**
 * The data directory and the database files are readable by their owner only (SPEC §9): they
 * hold emails, client addresses and key hashes. Modes are set explicitly, not left to the umask.
 *
 * A directory the command creates is 0700. One that already exists is left as the operator made
 * it (they may share it on purpose), with a warning when other users can get into it. The
 * database file is created 0600 before SQLite opens it, and SQLite gives its `-wal`, `-shm` and
 * `-journal` files the database's own mode; database files that exist and are more open than
 * that are tightened to 0600 (when this user owns them), with a line saying so.
 */
import { chmodSync, closeSync, constants, mkdirSync, openSync, statSync } from 'node:fs'

/** What SQLite keeps beside the database file; each gets the database's mode. */
export const DATABASE_COMPANIONS = ['-wal', '-shm', '-journal'] as const

const PRIVATE_DIR = 0o700
const PRIVATE_FILE = 0o600
/** Permission bits for the group and other users. */
const OPEN_BITS = 0o077

const octal = (mode: number) => `0${(mode & 0o777).toString(8)}`

/** Creates `dir` 0700, or warns (through `warn`) when the existing one is open to other users. */
export function preparePrivateDir(dir: string, warn: (line: string) => void): void {
  const created = mkdirSync(dir, { recursive: true, mode: PRIVATE_DIR })
  if (created !== undefined) {
    chmodSync(dir, PRIVATE_DIR) // the mode given to mkdir is masked by the umask
    return
  }
  const mode = statSync(dir).mode
  if ((mode & OPEN_BITS) !== 0) {
    warn(`warning: data directory ${dir} is open to other users (mode ${octal(mode)}); its database files are 0600, but consider: chmod 700 ${dir}`)
  }
}

/**
 * Creates the database file 0600 if it does not exist, else tightens it and its companions
 * to 0600 if they are more open (and this user owns them).
 */
export function preparePrivateDatabase(file: string, warn: (line: string) => void): void {
  try {
    closeSync(openSync(file, constants.O_CREAT | constants.O_EXCL | constants.O_RDWR, PRIVATE_FILE))
    chmodSync(file, PRIVATE_FILE) // the mode given to open is masked by the umask
    return
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
  }
  for (const path of [file, ...DATABASE_COMPANIONS.map((suffix) => file + suffix)]) {
    let stat
    try {
      stat = statSync(path)
    } catch {
      continue // a companion that does not exist
    }
    if ((stat.mode & OPEN_BITS) === 0) continue
    if (stat.uid !== process.getuid?.()) {
      warn(`warning: ${path} is open to other users (mode ${octal(stat.mode)}) and belongs to another user; consider: chmod 600 ${path}`)
      continue
    }
    chmodSync(path, PRIVATE_FILE)
    warn(`made ${path} private: mode ${octal(stat.mode)} → 0600`)
  }
}
