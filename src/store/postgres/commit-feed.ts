/**
 * How an instance hears what the others commit (SPEC §11, src/read-model/changes.ts). Each
 * write transaction bumps the commit counter first (migration 0003) and, last, sends a NOTIFY
 * with its number and its notes; PostgreSQL delivers it only if the transaction commits, in
 * commit order, which the counter's row lock makes the counter's order. Here:
 *
 * - a notification from another instance hands its notes to `deliver`; one from this instance
 *   only counts (its writer delivered its notes after the commit);
 * - numbers come one after the other: a gap means a commit that sent nothing (or whose
 *   notification was lost), and everything goes;
 * - on every (re)subscription everything goes, since notifications sent while the listen
 *   connection was down are lost, and the count starts again from the counter;
 * - every `pollMs` the counter is read: when it is beyond the last number heard and a short
 *   grace later still is (a notification may be on its way), everything goes. So a lost
 *   notification costs at most a poll interval and the grace, while the listen connection
 *   reconnects (up to ~40 s after an outage: docs/postgres-notes.md);
 * - after a poll failed, the listen connection is presumed down as well until a notification
 *   or a re-subscription shows otherwise: no notification is on its way then, so a commit the
 *   poll sees goes at once, without the grace (the bound after an outage is the poll alone).
 */
import type { SQL } from 'bun'
import { EVERYTHING, type Change } from '../../read-model/changes'

/** The channel of commit notifications. Channels are per database, like the data. */
export const COMMITS_CHANNEL = 'codepushgo_commits'

/** PostgreSQL refuses payloads of 8,000 bytes or more; beyond this, a commit's notes become one `all`. */
export const MAX_PAYLOAD_BYTES = 7900

/** What one commit's notification says: who committed (`i`), its number (`n`) and its notes (`c`). */
interface Notice {
  i: string
  n: number
  c: Change[]
}

/** The payload of the notification of commit `n` by `instance`. */
export function noticePayload(instance: string, n: number, changes: readonly Change[]): string {
  const text = JSON.stringify({ i: instance, n, c: changes })
  return Buffer.byteLength(text) <= MAX_PAYLOAD_BYTES ? text : JSON.stringify({ i: instance, n, c: [EVERYTHING] })
}

function parseNotice(payload: string): Notice | null {
  try {
    const notice = JSON.parse(payload)
    return typeof notice?.i === 'string' && Number.isSafeInteger(notice.n) && Array.isArray(notice.c) ? notice : null
  } catch {
    return null
  }
}

/** Reads the commit counter: it moves when a transaction that bumped it commits, never before. */
export async function readCommitCounter(sql: SQL): Promise<number> {
  const [row] = await sql<{ n: string }[]>`SELECT n FROM codepushgo_commits`
  return Number(row!.n)
}

export interface CommitFeedOptions {
  /** How often the counter is read (ms). */
  pollMs: number
  /** How long a counter beyond the last number heard may wait for its notification (ms). */
  graceMs: number
}

export class CommitFeed {
  /** The last commit number accounted for, every one before it heard or cleared; null just after (re)subscribing. */
  private heard: number | null = null
  /** While `heard` is null: the highest number a notification brought meanwhile. */
  private heardMeanwhile = 0
  /** Subscriptions so far: a counter read before the latest one cannot set the count. */
  private subscriptions = 0
  private poller: Timer | null = null
  private subscription: { unlisten(): Promise<void> } | null = null
  private closed = false
  /** A poll failed, and no notification or subscription has come since: nothing is on its way. */
  private listenPresumedDown = false

  constructor(
    private readonly sql: SQL,
    private readonly instance: string,
    private readonly deliver: (changes: readonly Change[]) => void,
    private readonly options: CommitFeedOptions,
  ) {}

  /** Subscribes (resolves once LISTEN is acknowledged) and starts the poll. */
  async start(): Promise<void> {
    this.subscription = await this.sql.listen(COMMITS_CHANNEL, (payload) => this.notified(payload), () => this.subscribed())
    this.schedulePoll()
  }

  /** Stops the poll and unsubscribes (which closes the listen connection). */
  async close(): Promise<void> {
    this.closed = true
    if (this.poller) clearTimeout(this.poller)
    await this.subscription?.unlisten().catch(() => {})
  }

  /** The listen connection (re)subscribed: what was sent while it was down is lost. */
  private subscribed(): void {
    this.listenPresumedDown = false
    this.heard = null
    this.heardMeanwhile = 0
    this.subscriptions++
    this.deliver([EVERYTHING])
    void this.poll(false)
  }

  private notified(payload: string): void {
    const notice = parseNotice(payload)
    this.listenPresumedDown = false
    if (notice === null) return this.deliver([EVERYTHING]) // not ours: whatever it was, assume the worst
    if (this.heard === null) {
      this.heardMeanwhile = Math.max(this.heardMeanwhile, notice.n)
    } else if (notice.n > this.heard + 1) {
      this.heard = notice.n
      return this.deliver([EVERYTHING])
    } else {
      this.heard = Math.max(this.heard, notice.n)
    }
    if (notice.i !== this.instance && notice.c.length > 0) this.deliver(notice.c)
  }

  private schedulePoll(): void {
    if (this.closed) return
    this.poller = setTimeout(() => void this.poll(true), this.options.pollMs)
    this.poller.unref()
  }

  /** Reads the counter: sets the count after a (re)subscription, else looks for commits not heard of. */
  private async poll(again: boolean): Promise<void> {
    const subscriptions = this.subscriptions
    try {
      const counter = await readCommitCounter(this.sql)
      if (this.heard === null) {
        if (subscriptions !== this.subscriptions) return
        // Commits up to `counter` were before the subscription (everything went) or will be heard.
        this.heard = Math.max(counter, this.heardMeanwhile)
      } else if (counter > this.heard) {
        if (this.listenPresumedDown) this.missed(counter)
        else setTimeout(() => this.missed(counter), this.options.graceMs).unref()
      }
    } catch {
      // The database is unavailable (the listen connection too, most likely): the next poll tries again.
      this.listenPresumedDown = true
    } finally {
      if (again) this.schedulePoll()
    }
  }

  private missed(counter: number): void {
    if (this.closed || this.heard === null || this.heard >= counter) return
    this.heard = counter
    this.deliver([EVERYTHING])
  }
}
