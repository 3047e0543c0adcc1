/**
 * How the read model hears of commits by other processes on SQLite (the offline CLI's
 * `key revoke`): `PRAGMA data_version` moves whenever another connection has committed. Reading
 * it takes a WAL read lock (two `fcntl`), which on every request was half of the server's time,
 * hence the read model's poll interval (docs/performance.md, "Read model"). (Watching the commit
 * counter in the WAL index's `-shm` file instead would need no lock, but mapping that file
 * means opening and closing it, which drops the POSIX locks SQLite holds on it: another
 * process then took the server for gone and truncated the file under it.) A PASSIVE
 * checkpoint by another connection does not move it (src/store/sqlite/background.ts).
 */
import type { Database } from 'bun:sqlite'
import type { ChangeFeed } from '../../read-model/changes'

export function sqliteChangeFeed(db: Database): ChangeFeed {
  const dataVersion = db.prepare<{ data_version: number }, []>('PRAGMA data_version')
  let seen = -1
  return {
    foreignCommits() {
      const now = dataVersion.get()!.data_version
      const moved = now !== seen
      seen = now
      return moved
    },
  }
}
