/**
 * Group commit: writes that come in during one turn of the event loop share one transaction,
 * and so one commit. A commit appends every page its transaction changed to the WAL, and key
 * writes change mostly the same few pages (the tables' last leaves, `sqlite_sequence`, their
 * user's index entries): under load, twenty writes committed together cost a fraction of
 * twenty commits (docs/performance.md, "Group commit").
 *
 * Each write runs in its own savepoint: one that throws undoes only its own changes and
 * rejects only its own promise. The promises settle after the commit, so no answer is sent
 * for a change that is not written. If the transaction cannot begin or commit, no write in it
 * is kept, and each fails: with the commit's error, or its own if it had already failed.
 * The read model hears what the writes changed once the transaction has ended, before any of
 * them is answered (src/db/transactions.ts); reads inside it bypass the read model, as in any
 * transaction.
 */
import type { Database } from 'bun:sqlite'
import type { Transactions } from './transactions'

interface Queued {
  work: () => unknown
  resolve: (value: unknown) => void
  reject: (error: unknown) => void
}

type Outcome = { ok: true; value: unknown } | { ok: false; error: unknown }

/**
 * At most this many writes per transaction: a burst of writes is committed in pieces, one per
 * turn, so requests that only read are served between them.
 */
export const MAX_GROUP = 64

export class GroupCommit {
  private queue: Queued[] = []
  /** Shared transactions committed so far (tests). */
  commits = 0

  constructor(
    private readonly db: Database,
    private readonly transactions: Transactions,
  ) {}

  /**
   * Runs `work` in the transaction shared by the writes of this turn of the event loop, in a
   * savepoint of its own; settles once that transaction has committed. `work` must be
   * synchronous: the savepoint ends when it returns.
   */
  run<T>(work: () => T): Promise<T> {
    const { promise, resolve, reject } = Promise.withResolvers<T>()
    // The first write of a turn schedules the commit: after this turn's I/O callbacks, which
    // queue the writes of the requests that arrived together.
    if (this.queue.push({ work, resolve: resolve as (value: unknown) => void, reject }) === 1) setImmediate(this.commit)
    return promise
  }

  private readonly commit = (): void => {
    const batch = this.queue.length <= MAX_GROUP ? this.queue : this.queue.slice(0, MAX_GROUP)
    this.queue = batch === this.queue ? [] : this.queue.slice(MAX_GROUP)
    if (this.queue.length > 0) setImmediate(this.commit)
    const outcomes: Outcome[] = []
    try {
      this.transactions.write(() => {
        for (const { work } of batch) {
          try {
            // Nested in the shared transaction, bun:sqlite's transaction is a savepoint.
            outcomes.push({ ok: true, value: this.db.transaction(work)() })
          } catch (error) {
            // Some errors (ON CONFLICT ROLLBACK, a full disk) roll back the whole shared
            // transaction, not the savepoint: then nothing of the group is kept, and the
            // writes after it must not run in transactions of their own.
            if (!this.db.inTransaction) throw error
            outcomes.push({ ok: false, error })
          }
        }
      })
    } catch (error) {
      batch.forEach(({ reject }, i) => {
        const outcome = outcomes[i]
        reject(outcome?.ok === false ? outcome.error : error)
      })
      return
    }
    this.commits++
    batch.forEach(({ resolve, reject }, i) => {
      const outcome = outcomes[i]!
      if (outcome.ok) resolve(outcome.value)
      else reject(outcome.error)
    })
  }
}
