/**
 * A cache bounded by an estimate of the bytes its entries hold, evicting by SIEVE (Zhang et
 * al., NSDI 2024): entries sit in insertion order, a hit only marks its entry visited, and a
 * hand walks from the oldest entry towards the newest, sparing (and unmarking) visited entries
 * and evicting the first unvisited one. A hit costs one property write, where LRU moves the
 * entry (a delete and an insert in the map), and a scan of keys used once passes through
 * without pushing out what is used again (docs/performance.md, "Read model").
 *
 * The map's own insertion order is the queue and a live iterator over it is the hand: a JS Map
 * iterator survives deletions and sees entries added after it was made.
 */

/** What the cache needs of an entry: the visited bit and its estimated size. */
export interface Slot {
  visited: boolean
  /** Estimated bytes the entry keeps alive (its key included); fixed once it is in the cache, or changed through `resize`. */
  bytes: number
}

export class SieveCache<K, V extends Slot> {
  private readonly entries = new Map<K, V>()
  private hand: MapIterator<[K, V]> | null = null
  private used = 0

  constructor(private budget: number) {}

  /** The entry, marked as used; undefined when there is none. */
  get(key: K): V | undefined {
    const entry = this.entries.get(key)
    if (entry !== undefined) entry.visited = true
    return entry
  }

  /** The entry without marking it (for updates that are not uses). */
  peek(key: K): V | undefined {
    return this.entries.get(key)
  }

  /** Adds or replaces an entry, then evicts until the cache is within its budget. */
  set(key: K, entry: V): void {
    const previous = this.entries.get(key)
    if (previous !== undefined) this.used -= previous.bytes
    entry.visited = false
    this.entries.set(key, entry)
    this.used += entry.bytes
    this.evictOverBudget()
  }

  /** Records that an entry now holds `bytes` (a list that kept one more answer text). */
  resize(entry: V, bytes: number): void {
    this.used += bytes - entry.bytes
    entry.bytes = bytes
    this.evictOverBudget()
  }

  delete(key: K): V | undefined {
    const entry = this.entries.get(key)
    if (entry === undefined) return undefined
    this.entries.delete(key)
    this.used -= entry.bytes
    return entry
  }

  clear(): void {
    this.entries.clear()
    this.hand = null
    this.used = 0
  }

  get size(): number {
    return this.entries.size
  }

  get bytes(): number {
    return this.used
  }

  get budgetBytes(): number {
    return this.budget
  }

  private evictOverBudget(): void {
    while (this.used > this.budget && this.entries.size > 0) this.evictOne()
  }

  /** Evicts the first unvisited entry from the hand on, unmarking the visited ones it passes. */
  private evictOne(): void {
    for (;;) {
      this.hand ??= this.entries.entries()
      const next = this.hand.next()
      if (next.done) {
        this.hand = null
        continue
      }
      const [key, entry] = next.value
      if (entry.visited) {
        entry.visited = false
        continue
      }
      this.entries.delete(key)
      this.used -= entry.bytes
      return
    }
  }
}
