/**
 * The throwaway PostgreSQL cluster the PostgreSQL tests run on (test/helpers/postgres.ts): it
 * starts, isolates each test in its own database, answers over TCP and its unix socket, stops,
 * resumes and restarts, and leaves nothing behind, not even when its process dies.
 */
import { SQL } from 'bun'
import { describe, expect, test } from 'bun:test'
import { existsSync, readFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { findPostgres, SUPERUSER, usePostgresCluster } from './helpers/postgres'

const bin = findPostgres()

/** The pid of the cluster's server (postmaster), from its pid file. */
function serverPid(dir: string): number {
  return Number(readFileSync(join(dir, 'data', 'postmaster.pid'), 'utf8').split('\n')[0])
}

/** Whether `pid` runs: a zombie (ended, not yet reaped by its parent, here init) does not. */
function isAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3)
    return state !== 'Z' && state !== 'X'
  } catch {
    return false
  }
}

/** Runs `fn` with a client on `url`, closed afterwards. */
async function withClient<T>(url: string, fn: (sql: SQL) => Promise<T>): Promise<T> {
  const sql = new SQL(url, { max: 1 })
  try {
    return await fn(sql)
  } finally {
    await sql.close({ timeout: 0 })
  }
}

describe.skipIf(!bin)('a throwaway PostgreSQL cluster', () => {
  const cluster = usePostgresCluster(bin)

  test('answers over TCP on a loopback port, as the superuser, with fsync off', async () => {
    const [row] = await withClient(cluster().url(), (sql) => sql`SELECT current_user AS user, current_setting('fsync') AS fsync, inet_server_addr()::text AS addr`)
    expect(row).toEqual({ user: 'postgres', fsync: 'off', addr: '127.0.0.1/32' })
  })

  test('answers over its unix socket too (no server address: not TCP)', async () => {
    expect(existsSync(join(cluster().dir, `.s.PGSQL.${cluster().port}`))).toBe(true)
    const [row] = await withClient(cluster().socketUrl(), (sql) => sql`SELECT inet_server_addr() AS addr, current_database() AS db`)
    expect(row).toEqual({ addr: null, db: 'postgres' })
  })

  test('each createDatabase is a new, empty database', async () => {
    const first = await cluster().createDatabase()
    const second = await cluster().createDatabase()
    expect(first).not.toBe(second)
    await withClient(first, (sql) => sql`CREATE TABLE only_here (x int)`)
    const tables = await withClient(second, (sql) => sql`SELECT count(*)::int AS n FROM pg_tables WHERE schemaname = 'public'`)
    expect(tables[0].n).toBe(0)
  })

  test('stop refuses connections, resume serves the same data on the same port', async () => {
    const url = await cluster().createDatabase()
    await withClient(url, (sql) => sql`CREATE TABLE kept (x int); INSERT INTO kept VALUES (7)`.simple())
    const port = cluster().port
    await cluster().stop()
    const refused = await withClient(url, (sql) => sql`SELECT 1`).catch((error: unknown) => error)
    expect(refused).toBeInstanceOf(SQL.PostgresError)
    expect((refused as SQL.PostgresError).code).toBe('ERR_POSTGRES_CONNECTION_REFUSED')
    await cluster().resume()
    expect(cluster().port).toBe(port)
    expect(await withClient(url, (sql) => sql`SELECT x FROM kept`)).toEqual([{ x: 7 }])
  })

  test('restart ends every session: a new server process, the data kept', async () => {
    const url = await cluster().createDatabase()
    await withClient(url, (sql) => sql`CREATE TABLE kept (x int)`)
    const before = serverPid(cluster().dir)
    await cluster().restart()
    const after = serverPid(cluster().dir)
    expect(after).not.toBe(before)
    expect(isAlive(before)).toBe(false)
    expect(await withClient(url, (sql) => sql`SELECT count(*)::int AS n FROM kept`)).toEqual([{ n: 0 }])
  })
})

describe.skipIf(!bin)('nothing outlives the test process', () => {
  const script = resolve(import.meta.dir, 'fixtures/postgres-exit.ts')

  /**
   * Runs the fixture until it ends (after SIGTERM for `signal`); returns what it started.
   * `asUser` runs it as that user instead (through `runuser`, so only as root).
   */
  async function orphanedBy(how: 'throw' | 'signal', asUser?: string) {
    const argv = [process.execPath, script, bin!, how]
    const child = Bun.spawn(asUser ? ['runuser', '-u', asUser, '--', ...argv] : argv, { stdin: 'ignore', stdout: 'pipe', stderr: 'pipe' })
    const reader = child.stdout.getReader()
    let text = ''
    while (!text.includes('\n')) {
      const { value, done } = await reader.read()
      if (done) throw new Error(`the fixture ended before starting its cluster: ${await new Response(child.stderr).text()}`)
      text += new TextDecoder().decode(value)
    }
    const started = JSON.parse(text) as { dir: string; pid: number }
    expect(isAlive(started.pid)).toBe(true)
    if (how === 'signal') child.kill('SIGTERM')
    const exitCode = await child.exited
    return { ...started, exitCode }
  }

  test('a process that dies of an uncaught error stops its cluster and removes its directory', async () => {
    const { dir, pid, exitCode } = await orphanedBy('throw')
    expect(exitCode).not.toBe(0)
    expect(isAlive(pid)).toBe(false)
    expect(existsSync(dir)).toBe(false)
  })

  test('so does a process ended by SIGTERM', async () => {
    const { dir, pid, exitCode } = await orphanedBy('signal')
    expect(exitCode).toBe(143)
    expect(isAlive(pid)).toBe(false)
    expect(existsSync(dir)).toBe(false)
  })

  // As root the helper goes through runuser; an ordinary user runs initdb and pg_ctl directly.
  test.skipIf(process.getuid?.() !== 0)('an ordinary user (no runuser) gets a cluster, and it is cleaned up the same', async () => {
    const { dir, pid, exitCode } = await orphanedBy('throw', SUPERUSER)
    expect(exitCode).not.toBe(0)
    expect(isAlive(pid)).toBe(false)
    expect(existsSync(dir)).toBe(false)
  })
})
