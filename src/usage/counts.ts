/**
 * Authentications per key per hour, by outcome (GET /apikey/:id/usage). Counted in memory on
 * every request (a map lookup and an increment) and written in batches with the last uses
 * (src/cli/serve.ts): at most one row per key and hour per flush, however busy the key. A
 * crash loses what was counted since the last flush, as it loses last uses.
 *
 * Answers add what is counted but not written yet to what the table holds, so a request shows
 * in its key's usage at once. A deleted key's rows go with it (ON DELETE CASCADE); its counts
 * not written yet are dropped when they would be.
 */
import type { Clock } from '../clock'
import type { Store } from '../store/types'

/** What became of an authentication with a known key; the index of its count. */
export const Outcome = {
  /** Got in, and was not refused a permission. */
  allowed: 0,
  /** Got in, then refused: 403. */
  forbidden: 1,
  /** Over the key's rate limit: 429. */
  rateLimited: 2,
  /** Refused at the door: 401 for a disabled or expired key. */
  rejected: 3,
} as const
export type Outcome = (typeof Outcome)[keyof typeof Outcome]

export const HOUR_MS = 3_600_000

/** One hour of one key's (or several keys') counts, as the API shows it. */
export interface UsageBucket {
  /** The start of the hour, ISO 8601 UTC. */
  hour: string
  allowed: number
  forbidden: number
  rate_limited: number
  rejected: number
}

/** Counts by Outcome: [allowed, forbidden, rate_limited, rejected]. */
type Counts = number[]

interface Row {
  keyId: number
  /** Hours since the epoch. */
  hour: number
  counts: Counts
}

export class UsageCounts {
  /** Counts not written yet: hour (since the epoch) → key id → counts. */
  private pending = new Map<number, Map<number, Counts>>()
  /** The hour being counted, and its map in `pending`. */
  private hour = -1
  private current = new Map<number, Counts>()
  /** The rows of the current round of `flush(limit)`, by key and hour, and how far it got. */
  private round: Row[] = []
  private roundAt = 0
  /** The cutoff (seconds) of the last prune that left nothing older behind. */
  private prunedBefore = Number.NEGATIVE_INFINITY
  constructor(
    private readonly store: Pick<Store, 'write' | 'usage'>,
    private readonly clock: Clock,
  ) {}

  /** Counts one authentication of the key. Allocates only for a key's first count in an hour. */
  count(keyId: number, outcome: Outcome): void {
    const hour = Math.floor(this.clock.nowMs() / HOUR_MS)
    if (hour !== this.hour) this.turnTo(hour)
    let counts = this.current.get(keyId)
    if (counts === undefined) this.current.set(keyId, (counts = [0, 0, 0, 0]))
    counts[outcome]!++
  }

  /** Counts the answer to a request the key got in with: a 403 is `forbidden`, anything else `allowed`. */
  readonly answered = (keyId: number, status: number): void => {
    this.count(keyId, status === 403 ? Outcome.forbidden : Outcome.allowed)
  }

  private turnTo(hour: number): void {
    let keys = this.pending.get(hour)
    if (keys === undefined) this.pending.set(hour, (keys = new Map()))
    this.hour = hour
    this.current = keys
  }

  /** Adds counts to what is pending (counts of a failed write, put back). */
  private add(hour: number, keyId: number, counts: Counts): void {
    let keys = this.pending.get(hour)
    if (keys === undefined) this.pending.set(hour, (keys = new Map()))
    const known = keys.get(keyId)
    if (known === undefined) keys.set(keyId, counts)
    else for (let i = 0; i < 4; i++) known[i]! += counts[i]!
  }

  /** True while a round of `flush(limit)` calls has rows left to write. */
  get roundUnfinished(): boolean {
    return this.roundAt < this.round.length
  }

  /** Rows (key and hour) counted and not written yet. */
  get pendingRows(): number {
    let rows = this.round.length - this.roundAt
    for (const keys of this.pending.values()) rows += keys.size
    return rows
  }

  /** Takes everything pending into a new round, in the table's order (key, hour), which keeps a step's writes on few pages. */
  private startRound(): void {
    const rows: Row[] = []
    for (const [hour, keys] of this.pending) for (const [keyId, counts] of keys) rows.push({ keyId, hour, counts })
    rows.sort((a, b) => a.keyId - b.keyId || a.hour - b.hour)
    this.pending = new Map()
    this.hour = -1
    this.round = rows
    this.roundAt = 0
  }

