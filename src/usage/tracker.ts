/**
 * `last_used_at` / `last_used_ip`, recorded in memory on every authenticated request and
 * written in batches (SPEC §9): at most one UPDATE per key per flush, however busy the key.
 * Each write tells the read model, which updates the cached key's answer in place: a flush
 * reloads nothing (docs/performance.md, "Last use").
 *
 * A key's unwritten use hangs on the key itself (`UsedKey.unwritten`), and the keys with one
 * wait in a list of small chunks: no map of every key in use. JSC's young collections scan
 * again, whole, every old object written since the last one; a map of 100,000 keys written on
 * every request cost each of them about a millisecond (docs/performance.md, "Garbage collection").
 */
import type { Clock } from '../clock'
import type { Store } from '../store/types'
import { UsageCounts } from './counts'

/** A use not written yet: when, and from where (looked up at most once a second). */
export interface Use {
  at: number
  ip: string | null
  ipAt: number
  readonly key: UsedKey
}

/** The key a use is recorded for: its id to write, its user and hash for the read model. */
export interface UsedKey {
  readonly keyId: number
  readonly userId: string
  readonly hash: string
  /** Its use not written yet, kept here by the tracker (null or absent: none). */
  unwritten?: Use | null
}

const CHUNK = 1024

/** A list that only grows at its end, in chunks of CHUNK: appending writes to the last chunk alone. */
class ChunkedList<T> {
  chunks: T[][] = [[]]
  length = 0

  push(item: T): void {
    let last = this.chunks[this.chunks.length - 1]!
    if (last.length === CHUNK) this.chunks.push((last = []))
    last.push(item)
    this.length++
  }

  at(index: number): T {
    return this.chunks[Math.floor(index / CHUNK)]![index % CHUNK]!
  }
}

/**
 * The uses of a round in the order to write them: by key id (keys with neighbouring ids share
 * pages), each a number packing the id with the use's index in the round's list, sorted as a
 * Float64Array (100,000 in about 1.5 ms with the packing: sorting the uses themselves with a
 * comparator took 18 ms, and mapping the sorted numbers back to a list of uses 3 ms more).
 * Ids too large to pack with the indices are written in the order of first use.
 */
class Round {
  private readonly order: Float64Array
  private readonly scale: number
  private at = 0

  constructor(private readonly uses: ChunkedList<Use>) {
    this.scale = 2 ** Math.max(1, Math.ceil(Math.log2(uses.length + 1)))
    this.order = new Float64Array(uses.length)
    let index = 0
    let fits = true
    for (const chunk of uses.chunks) {
      for (const use of chunk) {
        const packed = use.key.keyId * this.scale + index
        if (packed > Number.MAX_SAFE_INTEGER) fits = false
        this.order[index] = packed
        index++
      }
    }
    if (fits) this.order.sort()
    else for (let i = 0; i < index; i++) this.order[i] = i
  }

  get left(): number {
    return this.order.length - this.at
  }

  private use(position: number): Use {
    return this.uses.at(this.order[position]! % this.scale)
  }

  /**
   * The next `limit` uses, and any more of the last one's key: two cached copies of one key
   * (evicted and loaded again) each have a use, and the latest must be written last.
   */
  take(limit: number): Use[] {
    const batch: Use[] = []
    while (this.at < this.order.length && (batch.length < limit || this.use(this.at).key.keyId === batch[batch.length - 1]!.key.keyId)) {
      batch.push(this.use(this.at++))
    }
    for (let i = 1; i < batch.length; i++) {
      for (let j = i; j > 0 && batch[j]!.key.keyId === batch[j - 1]!.key.keyId && batch[j]!.at < batch[j - 1]!.at; j--) {
        ;[batch[j], batch[j - 1]] = [batch[j - 1]!, batch[j]!]
      }
    }
    return batch
  }

  /** Every use not taken yet. */
  rest(): Use[] {
    const rest: Use[] = []
    while (this.at < this.order.length) rest.push(this.use(this.at++))
    return rest
  }
}

export class UsageTracker {
  private pending = new ChunkedList<Use>()
  /** The current round of `flush(limit)` calls. */
  private round: Round | null = null
  /** Rows written so far (tests, metrics). */
  writes = 0
  /** Authentications per key per hour by outcome, flushed beside the last uses. */
  readonly counts: UsageCounts

  constructor(
    private readonly store: Pick<Store, 'write' | 'usage'>,
    private readonly clock: Clock,
  ) {
    this.counts = new UsageCounts(store, clock)
  }

  /**
   * Notes a use of the key; nothing is written until the next flush. The client address is
   * looked up at most once a second per key: it costs more than the rest of this.
   */
  record(key: UsedKey, ip: () => string | null): void {
    const at = this.clock.nowMs()
    const use = key.unwritten
    if (use) {
      use.at = at
      if (at - use.ipAt >= 1000) {
        use.ip = ip()
        use.ipAt = at
      }
      return
    }
    const fresh: Use = { at, ip: ip(), ipAt: at, key }
    key.unwritten = fresh
    this.pending.push(fresh)
  }

  /** True while a round of `flush(limit)` calls has keys left to write. */
  get roundUnfinished(): boolean {
    return this.round !== null && this.round.left > 0
  }

  /** How many keys have a use not written yet. */
  get pendingCount(): number {
    return this.pending.length + (this.round?.left ?? 0)
  }

  /**
   * Writes pending uses, at most `limit` keys, in one transaction; returns how many keys were
   * written. Calls take turns through a round: the keys pending when the round began, lowest
   * id first. A use that comes in during the round is written with its key if the round has
   * not passed it yet, else by the next round. Without a limit, everything pending is written.
   * When the write fails (a lock held too long, a full disk) the uses are kept for the next
   * flush, the round ends, and the error is thrown to the caller.
   */
  async flush(limit = Number.POSITIVE_INFINITY): Promise<number> {
    if (limit === Number.POSITIVE_INFINITY || !this.roundUnfinished) this.startRound()
    const round = this.round!
    const batch = round.take(limit)
    if (batch.length === 0) {
      this.round = null
      return 0
    }
    try {
      await this.store.write(async (tx) => {
        for (const use of batch) await tx.apikeys.writeLastUse(use.key, new Date(use.at).toISOString(), use.ip)
      })
    } catch (error) {
      // Kept as they are, with any newer use they got meanwhile: the next round writes them.
      for (const use of [...batch, ...round.rest()]) this.pending.push(use)
      this.round = null
      throw error
    }
    for (const use of batch) if (use.key.unwritten === use) use.key.unwritten = null
    if (round.left === 0) this.round = null
    this.writes += batch.length
    return batch.length
  }

  /** A round over the uses pending now, and what is left of an unfinished one. */
  private startRound(): void {
    if (this.round !== null) for (const use of this.round.rest()) this.pending.push(use)
    this.round = new Round(this.pending)
    this.pending = new ChunkedList()
  }
}
