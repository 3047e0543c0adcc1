/**
 * Audit retention (`serve --audit-retention-days N`): events older than N days are deleted,
 * oldest first, a slice at a time, so that a server with a long log to prune keeps answering
 * between slices (docs/performance.md, "Maintenance in slices").
 */
import type { Core } from '../../core'

const DAY_MS = 24 * 60 * 60 * 1000
/** Events deleted per transaction: about 1 ms each (docs/performance.md, "Maintenance in slices"). */
export const PRUNE_SLICE = 500

/**
 * Deletes one slice of the events older than `days` days, by the core's clock; returns true
 * while there may be more to delete.
 */
export async function pruneAuditSlice(core: Pick<Core, 'store' | 'clock'>, days: number): Promise<boolean> {
  const cutoff = new Date(core.clock.nowMs() - days * DAY_MS).toISOString()
  return (await core.store.write((tx) => tx.audit.pruneOlderThan(cutoff, PRUNE_SLICE))) === PRUNE_SLICE
}
