/**
 * `last_used_at` / `last_used_ip`, recorded in memory on every authenticated request and
 * written in batches (SPEC §9): at most one UPDATE per key per flush, however busy the key.
 * Each write tells the read model, which updates the cached key's view in place: a flush
 * reloads nothing (docs/performance.md, "Last use").
 */
import type { Clock } from '../../clock'
import type { Store } from '../../store'

/** The key a use is recorded for: its id to write, its user and hash for the read model. */
export interface UsedKey {
  keyId: number
  userId: string
  hash: string
}

interface Use {
  at: number
  ip: string | null
  ipAt: number
  key: UsedKey
}

const NO_ROUND = new Float64Array(0)

export class UsageTracker {
  private pending = new Map<number, Use>()
  /** The ids of the keys of the current round of `flush(limit)` calls, ascending, and how far it got. */
  private round = NO_ROUND
  private roundAt = 0
  /** Rows written so far (tests, metrics). */
  writes = 0

  constructor(
    private readonly store: Pick<Store, 'write' | 'apikeys'>,
    private readonly clock: Clock,
  ) {}

  /**
   * Notes a use of the key; nothing is written until the next flush. The client address is
   * looked up at most once a second per key: it costs more than the rest of this.
   */
  record(key: UsedKey, ip: () => string | null): void {
    const at = this.clock.nowMs()
    const previous = this.pending.get(key.keyId)
    if (previous && at - previous.ipAt < 1000) previous.at = at
    else this.pending.set(key.keyId, { at, ip: ip(), ipAt: at, key })
  }

  /** True while a round of `flush(limit)` calls has keys left to write. */
  get roundUnfinished(): boolean {
    return this.roundAt < this.round.length
  }

  /** How many keys have a use not written yet. */
  get pendingCount(): number {
    return this.pending.size
  }

  /**
   * Writes pending uses, at most `limit` keys, in one transaction; returns how many keys were
   * written. Calls take turns through a round: the keys pending when the round began, lowest
   * id first, as keys with neighbouring ids share pages (docs/performance.md, "Last use").
   * A use that comes in during the round is written with its key if the round has not passed
   * it yet, else by the next round. Without a limit, everything pending is written. When the
   * write fails (a lock held too long, a full disk) the uses are kept for the next flush,
   * unless a newer use of the same key came in meanwhile, the round ends, and the error is
   * thrown to the caller.
   */
  flush(limit = Number.POSITIVE_INFINITY): number {
    if (this.pending.size === 0) return 0
    if (limit === Number.POSITIVE_INFINITY) this.endRound()
    if (!this.roundUnfinished) this.startRound()
    const batch: Use[] = []
    while (batch.length < limit && this.roundAt < this.round.length) {
      const id = this.round[this.roundAt++]!
      const use = this.pending.get(id)
      if (use === undefined) continue
      batch.push(use)
      this.pending.delete(id)
    }
    if (!this.roundUnfinished) this.endRound()
    try {
      this.store.write(() => {
        for (const use of batch) this.store.apikeys.writeLastUse(use.key, new Date(use.at).toISOString(), use.ip)
      })
    } catch (error) {
      for (const use of batch) if (!this.pending.has(use.key.keyId)) this.pending.set(use.key.keyId, use)
      this.endRound()
      throw error
    }
    this.writes += batch.length
    return batch.length
  }

  /** A round over the keys pending now: their ids copied and sorted as numbers (100,000 in about 2 ms). */
  private startRound(): void {
    const ids = new Float64Array(this.pending.size)
    let i = 0
    for (const id of this.pending.keys()) ids[i++] = id
    this.round = ids.sort()
    this.roundAt = 0
  }

  private endRound(): void {
    this.round = NO_ROUND
    this.roundAt = 0
  }
}
