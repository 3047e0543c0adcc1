/** Key modes and member roles share one stepped scale: read < upload < write < all. */
export const MODES = ['read', 'upload', 'write', 'all'] as const
export type Mode = (typeof MODES)[number]

/**
 * A mode's step on the scale, or -1 for anything else. Compared, not looked up as a property:
 * modes come from database rows and URLs as fresh strings, and looking up a property by a
 * fresh string first interns it (docs/performance.md, "Hot path").
 */
function rank(mode: string): number {
  if (mode === 'read') return 0
  if (mode === 'upload') return 1
  if (mode === 'write') return 2
  if (mode === 'all') return 3
  return -1
}

/** True when `held` may do what `needed` requires; never for a mode off the scale. */
export function modeAtLeast(held: Mode, needed: Mode): boolean {
  const need = rank(needed)
  return need !== -1 && rank(held) >= need
}
