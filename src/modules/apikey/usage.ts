/**
 * `last_used_at` / `last_used_ip`, recorded in memory on every authenticated request and
 * written in batches (SPEC §9): at most one UPDATE per key per flush, however busy the key.
 *
 * A flush does not empty the read cache: with thousands of keys in use, reloading every one of
 * them after each flush cost about a tenth of the server's time (bench/RESULTS.md). Cached key
 * records keep the last use they were loaded with, and views take the newer one this tracker
 * wrote (`lastWritten`), so the API shows what the database holds, as before.
 */
import type { Database } from 'bun:sqlite'
import type { Clock } from '../../clock'
import { inTransaction, inTransactionKeepingCaches } from '../../db/database'
import { UsageCounts } from './usage-counts'

/** A last use as stored: ISO time and client address. */
export interface LastUse {
  at: string
  ip: string | null
}

interface Use {
  at: number
  ip: string | null
  ipAt: number
}

/** Past this many remembered writes (keys deleted since keep theirs) the caches are reloaded instead. */
const MAX_WRITTEN = 100_000

export class UsageTracker {
  private pending = new Map<number, Use>()
  private written = new Map<number, LastUse>()
  /** The keys of the current round of `flush(limit)`, by id, and how far it got. */
  private round: number[] = []
  private roundAt = 0
  /** Rows written so far (for tests and metrics). */
  writes = 0
  /** Authentications per key per hour by outcome, flushed beside the last uses. */
  readonly counts: UsageCounts
  private readonly update

  constructor(
    private readonly db: Database,
    private readonly clock: Clock,
  ) {
    this.counts = new UsageCounts(db, clock)
    this.update = db.prepare<never, [string, string | null, number]>('UPDATE apikeys SET last_used_at = ?, last_used_ip = ? WHERE id = ?')
  }

  /**
   * Notes a use of the key; nothing is written until the next flush. The client address is
   * looked up at most once a second per key: it costs more than the rest of this.
   */
  record(keyId: number, ip: () => string | null): void {
    const at = this.clock.nowMs()
    const previous = this.pending.get(keyId)
    if (previous && at - previous.ipAt < 1000) previous.at = at
    else this.pending.set(keyId, { at, ip: ip(), ipAt: at })
  }

  /** The last use this process wrote for the key, if any: newer than a cached record's. */
  lastWritten(keyId: number): LastUse | undefined {
    return this.written.get(keyId)
  }

  /** True while a round of `flush(limit)` calls has keys left to write. */
  get roundUnfinished(): boolean {
    return this.roundAt < this.round.length
  }

  private endRound(): void {
    this.round = []
    this.roundAt = 0
  }

  /** How many keys have a use not written yet. */
  get pendingCount(): number {
    return this.pending.size
  }

  /**
   * Writes pending uses, at most `limit` keys, in one transaction; returns how many keys were
   * written. With a limit, calls take turns through a round: the keys pending when the round
   * began, lowest id first. Keys with neighbouring ids share a page, so a step of the round
   * writes a few pages instead of one page per key (10,000 keys in steps of 200: 36 ms against
   * 190 ms in first-use order, bench/RESULTS.md). A use newer than the round waits for the
   * next one. When the write fails (a lock held too long, a full disk) the uses are kept for
   * the next flush, unless a newer use of the same key came in meanwhile, the round ends, and
   * the error is thrown to the caller.
   */
  flush(limit = Number.POSITIVE_INFINITY): number {
    if (this.pending.size === 0) return 0
    let batch = this.pending
    if (batch.size <= limit) {
      this.pending = new Map()
      this.endRound()
    } else {
      if (!this.roundUnfinished) this.round = [...this.pending.keys()].sort((a, b) => a - b)
      batch = new Map()
      while (batch.size < limit && this.roundAt < this.round.length) {
        const id = this.round[this.roundAt++]!
        const use = this.pending.get(id)
        if (use === undefined) continue
        batch.set(id, use)
        this.pending.delete(id)
      }
      if (!this.roundUnfinished) this.endRound()
    }
    const uses = new Map<number, LastUse>()
    for (const [id, use] of batch) uses.set(id, { at: new Date(use.at).toISOString(), ip: use.ip })
    // Rarely (only when keys come and go for a long time), start over: reload every cached key.
    const startOver = this.written.size + uses.size > MAX_WRITTEN
    try {
      ;(startOver ? inTransaction : inTransactionKeepingCaches)(this.db, () => {
        // A key deleted since its use simply matches no row.
        for (const [id, use] of uses) this.update.run(use.at, use.ip, id)
      })
    } catch (error) {
      for (const [id, use] of batch) if (!this.pending.has(id)) this.pending.set(id, use)
      this.endRound()
      throw error
    }
    if (startOver) this.written = new Map()
    for (const [id, use] of uses) this.written.set(id, use)
    this.writes += batch.size
    return batch.size
  }
}
