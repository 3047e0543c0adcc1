/**
 * Write transactions, and what they tell the read model. Every write to what the read model
 * derives from notes what it changed (`note`, in the repositories); once the transaction that
 * made it has committed, the notes go to the listeners (the read model). A transaction that
 * fails publishes its notes too: forgetting something that did not change costs a reload, and
 * nothing more.
 *
 * SQLite runs one write transaction at a time and never across an `await`, so the notes of
 * the open transaction are simply this object's; a backend whose transactions interleave keeps
 * them per transaction.
 */
import type { Database } from 'bun:sqlite'
import type { Change } from '../read-model/changes'

export type ChangeListener = (changes: readonly Change[]) => void

export class Transactions {
  private notes: Change[] = []
  private readonly listeners: ChangeListener[] = []

  constructor(private readonly db: Database) {}

  /**
   * Runs `fn` in a `BEGIN IMMEDIATE` transaction (the write lock is taken up front), or in a
   * savepoint when a transaction is already open; once the outermost one has ended, publishes
   * what its writes noted.
   */
  write<T>(fn: () => T): T {
    const outermost = !this.db.inTransaction
    try {
      return this.db.transaction(fn).immediate()
    } finally {
      if (outermost) this.publish()
    }
  }

  /** Records what a write changed. Outside a transaction the statement has committed already: published at once. */
  note(change: Change): void {
    this.notes.push(change)
    if (!this.db.inTransaction) this.publish()
  }

  /** `listener` hears the changes of every transaction from now on. */
  onCommit(listener: ChangeListener): void {
    this.listeners.push(listener)
  }

  private publish(): void {
    if (this.notes.length === 0) return
    const notes = this.notes
    this.notes = []
    for (const listener of this.listeners) listener(notes)
  }
}
