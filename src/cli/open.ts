/** Opening the data directory for a command: database, migrations, store. */
import { systemClock } from '../clock'
import type { Core } from '../core'
import { openDatabase } from '../db/database'
import { migrate } from '../db/migrate'
import { createStore } from '../store'

export function openCore(dir: string): Core {
  const db = openDatabase(dir)
  migrate(db)
  return { store: createStore(db), clock: systemClock }
}
