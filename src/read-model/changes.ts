/**
 * The one way the read model hears that what it holds may be out of date. A backend feeds it:
 * - its own commits: each write notes what it changed (`Change`), and the notes of a
 *   transaction are applied once it has committed (src/store/sqlite/store.ts);
 * - commits by others, through `ChangeFeed.foreignCommits`, which the read model asks at most
 *   every FOREIGN_COMMITS_POLL_MS: on SQLite, `PRAGMA data_version` (the offline CLI);
 *   on PostgreSQL nothing to poll: the store pushes other instances' changes (NOTIFY) to its
 *   `onCommit` listeners like its own, and a full clear whenever it may have missed some.
 */

/** What a commit changed, as far as the read model is concerned. */
export type Change =
  /** A key was created, changed or deleted: what was cached of it and its user's key list. */
  | { kind: 'key'; hash: string; userId: string }
  /**
   * A key's last use was written. Views show it; no decision depends on it. `hash` finds the
   * cached key (null when the writer does not know it: then only the key list is dropped).
   */
  | { kind: 'last-use'; hash: string | null; keyId: number; userId: string; at: string; ip: string | null }
  /** Orgs, members or apps changed, or someone else committed something: everything goes. */
  | { kind: 'all' }

/** Drop everything (a change the read model cannot tell apart). */
export const EVERYTHING: Change = { kind: 'all' }

/** How a backend tells the read model about what it did not write itself. */
export interface ChangeFeed {
  /**
   * True when a read now could see changes the read model was not told about (another
   * process committed). Cheap, but not free (SQLite: a read lock): asked at most every
   * FOREIGN_COMMITS_POLL_MS.
   */
  foreignCommits(): boolean
}

/**
 * How stale a change by another process can be, at most: the read model asks the feed this
 * often (when requests come). `key revoke` waits this long before it answers (src/cli/key.ts).
 */
export const FOREIGN_COMMITS_POLL_MS = 100
