/**
 * `last_used_at` / `last_used_ip`, recorded in memory on every authenticated request and
 * written in batches (SPEC §9): at most one UPDATE per key per flush, however busy the key.
 */
import type { Database } from 'bun:sqlite'
import type { Clock } from '../../clock'
import { inTransaction } from '../../db/database'

export class UsageTracker {
  private pending = new Map<number, { at: number; ip: string | null; ipAt: number }>()
  /** Rows written so far (for tests and metrics). */
  writes = 0
  private readonly update

  constructor(
    private readonly db: Database,
    private readonly clock: Clock,
  ) {
    this.update = db.prepare<never, [string, string | null, number]>('UPDATE apikeys SET last_used_at = ?, last_used_ip = ? WHERE id = ?')
  }

  /**
   * Notes a use of the key; nothing is written until the next flush. The client address is
   * looked up at most once a second per key: it costs more than the rest of this.
   */
  record(keyId: number, ip: () => string | null): void {
    const at = this.clock.now().getTime()
    const previous = this.pending.get(keyId)
    if (previous && at - previous.ipAt < 1000) previous.at = at
    else this.pending.set(keyId, { at, ip: ip(), ipAt: at })
  }

  /**
   * Writes every pending use in one transaction; returns how many keys were written. When the
   * write fails (a lock held too long, a full disk) the uses are kept for the next flush, unless
   * a newer use of the same key came in meanwhile, and the error is thrown to the caller.
   */
  flush(): number {
    if (this.pending.size === 0) return 0
    const batch = this.pending
    this.pending = new Map()
    try {
      // Through inTransaction like every write, so cached keys are reloaded with their new last
      // use: once per flush interval, and only when a key was used.
      inTransaction(this.db, () => {
        // A key deleted since its use simply matches no row.
        for (const [id, use] of batch) this.update.run(new Date(use.at).toISOString(), use.ip, id)
      })
    } catch (error) {
      for (const [id, use] of batch) if (!this.pending.has(id)) this.pending.set(id, use)
      throw error
    }
    this.writes += batch.size
    return batch.size
  }
}
