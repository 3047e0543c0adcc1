/** Builds a Core over a store: its read model, fed by the store's commits and by what others commit. */
import type { Clock } from './clock'
import type { Core, KeyPolicy } from './core'
import { UsageTracker } from './usage/tracker'
import { DEFAULT_CACHE_MB, ReadModel } from './read-model/read-model'
import type { Store } from './store/types'

export interface CoreOptions {
  clock: Clock
  policy: KeyPolicy
  /** The read model's size in MiB (default DEFAULT_CACHE_MB). */
  cacheMb?: number
}

export function createCore(store: Store, { clock, policy, cacheMb = DEFAULT_CACHE_MB }: CoreOptions): Core {
  const readModel = new ReadModel(store, store.feed, clock, {
    budgetBytes: cacheMb * 1024 * 1024, defaultRateLimit: policy.keyRateLimit, serverMaxDays: policy.maxKeyLifetimeDays,
  })
  store.onCommit((changes) => readModel.apply(changes))
  return { store, readModel, clock, policy, usage: new UsageTracker(store, clock) }
}
