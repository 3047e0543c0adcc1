/**
 * Reads kept in memory while nothing that could change them has been written. Any write
 * transaction of this process (the write epoch of `inTransaction`) empties the cache, so an
 * API change is seen by the very next request. A commit by another process (the offline
 * CLI's `key revoke`) moves SQLite's `data_version`, which is read at most every
 * DATA_VERSION_CHECK_MS: reading it means a WAL read lock, and on every request that was half
 * of the server's time (bench/RESULTS.md). Inside a transaction nothing is cached: a read
 * there may follow a write that has not been committed yet.
 *
 * Cached values are shared between callers: treat them as read-only.
 */
import type { Database } from 'bun:sqlite'
import { writeEpoch } from './database'

/** Past this many entries the cache starts over: memory stays bounded whatever the traffic. */
const MAX_ENTRIES = 50_000
/** How stale a change by another process can be, at most. */
export const DATA_VERSION_CHECK_MS = 100

export class ReadCache {
  private entries = new Map<string, unknown>()
  private epoch = -1
  private dataVersion = -1
  private dataVersionCheckedAt = Number.NEGATIVE_INFINITY
  private readonly readDataVersion

  constructor(private readonly db: Database) {
    this.readDataVersion = db.prepare<{ data_version: number }, []>('PRAGMA data_version')
  }

  /** The cached value for `key`, else `load()`'s; null and undefined are never cached. */
  get<T>(key: string, load: () => T): T {
    if (this.db.inTransaction) return load()
    this.dropIfStale()
    // One lookup: null and undefined are never stored, so undefined means "not cached".
    const cached = this.entries.get(key)
    if (cached !== undefined) return cached as T
    const value = load()
    if (value !== null && value !== undefined) {
      if (this.entries.size >= MAX_ENTRIES) this.entries.clear()
      this.entries.set(key, value)
    }
    return value
  }

  private dropIfStale(): void {
    const epoch = writeEpoch(this.db)
    if (epoch !== this.epoch) {
      this.entries.clear()
      this.epoch = epoch
    }
    const now = performance.now()
    if (now - this.dataVersionCheckedAt >= DATA_VERSION_CHECK_MS) {
      this.dataVersionCheckedAt = now
      const dataVersion = this.readDataVersion.get()!.data_version
      if (dataVersion !== this.dataVersion) {
        this.entries.clear()
        this.dataVersion = dataVersion
      }
    }
  }
}
