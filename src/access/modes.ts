/** Key modes and member roles share one stepped scale: read < upload < write < all. */
export const MODES = ['read', 'upload', 'write', 'all'] as const
export type Mode = (typeof MODES)[number]

const RANK: Record<Mode, number> = { read: 0, upload: 1, write: 2, all: 3 }

/** True when `held` may do what `needed` requires. */
export function modeAtLeast(held: Mode, needed: Mode): boolean {
  return RANK[held] >= RANK[needed]
}