  /** Writes up to `limit` rows of the round in one transaction; on failure they go back to pending. */
  private async writeRound(limit: number): Promise<number> {
    const from = this.roundAt
    const to = Math.min(this.round.length, from + limit)
    const rows = this.round.slice(from, to).map(({ keyId, hour, counts }) => ({
      keyId, hour: hour * 3600, allowed: counts[0]!, forbidden: counts[1]!, rate_limited: counts[2]!, rejected: counts[3]!,
    }))
    try {
      await this.store.write((tx) => tx.usage.add(rows))
    } catch (error) {
      for (let i = from; i < this.round.length; i++) {
        const { keyId, hour, counts } = this.round[i]!
        this.add(hour, keyId, counts)
      }
      this.round = []
      this.roundAt = 0
      throw error
    }
    // Answers add the round's rows from roundAt on until they are written: moved on only now.
    this.roundAt = to
    if (to === this.round.length) {
      this.round = []
      this.roundAt = 0
    }
    return to - from
  }

  /**
   * Writes pending counts, at most `limit` rows (a key's hour) in one transaction; returns how
   * many. With a limit, calls take turns through a round: the rows pending when it began.
   * Without one (at shutdown), everything. When the write fails, the rows are kept for the
   * next flush, the round ends and the error is thrown to the caller.
   */
  async flush(limit = Number.POSITIVE_INFINITY): Promise<number> {
    if (!this.roundUnfinished) {
      if (this.pending.size === 0) return 0
      this.startRound()
    }
    let written = await this.writeRound(limit)
    if (limit === Number.POSITIVE_INFINITY && this.pending.size > 0) {
      this.startRound()
      written += await this.writeRound(limit)
    }
    return written
  }

  /**
   * Deletes up to `limit` rows older than `retentionDays`, oldest first, in one transaction;
   * returns how many. Call again while it returns `limit`. Once a pass leaves nothing older,
   * calls do nothing until the cutoff moves on by an hour.
   */
  async prune(retentionDays: number, limit: number): Promise<number> {
    const before = (Math.floor(this.clock.nowMs() / HOUR_MS) - retentionDays * 24) * 3600
    if (before <= this.prunedBefore) return 0
    const deleted = await this.store.write((tx) => tx.usage.prune(before, limit))
    if (deleted < limit) this.prunedBefore = before
    return deleted
  }

  /**
   * The hourly sums over the keys, from hour `fromHour` up to (not including) `toHour`, in
   * hours since the epoch: one bucket per hour, zeros included, oldest first. Counts not
   * written yet are added in.
   */
  async hourly(keyIds: readonly number[], fromHour: number, toHour: number): Promise<UsageBucket[]> {
    const hours = Math.max(0, toHour - fromHour)
    const sums: Counts[] = Array.from({ length: hours }, () => [0, 0, 0, 0])
    const addTo = (hour: number, counts: ArrayLike<number>) => {
      const sum = sums[hour - fromHour]
      if (sum !== undefined) for (let i = 0; i < 4; i++) sum[i]! += counts[i]!
    }
    if (hours > 0 && keyIds.length > 0) {
      for (const row of await this.store.usage.sums(keyIds, fromHour * 3600, toHour * 3600))
        addTo(row.hour / 3600, [row.allowed, row.forbidden, row.rate_limited, row.rejected])
      const wanted = new Set(keyIds)
      for (const [hour, keys] of this.pending) for (const [keyId, counts] of keys) if (wanted.has(keyId)) addTo(hour, counts)
      for (let i = this.roundAt; i < this.round.length; i++) {
        const row = this.round[i]!
        if (wanted.has(row.keyId)) addTo(row.hour, row.counts)
      }
    }
    return sums.map(([allowed, forbidden, rate_limited, rejected], i) => ({
      hour: new Date((fromHour + i) * HOUR_MS).toISOString(),
      allowed: allowed!,
      forbidden: forbidden!,
      rate_limited: rate_limited!,
      rejected: rejected!,
    }))
  }
}
