/**
 * Reads kept in memory while nothing that could change them has been written: any write
 * transaction of this process (the write epoch of `inTransaction`) or a commit by another
 * process (SQLite's `data_version`, e.g. the offline CLI's `key revoke`) empties the cache,
 * so a change is seen by the very next request. Inside a transaction nothing is cached: a
 * read there may follow a write that has not been committed yet.
 *
 * Cached values are shared between callers: treat them as read-only.
 */
import type { Database } from 'bun:sqlite'
import { writeEpoch } from './database'

/** Past this many entries the cache starts over: memory stays bounded whatever the traffic. */
const MAX_ENTRIES = 50_000

export class ReadCache {
  private entries = new Map<string, unknown>()
  private epoch = -1
  private dataVersion = -1
  private readonly readDataVersion

  constructor(private readonly db: Database) {
    this.readDataVersion = db.prepare<{ data_version: number }, []>('PRAGMA data_version')
  }

  /** The cached value for `key`, else `load()`'s; null and undefined are never cached. */
  get<T>(key: string, load: () => T): T {
    if (this.db.inTransaction) return load()
    this.dropIfStale()
    if (this.entries.has(key)) return this.entries.get(key) as T
    const value = load()
    if (value !== null && value !== undefined) {
      if (this.entries.size >= MAX_ENTRIES) this.entries.clear()
      this.entries.set(key, value)
    }
    return value
  }

  private dropIfStale(): void {
    const epoch = writeEpoch(this.db)
    const dataVersion = this.readDataVersion.get()!.data_version
    if (epoch !== this.epoch || dataVersion !== this.dataVersion) {
      this.entries.clear()
      this.epoch = epoch
      this.dataVersion = dataVersion
    }
  }
}
