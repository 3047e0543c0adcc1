/**
 * How an instance hears what the others commit (SPEC §11, src/read-model/changes.ts). Each
 * write transaction bumps the commit counter first (migration 0003) and, last, sends a NOTIFY
 * with its number and its notes; PostgreSQL delivers it only if the transaction commits, in
 * commit order, which the counter's row lock makes the counter's order. Here:
 *
 * - a notification from another instance hands its notes to `deliver`; one from this instance
 *   only counts (its writer delivered its notes after the commit); a commit with many notes
 *   sends several notifications, all with its number;
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

/** PostgreSQL refuses payloads of 8,000 bytes or more. */
export const MAX_PAYLOAD_BYTES = 7900

/**
 * At most this many notifications per commit: a commit whose notes need more (a bulk change)
 * sends one `all` instead, cheaper for the listeners than the notes. A last-use flush of 100
 * keys needs three.
 */
export const MAX_NOTIFICATIONS = 16

/** What one commit's notification says: who committed (`i`), its number (`n`) and (some of) its notes (`c`). */
interface Notice {
  i: string
  n: number
  c: Change[]
}

/**
 * The payloads of the notifications of commit `n` by `instance`: its notes, in as many
 * notifications as their size needs (each numbered `n`: the numbering sees one commit), or
 * one `all` past MAX_NOTIFICATIONS. Never none: a commit that notes nothing is still heard,
 * or the next one would look like a gap. Splitting, rather than one `all` for any commit too
 * large for a notification, spares the other instances a full clear at each last-use flush
 * (docs/performance.md, "PostgreSQL").
 */
export function noticePayloads(instance: string, n: number, changes: readonly Change[]): string[] {
  const head = `{"i":${JSON.stringify(instance)},"n":${n},"c":[`
  const room = MAX_PAYLOAD_BYTES - Buffer.byteLength(head) - 2 // the closing ]}
  const everything = [`${head}${JSON.stringify(EVERYTHING)}]}`]
  const payloads: string[] = []
  let notes: string[] = []
  let bytes = 0
  for (const change of changes) {
    const text = JSON.stringify(change)
    const size = Buffer.byteLength(text)
    if (size > room) return everything
    if (notes.length > 0 && bytes + 1 + size > room) {
      payloads.push(`${head}${notes.join(',')}]}`)
      if (payloads.length === MAX_NOTIFICATIONS) return everything
      notes = []
      bytes = 0
    }
    bytes += (notes.length > 0 ? 1 : 0) + size // with the comma before it
    notes.push(text)
  }
  payloads.push(`${head}${notes.join(',')}]}`)
  return payloads
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
