/**
 * The backend the API and end-to-end suites run on: SQLite by default, PostgreSQL when
 * TEST_BACKEND=postgres (`npm test` runs both passes, SPEC §11). On PostgreSQL one throwaway
 * cluster serves the whole run, started on first use; each store gets a fresh database, a
 * copy of a template migrated once, and is closed when the test that made it finishes.
 */
import { SQL } from 'bun'
import { appendFileSync } from 'node:fs'
import { onTestFinished } from 'bun:test'
import { migratePostgres } from '../../src/store/postgres/migrate'
import { openPostgresStore, type PostgresStore } from '../../src/store/postgres/store'
import type { DataLocation } from './binary'
import { findPostgres, PostgresCluster } from './postgres'

export type TestBackend = 'sqlite' | 'postgres'

/** This run's backend. */
export const TEST_BACKEND: TestBackend = process.env.TEST_BACKEND === 'postgres' ? 'postgres' : 'sqlite'

/** True on the PostgreSQL pass: for `test.skipIf(onPostgres)` on what only SQLite has (its files, raw SQL). */
export const onPostgres = TEST_BACKEND === 'postgres'

const TEMPLATE = 'codepushgo_template'

/** PostgreSQL's programs, looked for once, when the module loads (the skip notice, or CI's failing test). */
const bin = onPostgres ? findPostgres() : null

let started: Promise<PostgresCluster> | null = null

/** The run's cluster, with the migrated template database; started on first call. */
function cluster(): Promise<PostgresCluster> {
  started ??= (async () => {
    if (!bin) throw new Error('TEST_BACKEND=postgres, but PostgreSQL is not installed (apt-get install postgresql)')
    const running = await PostgresCluster.start(bin)
    // bun test exits without running exit handlers: the pass's runner stops what is named here.
    if (process.env.TEST_POSTGRES_CLUSTERS) appendFileSync(process.env.TEST_POSTGRES_CLUSTERS, `${running.dir}\n`)
    const admin = new SQL(running.url(), { max: 1 })
    await admin.unsafe(`CREATE DATABASE ${TEMPLATE}`)
    await admin.close()
    const template = new SQL(running.url(TEMPLATE), { max: 1 })
    await migratePostgres(template)
    await template.close()
    return running
  })()
  return started
}

/** A fresh, migrated database on the run's cluster: its URL. */
export async function freshPostgresDatabase(): Promise<string> {
  return (await cluster()).createDatabase(TEMPLATE)
}

/** Closes `close` when the current test finishes; outside a test (a file's shared world) it lives for the run. */
function closeWithTest(close: () => Promise<void>): void {
  try {
    onTestFinished(close)
  } catch {
    // Not inside a test.
  }
}

/** A PostgreSQL store on a fresh database (with few connections: a run opens hundreds), and a client of its own on it. */
export async function testPostgresStore(): Promise<{ store: PostgresStore; sql: SQL; close(): Promise<void> }> {
  const url = await freshPostgresDatabase()
  const store = await openPostgresStore(url, { readConnections: 2, writeConnections: 2, bucketConnections: 1 })
  const sql = new SQL(url, { max: 1 })
  let closed: Promise<void> | null = null
  const close = () => (closed ??= Promise.all([store.close(), sql.close({ timeout: 0 })]).then(() => {}))
  closeWithTest(close)
  return { store, sql, close }
}

/** Where a server or CLI command of an end-to-end test keeps its data on this run's backend. */
export async function testLocation(dir: () => string): Promise<DataLocation> {
  return onPostgres ? { databaseUrl: await freshPostgresDatabase() } : dir()
}
