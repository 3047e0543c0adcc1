/**
 * The fast path of authentication: stored keys by hash, kept in memory while nothing that
 * could change them has been written. Any write transaction of this process (a key revoked,
 * disabled, rotated or updated; a membership, org or app changed) bumps the database's write
 * epoch, and any commit by another process (the offline CLI's `key revoke`) moves SQLite's
 * `data_version`; either empties the cache, so every change takes effect on the very next
 * request. Expiry is not cached: `authenticate` checks it against the clock each time.
 */
import type { Core } from '../core'
import { writeEpoch } from '../db/database'
import { loadKey, type StoredKey } from './authenticate'

/** Past this many entries the cache starts over: memory stays bounded whatever the traffic. */
const MAX_ENTRIES = 50_000

export class KeyCache {
  private entries = new Map<string, StoredKey>()
  private epoch = -1
  private dataVersion = -1
  private readonly readDataVersion

  constructor(private readonly core: Core) {
    this.readDataVersion = core.store.db.prepare<{ data_version: number }, []>('PRAGMA data_version')
  }

  /** The stored key with this hash (unknown hashes are not cached: each one costs a lookup). */
  find(hash: string): StoredKey | null {
    this.dropIfStale()
    const cached = this.entries.get(hash)
    if (cached) return cached
    const loaded = loadKey(this.core, hash)
    if (loaded) {
      if (this.entries.size >= MAX_ENTRIES) this.entries.clear()
      this.entries.set(hash, loaded)
    }
    return loaded
  }

  private dropIfStale(): void {
    const epoch = writeEpoch(this.core.store.db)
    const dataVersion = this.readDataVersion.get()!.data_version
    if (epoch !== this.epoch || dataVersion !== this.dataVersion) {
      this.entries.clear()
      this.epoch = epoch
      this.dataVersion = dataVersion
    }
  }
}
