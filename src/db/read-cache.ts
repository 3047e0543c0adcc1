/**
 * Reads kept in memory while nothing that could change them has been written. A write
 * transaction of this process (the write epoch of `inTransaction`) empties the cache, so an
 * API change is seen by the very next request; the few writes that name what they change
 * forget just that (`forget`). A commit by another process (the offline CLI's `key revoke`)
 * moves SQLite's `data_version`, which is read at most every DATA_VERSION_CHECK_MS: reading it
 * means a WAL read lock, and on every request that was half of the server's time
 * (bench/RESULTS.md). `key revoke` waits that long before it answers (src/cli/key.ts), so from
 * its answer on the key is refused. (Watching the commit counter in the WAL index's `-shm` file
 * instead would need no wait, but mapping that file means opening and closing it, which drops
 * the POSIX locks SQLite holds on it: another process then took the server for gone and
 * truncated the file under it, a SIGBUS in test/e2e/backup.test.ts.) Inside a transaction
 * nothing is cached: a read there may follow a write that has not been committed yet.
 *
 * Cached values are shared between callers: treat them as read-only.
 */
import type { Database } from 'bun:sqlite'
import { writeEpoch } from './database'

/** Past this many entries the cache starts over: memory stays bounded whatever the traffic. */
const MAX_ENTRIES = 50_000
/** Past this many remembered absences those start over (only those: guessing keys evicts nothing found). */
export const MAX_ABSENCES = 10_000
/** How stale a change by another process can be, at most. */
export const DATA_VERSION_CHECK_MS = 100

export class ReadCache {
  private entries = new Map<string, unknown>()
  private absences = new Set<string>()
  private epoch = -1
  private dataVersion = -1
  private dataVersionCheckedAt = Number.NEGATIVE_INFINITY
  /** How many times the cache has been emptied: a load that saw it emptied keeps nothing. */
  private generation = 0
  private readonly readDataVersion

  constructor(private readonly db: Database) {
    this.readDataVersion = db.prepare<{ data_version: number }, []>('PRAGMA data_version')
  }

  /**
   * The cached value for `key`, else `load()`'s. Null and undefined are cached only with
   * `rememberAbsence` (a key nobody has, asked for again and again), and apart: however many
   * absences are asked for, they never push out what was found.
   */
  get<T>(key: string, load: () => T, rememberAbsence = false): T {
    if (this.db.inTransaction) return load()
    this.dropIfStale()
    // One lookup: null and undefined are never stored, so undefined means "not cached".
    const cached = this.entries.get(key)
    if (cached !== undefined) return cached as T
    if (rememberAbsence && this.absences.has(key)) return null as T
    const generation = this.generation
    const value = load()
    // A read nested in `load` (a key's memberships) may have noticed another process's commit
    // and emptied the cache; what `load` read before that commit must not outlive it.
    if (generation !== this.generation) return value
    if (value !== null && value !== undefined) {
      if (this.entries.size >= MAX_ENTRIES) this.entries.clear()
      this.entries.set(key, value)
    } else if (rememberAbsence) {
      if (this.absences.size >= MAX_ABSENCES) this.absences.clear()
      this.absences.add(key)
    }
    return value
  }

  /**
   * Drops one entry (or remembered absence) that a write under way changes. For writes that
   * name everything they change, in a transaction that keeps the caches: the key repository's
   * (each forgets its key and its user's key list; they run in `GroupCommit`'s transaction).
   * Reads inside the transaction bypass the cache, so forgetting before the commit is the same
   * as after it.
   */
  forget(key: string): void {
    this.entries.delete(key)
    this.absences.delete(key)
  }

  private dropIfStale(): void {
    const epoch = writeEpoch(this.db)
    if (epoch !== this.epoch) {
      this.clear()
      this.epoch = epoch
    }
    const now = performance.now()
    if (now - this.dataVersionCheckedAt >= DATA_VERSION_CHECK_MS) {
      this.dataVersionCheckedAt = now
      const dataVersion = this.readDataVersion.get()!.data_version
      if (dataVersion !== this.dataVersion) {
        this.clear()
        this.dataVersion = dataVersion
      }
    }
  }

  private clear(): void {
    this.generation++
    this.entries.clear()
    this.absences.clear()
  }
}
