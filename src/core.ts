/** What every service needs. Knows nothing of HTTP. */
import type { RateLimit } from './access/rate-limit'
import type { Clock } from './clock'
import type { UsageTracker } from './usage/tracker'
import type { ReadModel } from './read-model/read-model'
import type { Store } from './store/types'

/** Server-wide rules for keys, from the configuration. */
export interface KeyPolicy {
  /**
   * When set, every key must expire: a key created (or whose expiry is changed) must expire
   * within this many days.
   */
  maxKeyLifetimeDays: number | null
  /** The rate limit of keys without one of their own; null: none. */
  keyRateLimit: RateLimit | null
}

export interface Core {
  store: Store
  /** What requests read, kept in memory (src/read-model/read-model.ts). */
  readModel: ReadModel
  clock: Clock
  policy: KeyPolicy
  usage: UsageTracker
}

/** Who did something and from where, for the audit log. Never holds a secret. */
export interface Actor {
  userId: string
  keyId: number | null
  ip: string | null
  userAgent: string | null
}
