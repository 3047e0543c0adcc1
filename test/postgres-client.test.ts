/**
 * What Bun's SQL client (`import { SQL } from 'bun'`, the version in node_modules/bun) does on
 * PostgreSQL that the PostgreSQL backend relies on (docs/postgres-notes.md): it works in the
 * compiled binary; transactions, savepoints, prepared statements, pool size; its errors for a
 * unique violation, and for a server that is down, silent, slow, frozen or restarting; and
 * LISTEN/NOTIFY, which re-subscribes by itself after a lost connection but loses what was sent
 * meanwhile.
 */
import { SQL } from 'bun'
import { afterAll, describe, expect, test } from 'bun:test'
import { readFileSync, rmSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { tempDir } from './helpers/binary'
import { freePort } from './helpers/ports'
import { findPostgres, usePostgresCluster } from './helpers/postgres'
import { POSTGRES_MIGRATIONS } from '../src/store/postgres/migrations'
import { waitFor } from './helpers/wait'
import { TcpProxy } from './helpers/tcp-proxy'

const bin = findPostgres()

/** The rejection of `promise` (fails the test if it resolves). */
async function rejectionOf(promise: Promise<unknown>): Promise<SQL.PostgresError> {
  const outcome = await promise.then(
    (value) => ({ value }),
    (error: unknown) => ({ error }),
  )
  if (!('error' in outcome)) throw new Error(`expected a rejection, got ${JSON.stringify(outcome.value)}`)
  expect(outcome.error).toBeInstanceOf(SQL.PostgresError)
  return outcome.error as SQL.PostgresError
}

describe.skipIf(!bin)("Bun's SQL client on PostgreSQL", () => {
  const cluster = usePostgresCluster(bin)
  const clients: SQL[] = []
  /** A client closed after the file's tests. */
  const connect = (url: string, options: Bun.SQL.PostgresOrMySQLOptions = {}) => {
    const sql = new SQL(url, options)
    clients.push(sql)
    return sql
  }
  afterAll(async () => {
    await Promise.all(clients.map((sql) => sql.close({ timeout: 0 })))
  })

  describe('inside a compiled binary', () => {
    // Made by the first test that needs it (a filtered run that skips them all makes none).
    let outDir: string | undefined
    afterAll(() => {
      if (outDir) rmSync(outDir, { recursive: true, force: true })
    })
    let built: Promise<string> | undefined
    /** Compiles test/fixtures/postgres-probe.ts as package.json builds the server; its path. */
    const build = () =>
      (built ??= (async () => {
        outDir = tempDir('codepushgo-pg-probe-')
        const probe = join(outDir, 'postgres-probe')
        const fixture = resolve(import.meta.dir, 'fixtures/postgres-probe.ts')
        const child = Bun.spawn(
          [process.execPath, 'build', fixture, '--compile', '--no-compile-autoload-dotenv', '--no-compile-autoload-bunfig', '--outfile', probe],
          { stdout: 'pipe', stderr: 'pipe' },
        )
        if ((await child.exited) !== 0) throw new Error(`bun build failed: ${await new Response(child.stderr).text()}`)
        return probe
      })())

    for (const via of ['TCP', 'the unix socket'] as const) {
      test(`migrates, runs a transaction with a failing savepoint, prepares, listens and notifies (${via})`, async () => {
        const probe = await build()
        const name = (await cluster().createDatabase()).split('/').pop()!
        const url = via === 'TCP' ? cluster().url(name) : cluster().socketUrl(name)
        const run = Bun.spawn([probe, url], { stdout: 'pipe', stderr: 'pipe', env: { PATH: process.env.PATH ?? '' } })
        const [stdout, stderr, exitCode] = await Promise.all([new Response(run.stdout).text(), new Response(run.stderr).text(), run.exited])
        expect(stderr).toBe('')
        expect(exitCode).toBe(0)
        const report = JSON.parse(stdout)
        expect(report).toMatchObject({
          applied: POSTGRES_MIGRATIONS.map((m) => m.version),
          users: ['usr_1'],
          violation: { errno: '23505', constraint: 'users_email_nocase' },
          notified: 'committed',
        })
        expect(report.prepared).toBeGreaterThan(0)
      }, 30_000)
    }
  })

  test("unix socket URLs: libpq's ?host=/dir, Bun's ?path=/dir, and a percent-encoded directory as the host", async () => {
    const { dir, port } = cluster()
    const urls = [
      `postgres://postgres@/postgres?host=${dir}&port=${port}`,
      `postgres://postgres@localhost/postgres?path=${dir}&port=${port}`,
      `postgres://postgres@${encodeURIComponent(dir)}:${port}/postgres`,
    ]
    for (const url of urls) {
      const sql = connect(url, { max: 1 })
      // No server address: the connection is not TCP.
      expect(await sql`SELECT inet_server_addr() AS addr`).toEqual([{ addr: null }])
    }
  })

  describe('transactions', () => {
    const table = async () => {
      const sql = connect(await cluster().createDatabase())
      await sql`CREATE TABLE t (id int PRIMARY KEY)`
      return sql
    }
    const ids = async (sql: SQL) => (await sql`SELECT id FROM t ORDER BY id`).map((r: { id: number }) => r.id)

    test('a savepoint that fails undoes only its own writes; the transaction goes on and commits', async () => {
      const sql = await table()
      await sql.begin(async (tx) => {
        await tx`INSERT INTO t VALUES (1)`
        const failed = await rejectionOf(
          tx.savepoint(async (sp) => {
            await sp`INSERT INTO t VALUES (2)`
            await sp`INSERT INTO t VALUES (1)`
          }),
        )
        expect(failed.errno).toBe('23505')
        await tx.savepoint('named', (sp) => sp`INSERT INTO t VALUES (3)`)
      })
      expect(await ids(sql)).toEqual([1, 3])
    })

    test('a failed statement outside a savepoint aborts the whole transaction (unlike SQLite)', async () => {
      const sql = await table()
      const error = await rejectionOf(
        sql.begin(async (tx) => {
          await tx`INSERT INTO t VALUES (1)`
          await tx`INSERT INTO t VALUES (1)`.catch(() => {}) // caught, yet the transaction is aborted…
          await tx`INSERT INTO t VALUES (2)` // …so this one fails
        }),
      )
      expect(error.errno).toBe('25P02') // in_failed_sql_transaction
      expect(await ids(sql)).toEqual([])
    })

    test('a unique violation names its constraint: code ERR_POSTGRES_SERVER_ERROR, errno 23505, constraint, table, detail', async () => {
      const sql = await table()
      await sql`CREATE UNIQUE INDEX t_lower ON t ((id % 10))`
      await sql`INSERT INTO t VALUES (1)`
      const error = await rejectionOf(sql`INSERT INTO t VALUES (11)`)
      expect(error).toMatchObject({ code: 'ERR_POSTGRES_SERVER_ERROR', errno: '23505', constraint: 't_lower', table: 't' })
      expect(error.detail).toBe('Key ((id % 10))=(1) already exists.')
    })
  })

  test('statements are prepared (named) by default; prepare: false prepares none, for PgBouncer in transaction mode', async () => {
    const url = await cluster().createDatabase()
    const count = async (sql: SQL) => {
      await sql`SELECT ${1}::int AS one`
      const [{ n }] = await sql`SELECT count(*)::int AS n FROM pg_prepared_statements`
      return n
    }
    expect(await count(connect(url, { max: 1 }))).toBeGreaterThan(0)
    expect(await count(connect(url, { max: 1, prepare: false }))).toBe(0)
  })

  test('max bounds the pool: six queries at once on max: 2 share two connections', async () => {
    const url = await cluster().createDatabase()
    const sql = connect(url, { max: 2, connection: { application_name: 'pool-of-two' } })
    const observer = connect(url, { max: 1 })
    let most = 0
    const running = Promise.all(Array.from({ length: 6 }, () => sql`SELECT pg_sleep(0.05)`))
    let done = false
    void running.finally(() => (done = true))
    while (!done) {
      const [{ n }] = await observer`SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = 'pool-of-two'`
      most = Math.max(most, n)
    }
    await running
    expect(most).toBe(2)
    // The connections stay open for the next queries (no idleTimeout by default).
    expect((await observer`SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = 'pool-of-two'`)[0].n).toBe(2)
  })

  describe('when the server is gone, silent, slow, frozen or restarting', () => {
    test('a server that is down refuses at once: ERR_POSTGRES_CONNECTION_REFUSED, no wait for connectionTimeout', async () => {
      const sql = connect(`postgres://postgres@127.0.0.1:${freePort()}/postgres`, { connectionTimeout: 60 })
      const error = await rejectionOf(sql`SELECT 1`)
      expect(error.code).toBe('ERR_POSTGRES_CONNECTION_REFUSED')
      expect(error.errno).toBeUndefined()
    })

    test('a server that accepts but never answers: connectionTimeout (seconds) ends the wait with ERR_POSTGRES_CONNECTION_TIMEOUT', async () => {
      const silent = Bun.listen({ hostname: '127.0.0.1', port: 0, socket: { data() {} } })
      try {
        const sql = connect(`postgres://postgres@127.0.0.1:${silent.port}/postgres`, { connectionTimeout: 1 })
        const error = await rejectionOf(sql`SELECT 1`)
        expect(error.code).toBe('ERR_POSTGRES_CONNECTION_TIMEOUT')
      } finally {
        silent.stop(true)
      }
    })

    test('statement_timeout, sent at connect through `connection`, ends a query the server runs too long: errno 57014', async () => {
      const sql = connect(await cluster().createDatabase(), { connection: { statement_timeout: 100 } })
      const error = await rejectionOf(sql`SELECT pg_sleep(30)`)
      expect(error).toMatchObject({ code: 'ERR_POSTGRES_SERVER_ERROR', errno: '57014' }) // query_canceled
    })

    test('a frozen server holds a query for as long as it is frozen, even after cancel(): the caller needs a deadline of its own', async () => {
      const sql = connect(await cluster().createDatabase(), { max: 1 })
      const [{ pid }] = await sql`SELECT pg_backend_pid() AS pid`
      let outcome = 'pending'
      process.kill(pid, 'SIGSTOP')
      try {
        const query = sql`SELECT 1 AS one`
        query.then(
          () => (outcome = 'resolved'),
          (error: SQL.PostgresError) => (outcome = `rejected ${error.errno}`),
        )
        query.cancel()
        // The cancel request has reached the server once its SIGINT waits on the stopped backend.
        const sigint = 1n << 1n
        const pendingSignals = () => BigInt(`0x${/ShdPnd:\s*([0-9a-f]+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]}`)
        await waitFor('the cancel request to reach the backend', () => (pendingSignals() & sigint) !== 0n)
        expect(outcome).toBe('pending')
      } finally {
        process.kill(pid, 'SIGCONT')
      }
      await waitFor('the query to settle once the server runs again', () => outcome !== 'pending')
      expect(['resolved', 'rejected 57014']).toContain(outcome)
    })

    test('a query running when pg_ctl restart runs fails with 57P01; the same client works again once the server is back', async () => {
      const url = await cluster().createDatabase()
      const sql = connect(url, { connection: { application_name: 'restarted' } })
      const observer = new SQL(url, { max: 1 })
      const pending = rejectionOf(sql`SELECT pg_sleep(30)`)
      await waitFor('the query to run', async () => (await observer`SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = 'restarted' AND state = 'active'`)[0].n === 1)
      await observer.close()
      await cluster().restart()
      const error = await pending
      expect(error).toMatchObject({ code: 'ERR_POSTGRES_SERVER_ERROR', errno: '57P01' }) // admin_shutdown
      expect(await sql`SELECT 1 AS back`).toEqual([{ back: 1 }])
    }, 20_000)
  })

  describe('LISTEN/NOTIFY', () => {
    test('listen resolves once subscribed, with { channel, unlisten }; onlisten runs then; a NOTIFY in a transaction arrives at commit, never after a rollback', async () => {
      const url = await cluster().createDatabase()
      const sql = connect(url)
      const other = connect(url)
      const got: string[] = []
      let listens = 0
      const subscription = await sql.listen('changes', (payload) => got.push(payload), () => listens++)
      expect(subscription.channel).toBe('changes')
      expect(listens).toBe(1)

      await sql.begin(async (tx) => {
        await tx.notify('changes', 'in the transaction')
        await other.notify('changes', 'committed meanwhile') // arrives first: the transaction has not committed yet
      })
      await rejectionOf(
        sql.begin(async (tx) => {
          await tx.notify('changes', 'rolled back')
          await tx`SELECT 1/0`
        }),
      )
      await other.notify('changes', 'last')
      await waitFor('the last notification', () => got.includes('last'))
      // Notifications arrive in commit order: one sent at the rollback would come before 'last'.
      expect(got).toEqual(['committed meanwhile', 'in the transaction', 'last'])
      await subscription.unlisten()
    })

    test('a lost LISTEN connection re-subscribes by itself (onlisten runs again); what was sent meanwhile is lost', async () => {
      const url = await cluster().createDatabase()
      const proxy = new TcpProxy(cluster().port)
      try {
        let closes = 0
        const listener = connect(url.replace(`:${cluster().port}/`, `:${proxy.port}/`), { onclose: () => closes++ })
        const notifier = connect(url)
        const got: string[] = []
        let listens = 0
        await listener.listen('changes', (payload) => got.push(payload), () => listens++)
        await notifier.notify('changes', 'before')
        await waitFor('the first notification', () => got.length === 1)

        proxy.cut()
        await waitFor('the client to see its connection drop', () => closes > 0)
        await notifier.notify('changes', 'while disconnected')
        proxy.restore()
        await waitFor('the re-subscription', () => listens === 2)
        await notifier.notify('changes', 'after')
        await waitFor('a notification after the re-subscription', () => got.includes('after'))
        expect(got).toEqual(['before', 'after'])
      } finally {
        proxy.stop()
      }
    }, 20_000)

    test('after a server restart the subscription comes back by itself, and onlisten says so', async () => {
      const url = await cluster().createDatabase()
      const listener = connect(url)
      const got: string[] = []
      let listens = 0
      await listener.listen('changes', (payload) => got.push(payload), () => listens++)
      await cluster().restart()
      await waitFor('the re-subscription', () => listens === 2)
      await connect(url).notify('changes', 'back')
      await waitFor('a notification after the restart', () => got.includes('back'))
    }, 20_000)
  })
})
