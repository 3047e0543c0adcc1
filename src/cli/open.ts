/** Opening the data directory for a command: database, migrations, store. */
import { systemClock } from '../clock'
import type { Core, KeyPolicy } from '../core'
import { inTransaction, openDatabase } from '../db/database'
import { migrate } from '../db/migrate'
import { recordServerPolicy } from '../modules/apikey/policies'
import { UsageTracker } from '../modules/apikey/usage'
import { createStore } from '../store'

/**
 * `recordPolicy`: this command enforces the key policy (serve), so a new maximum key lifetime
 * comes into force now (SPEC §6a); other commands keep what serve recorded, and their own
 * maximum when given one.
 */
export function openCore(dir: string, policy: KeyPolicy = { maxKeyLifetimeDays: null, keyRateLimit: null }, recordPolicy = false): Core {
  const db = openDatabase(dir)
  migrate(db)
  const store = createStore(db)
  if (recordPolicy) inTransaction(db, () => recordServerPolicy(store.keyPolicies, policy.maxKeyLifetimeDays, systemClock.now().toISOString()))
  return { store, clock: systemClock, policy, usage: new UsageTracker(db, systemClock) }
}
