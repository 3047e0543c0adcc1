/**
 * Group commit: the writes that come in during one turn of the event loop share one
 * transaction, and so one commit. A commit appends every page its transaction changed to the
 * WAL, and key writes change mostly the same few pages (the tables' last leaves,
 * `sqlite_sequence`, their user's index entries): under load, twenty writes committed together
 * cost a fraction of twenty commits (docs/performance.md, "Group commit").
 *
 * Every write of the process goes through here, on the store's write connection, one
 * transaction at a time: a write's `await`s never let another write in. Each runs in its own
 * savepoint: one that throws undoes only its own changes and rejects only its own promise. The
 * promises settle after the commit, so no answer is sent for a change that is not written, and
 * after the read model has heard what the transaction changed. If the transaction cannot begin
 * or commit, no write in it is kept, and each fails: with the commit's error, or its own if it
 * had already failed.
 */
import type { Database } from 'bun:sqlite'

interface Queued {
  work: () => unknown
  resolve: (value: unknown) => void
  reject: (error: unknown) => void
}

/** The change notes of the transaction under way, which GroupCommit trims to what stands. */
export interface WriteNotes {
  /** How many there are so far. */
  count(): number
  /** Drops those from the `count()`th on: the changes of a write rolled back. */
  dropFrom(count: number): void
  /** Called once each transaction has ended, committed or not, before its writes settle. */
  ended(): void
}

type Outcome = { ok: true; value: unknown } | { ok: false; error: unknown }

/**
 * At most this many writes per transaction: a burst of writes is committed in pieces, one per
 * turn, so requests that only read are served between them.
 */
export const MAX_GROUP = 64

export class GroupCommit {
  private queue: Queued[] = []
  private running = false
  /** Shared transactions committed so far, not counting those whose every write failed (tests). */
  commits = 0

  constructor(
    private readonly db: Database,
    /** What the writes noted of their changes (src/read-model/changes.ts), kept only for what stands. */
    private readonly notes: WriteNotes,
  ) {}

  /**
   * Runs `work` in the transaction shared by the writes of this turn of the event loop, in a
   * savepoint of its own; settles once that transaction has committed.
   */
  run<T>(work: () => Promise<T> | T): Promise<T> {
    const { promise, resolve, reject } = Promise.withResolvers<T>()
    // The first write of a turn schedules the commit: after this turn's I/O callbacks, which
    // queue the writes of the requests that arrived together.
    if (this.queue.push({ work, resolve: resolve as (value: unknown) => void, reject }) === 1 && !this.running) setImmediate(this.commit)
    return promise
  }

  /** True while a transaction is open or writes wait for one. */
  get busy(): boolean {
    return this.running || this.queue.length > 0
  }

  private readonly commit = async (): Promise<void> => {
    if (this.running || this.queue.length === 0) return
    this.running = true
    const batch = this.queue.length <= MAX_GROUP ? this.queue : this.queue.slice(0, MAX_GROUP)
    this.queue = batch === this.queue ? [] : this.queue.slice(MAX_GROUP)
    const outcomes: Outcome[] = []
    let failure: { error: unknown } | null = null
    try {
      this.db.run('BEGIN IMMEDIATE')
      for (const { work } of batch) {
        const noted = this.notes.count()
        this.db.run('SAVEPOINT write')
        try {
          const value = await work()
          this.db.run('RELEASE write')
          outcomes.push({ ok: true, value })
        } catch (error) {
          // Some errors (ON CONFLICT ROLLBACK, a full disk) roll back the whole shared
          // transaction, not the savepoint: then nothing of the group is kept, and the
          // writes after it must not run in transactions of their own.
          if (!this.db.inTransaction) throw error
          this.db.run('ROLLBACK TO write')
          this.db.run('RELEASE write')
          this.notes.dropFrom(noted)
          outcomes.push({ ok: false, error })
        }
      }
      // A group whose every write failed has nothing to keep: nothing is committed.
      if (outcomes.some((outcome) => outcome.ok)) {
        this.db.run('COMMIT')
        this.commits++
      } else this.db.run('ROLLBACK')
    } catch (error) {
      failure = { error }
      if (this.db.inTransaction) this.db.run('ROLLBACK')
    } finally {
      // Nothing of a failed transaction was kept: what the read model holds is still true.
      if (failure !== null) this.notes.dropFrom(0)
      this.notes.ended()
      this.running = false
      if (this.queue.length > 0) setImmediate(this.commit)
    }
    batch.forEach(({ resolve, reject }, i) => {
      const outcome = outcomes[i]
      if (failure !== null) reject(outcome?.ok === false ? outcome.error : failure.error)
      else if (outcome!.ok) resolve(outcome!.value)
      else reject(outcome!.error)
    })
  }
}
