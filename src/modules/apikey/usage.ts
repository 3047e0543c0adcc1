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
import type { Clock } from '../../clock'
import type { Store } from '../../store'

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

/** A list that only grows at its end, in chunks: appending writes to the last chunk alone. */
class ChunkedList<T> {
  private static readonly CHUNK = 1024
  chunks: T[][] = [[]]
  length = 0

  push(item: T): void {
    let last = this.chunks[this.chunks.length - 1]!
    if (last.length === ChunkedList.CHUNK) this.chunks.push((last = []))
    last.push(item)
    this.length++
  }
}

/**
 * Uses in the order to write them: by key id (keys with neighbouring ids share pages), and for
 * one key id (two cached copies of one key: evicted and loaded again) the latest last.
 * Sorted as numbers packed with their index (a Float64Array sorts 100,000 in about 1 ms, a
 * comparator took 18 ms), while ids and counts fit in 2^53.
 */
function inWritingOrder(uses: readonly Use[]): Use[] {
  const packed = new Float64Array(uses.length)
  const indexBits = Math.max(1, Math.ceil(Math.log2(uses.length + 1)))
  const scale = 2 ** indexBits
  let fits = true
  for (let i = 0; i < uses.length; i++) {
    const id = uses[i]!.key.keyId
    if (id * scale >= Number.MAX_SAFE_INTEGER) fits = false
    packed[i] = id * scale + i
  }
  if (!fits) return [...uses].sort((a, b) => a.key.keyId - b.key.keyId || a.at - b.at)
  packed.sort()
  const ordered = Array.from(packed, (n) => uses[n % scale]!)
  // Within one id (rarely more than one use) the latest must come last: an insertion sort.
  for (let i = 1; i < ordered.length; i++) {
    for (let j = i; j > 0 && ordered[j]!.key.keyId === ordered[j - 1]!.key.keyId && ordered[j]!.at < ordered[j - 1]!.at; j--) {
      ;[ordered[j], ordered[j - 1]] = [ordered[j - 1]!, ordered[j]!]
    }
  }
  return ordered
}

export class UsageTracker {
  private pending = new ChunkedList<Use>()
  /** The uses of the current round of `flush(limit)` calls, in writing order, and how far it got. */
  private round: Use[] = []
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
    return this.roundAt < this.round.length
  }

  /** How many keys have a use not written yet. */
  get pendingCount(): number {
    return this.pending.length + this.round.length - this.roundAt
  }

  /**
   * Writes pending uses, at most `limit` keys, in one transaction; returns how many keys were
   * written. Calls take turns through a round: the keys pending when the round began, lowest
   * id first. A use that comes in during the round is written with its key if the round has
   * not passed it yet, else by the next round. Without a limit, everything pending is written.
   * When the write fails (a lock held too long, a full disk) the uses are kept for the next
   * flush, the round ends, and the error is thrown to the caller.
   */
  flush(limit = Number.POSITIVE_INFINITY): number {
    if (limit === Number.POSITIVE_INFINITY || !this.roundUnfinished) this.startRound()
    const batch = this.round.slice(this.roundAt, Math.min(this.round.length, this.roundAt + limit))
    this.roundAt += batch.length
    if (batch.length === 0) return 0
    try {
      this.store.write(() => {
        for (const use of batch) this.store.apikeys.writeLastUse(use.key, new Date(use.at).toISOString(), use.ip)
      })
    } catch (error) {
      // Kept as they are, with any newer use they got meanwhile: the next round writes them.
      for (const use of [...batch, ...this.round.slice(this.roundAt)]) this.pending.push(use)
      this.round = []
      this.roundAt = 0
      throw error
    }
    for (const use of batch) if (use.key.unwritten === use) use.key.unwritten = null
    if (!this.roundUnfinished) {
      this.round = []
      this.roundAt = 0
    }
    this.writes += batch.length
    return batch.length
  }

  /** A round over the uses pending now (and what is left of an unfinished one). */
  private startRound(): void {
    const uses = this.round.slice(this.roundAt)
    for (const chunk of this.pending.chunks) for (const use of chunk) uses.push(use)
    this.pending = new ChunkedList()
    this.round = inWritingOrder(uses)
    this.roundAt = 0
  }
}
