/** Opening the database for a command: store (migrated), read model, core. */
import { systemClock } from '../clock'
import type { DatabaseLocation } from '../config'
import type { Core, KeyPolicy } from '../core'
import { createCore } from '../create-core'
import { recordServerPolicy } from '../modules/apikey/policies'
import { openPostgresStore } from '../store/postgres/store'
import { openSqliteStore } from '../store/sqlite/store'
import type { Store } from '../store/types'

export interface OpenOptions {
  /**
   * This command enforces the key policy (serve): a new maximum key lifetime comes into force
   * now (SPEC §6a). Other commands keep what serve recorded, and their own maximum when given one.
   */
  recordPolicy?: boolean
  /** The read model's size in MiB. */
  cacheMb?: number
}

/** The store at `location`, migrated: SQLite in a directory, or a PostgreSQL database. */
export async function openStore(location: DatabaseLocation): Promise<Store> {
  if (location.kind === 'sqlite') return openSqliteStore(location.dir)
  try {
    return await openPostgresStore(location.url, { applicationName: `codepushgo ${process.argv[2] ?? ''}`.trim() })
  } catch (error) {
    throw new Error(`cannot open the PostgreSQL database at ${describeLocation(location)}: ${(error as Error).message}`)
  }
}

/** Where the data is, for logs and messages: a PostgreSQL URL without its password. */
export function describeLocation(location: DatabaseLocation): string {
  if (location.kind === 'sqlite') return location.dir
  try {
    const url = new URL(location.url)
    if (url.password) url.password = '***'
    if (url.searchParams.has('password')) url.searchParams.set('password', '***')
    return url.toString()
  } catch {
    return 'postgres://…'
  }
}

export async function openCore(location: DatabaseLocation, policy: KeyPolicy = { maxKeyLifetimeDays: null, keyRateLimit: null }, options: OpenOptions = {}): Promise<Core> {
  const store = await openStore(location)
  const core = createCore(store, { clock: systemClock, policy, cacheMb: options.cacheMb })
  if (options.recordPolicy) await store.write((tx) => recordServerPolicy(tx.keyPolicies, policy.maxKeyLifetimeDays, systemClock.now().toISOString()))
  return core
}
