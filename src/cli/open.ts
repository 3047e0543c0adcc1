/** Opening the data directory for a command: database, migrations, store, read model. */
import { systemClock } from '../clock'
import type { Core, KeyPolicy } from '../core'
import { createCore } from '../create-core'
import { openDatabase } from '../db/database'
import { migrate } from '../db/migrate'

export function openCore(dir: string, policy: KeyPolicy = { maxKeyLifetimeDays: null, keyRateLimit: null }, cacheMb?: number): Core {
  const db = openDatabase(dir)
  migrate(db)
  return createCore(db, { clock: systemClock, policy, cacheMb })
}
