/** Opening the data directory for a command: database, migrations, store, read model. */
import { systemClock } from '../clock'
import type { Core, KeyPolicy } from '../core'
import { createCore } from '../create-core'
import { openSqliteStore } from '../store/sqlite/store'
import { recordServerPolicy } from '../modules/apikey/policies'

export interface OpenOptions {
  /**
   * This command enforces the key policy (serve): a new maximum key lifetime comes into force
   * now (SPEC §6a). Other commands keep what serve recorded, and their own maximum when given one.
   */
  recordPolicy?: boolean
  /** The read model's size in MiB. */
  cacheMb?: number
}

export async function openCore(dir: string, policy: KeyPolicy = { maxKeyLifetimeDays: null, keyRateLimit: null }, options: OpenOptions = {}): Promise<Core> {
  const store = openSqliteStore(dir)
  const core = createCore(store, { clock: systemClock, policy, cacheMb: options.cacheMb })
  if (options.recordPolicy) await store.write((tx) => recordServerPolicy(tx.keyPolicies, policy.maxKeyLifetimeDays, systemClock.now().toISOString()))
  return core
}
