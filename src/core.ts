/** What every service needs: the store and the clock. Knows nothing of HTTP. */
import type { Clock } from './clock'
import type { Store } from './store'

export interface Core {
  store: Store
  clock: Clock
}

/** Who did something and from where, for the audit log. Never holds a secret. */
export interface Actor {
  userId: string
  keyId: number | null
  ip: string | null
  userAgent: string | null
}
