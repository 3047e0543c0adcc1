/** Opening the data directory for a command: database, migrations, store. */
import { systemClock } from '../clock'
import type { Core, KeyPolicy } from '../core'
import { inTransaction, openDatabase } from '../db/database'
import { migrate } from '../db/migrate'
import { serverLifetime } from '../modules/apikey/policies'
import { UsageTracker } from '../modules/apikey/usage'
import { createStore } from '../store'

/**
 * `recordPolicy`: this command enforces the key policy (serve), so a new maximum key lifetime
 * comes into force now (SPEC §6a); other commands follow what serve recorded unless given one.
 */
export function openCore(dir: string, policy: KeyPolicy = { maxKeyLifetimeDays: null, keyRateLimit: null }, recordPolicy = false): Core {
  const db = openDatabase(dir)
  migrate(db)
  const store = createStore(db)
  const lifetime = inTransaction(db, () => serverLifetime(store.settings, policy.maxKeyLifetimeDays, systemClock.now().toISOString(), recordPolicy))
  return {
    store, clock: systemClock, usage: new UsageTracker(db, systemClock),
    policy: { ...policy, maxKeyLifetimeDays: lifetime.maxDays, maxKeyLifetimeSince: lifetime.since },
  }
}
