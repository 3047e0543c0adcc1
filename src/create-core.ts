/** Builds a Core over one database. */
import type { Database } from 'bun:sqlite'
import type { Clock } from './clock'
import type { Core, KeyPolicy } from './core'
import { sqliteChangeFeed } from './db/change-feed'
import { UsageTracker } from './modules/apikey/usage'
import { DEFAULT_CACHE_MB, ReadModel } from './read-model/read-model'
import { createStore } from './store'

export interface CoreOptions {
  clock: Clock
  policy: KeyPolicy
  /** The read model's size in MiB (default DEFAULT_CACHE_MB). */
  cacheMb?: number
}

/** The store over `db`, its read model fed by the store's commits and other processes' (data_version), and the last-use tracker. */
export function createCore(db: Database, { clock, policy, cacheMb = DEFAULT_CACHE_MB }: CoreOptions): Core {
  const store = createStore(db)
  const readModel = new ReadModel(store, sqliteChangeFeed(db), clock, {
    budgetBytes: cacheMb * 1024 * 1024, defaultRateLimit: policy.keyRateLimit, serverMaxDays: policy.maxKeyLifetimeDays,
  })
  store.transactions.onCommit((changes) => readModel.apply(changes))
  return { store, readModel, clock, policy, usage: new UsageTracker(store, clock) }
}
