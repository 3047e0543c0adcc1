/** Opening the data directory for a command: database, migrations, store. */
import { systemClock } from '../clock'
import type { Core, KeyPolicy } from '../core'
import { openDatabase } from '../db/database'
import { migrate } from '../db/migrate'
import { UsageTracker } from '../modules/apikey/usage'
import { createStore } from '../store'

export function openCore(dir: string, policy: KeyPolicy = { maxKeyLifetimeDays: null, keyRateLimit: null }): Core {
  const db = openDatabase(dir)
  migrate(db)
  return { store: createStore(db), clock: systemClock, policy, usage: new UsageTracker(db, systemClock) }
}
