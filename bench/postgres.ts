/**
 * `npm run bench:postgres`: what PostgreSQL costs the server, against bun:sqlite in the same run
 * (docs/postgres-notes.md quotes it). Starts a throwaway cluster (test/helpers/postgres.ts)
 * with fsync on, as in production, migrates it, seeds 10,000 keys into it and into a SQLite
 * file, and measures over loopback TCP and the unix socket:
 *
 * 1. a point query by primary key (a key's row): latency and throughput, one at a time and 10
 *    at once, against bun:sqlite's prepared statement;
 * 2. the commit-counter poll for convergence: a write transaction with and without bumping a
 *    one-row counter first (which also makes writers take turns, as SQLite's BEGIN IMMEDIATE)
 *    or one of 16 rows last, the poll itself, how late the cumulative statistics show a commit
 *    and whether pg_current_snapshot() moves on writes elsewhere in the cluster;
 * 3. a cross-instance rate limit: the token bucket of src/access/rate-limit.ts as one upsert per
 *    request (same key and distinct keys; logged and UNLOGGED table), against the local bucket;
 * 4. the stores themselves (src/store/): a write transaction that inserts a key and
 *    `apikeys.findByHash`, PostgreSQL's store (unix socket) against SQLite's (a file in the
 *    temporary directory, WAL with synchronous=NORMAL: no disk flush per commit) in the same run.
 *
 * Environment: BENCH_PG_SECONDS (per round, default 1), BENCH_PG_ROUNDS (default 3; each number
 * is the median of the rounds), BENCH_PG_FSYNC=off (commits cost CPU and locks only, no disk). About two minutes. Everything it starts is stopped and its
 * temporary directories removed, also on failure.
 */
import { SQL } from 'bun'
import { mkdtempSync, rmSync } from 'node:fs'
import { cpus, loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { TokenBuckets } from '../src/access/rate-limit'
import { systemClock } from '../src/clock'
import { openDatabase } from '../src/store/sqlite/database'
import { migrate } from '../src/store/sqlite/migrate'
import { openSqliteStore } from '../src/store/sqlite/store'
import { migratePostgres } from '../src/store/postgres/migrate'
import { openPostgresStore } from '../src/store/postgres/store'
import type { NewApiKey } from '../src/store/records'
import type { Store } from '../src/store/types'
import { findPostgres, PostgresCluster } from '../test/helpers/postgres'
import { bumpShardedCounter, bumpWriteCounter, createCandidateTables, readShardedCounter, readWriteCounter, SHARDS, takeToken } from './postgres-candidates'

const SECONDS = Number(process.env.BENCH_PG_SECONDS ?? 1)
const ROUNDS = Number(process.env.BENCH_PG_ROUNDS ?? 3)
const KEYS = 10_000
const FSYNC = process.env.BENCH_PG_FSYNC !== 'off'
const COLUMNS = `id, user_id, name, mode, limited_to_apps, limited_to_orgs, key_start, created_at, updated_at,
  expires_at, enabled, last_used_at, last_used_ip, rotated_from, rate_limit`

interface Measured {
  opsPerSecond: number
  p50us: number
  p99us: number
}

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]!

/** Runs `op` from `concurrency` loops for SECONDS; latency per op, throughput overall. */
async function measureOnce(concurrency: number, op: (i: number) => unknown): Promise<Measured> {
  const latencies: number[] = []
  const end = performance.now() + SECONDS * 1000
  let counter = 0
  const loop = async () => {
    while (performance.now() < end) {
      const start = performance.now()
      await op(counter++)
      latencies.push(performance.now() - start)
    }
  }
  const started = performance.now()
  await Promise.all(Array.from({ length: concurrency }, loop))
  const elapsed = (performance.now() - started) / 1000
  latencies.sort((a, b) => a - b)
  return { opsPerSecond: latencies.length / elapsed, p50us: percentile(latencies, 0.5) * 1000, p99us: percentile(latencies, 0.99) * 1000 }
}

const median = (values: number[]) => values.toSorted((a, b) => a - b)[Math.floor(values.length / 2)]!

/**
 * `measureOnce` ROUNDS times after a warm-up (connections opened, statements prepared, pages
 * cached); each number is the median of its rounds, so that one disturbed round on this shared
 * machine decides nothing.
 */
async function measure(concurrency: number, op: (i: number) => unknown): Promise<Measured> {
  for (let i = 0; i < 200; i++) await op(i)
  const rounds: Measured[] = []
  for (let round = 0; round < ROUNDS; round++) rounds.push(await measureOnce(concurrency, op))
  return {
    opsPerSecond: median(rounds.map((r) => r.opsPerSecond)),
    p50us: median(rounds.map((r) => r.p50us)),
    p99us: median(rounds.map((r) => r.p99us)),
  }
}

function report(what: string, m: Measured, baseline?: Measured) {
  const ratio = baseline ? `${((m.opsPerSecond / baseline.opsPerSecond) * 100).toFixed(1)}%` : ''
  console.log(`| ${what} | ${Math.round(m.opsPerSecond).toLocaleString('en')} | ${m.p50us.toFixed(0)} | ${m.p99us.toFixed(0)} | ${ratio} |`)
}

const randomId = () => 1 + Math.floor(Math.random() * KEYS)

async function seedPostgres(sql: SQL): Promise<void> {
  await migratePostgres(sql)
  await sql`INSERT INTO users (id, email, name, created_at) VALUES ('usr_bench', 'bench@example.com', 'bench', '2026-01-01T00:00:00.000Z')`
  await sql`
    INSERT INTO apikeys (user_id, name, mode, limited_to_apps, key_hash, key_start, created_at, updated_at)
    SELECT 'usr_bench', 'key ' || n, 'read', '["com.demo.app"]', md5(n::text), 'ak_XXXXX', '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z'
    FROM generate_series(1, ${KEYS}) AS n`
  await createCandidateTables(sql)
  await sql`VACUUM ANALYZE`
}

function seedSqlite(dir: string) {
  const db = openDatabase(dir)
  migrate(db)
  db.run("INSERT INTO users (id, email, name, created_at) VALUES ('usr_bench', 'bench@example.com', 'bench', '2026-01-01T00:00:00.000Z')")
  const insert = db.prepare(`INSERT INTO apikeys (user_id, name, mode, limited_to_apps, key_hash, key_start, created_at, updated_at)
    VALUES ('usr_bench', ?, 'read', '["com.demo.app"]', ?, 'ak_XXXXX', '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z')`)
  db.transaction(() => {
    for (let n = 1; n <= KEYS; n++) insert.run(`key ${n}`, new Bun.CryptoHasher('md5').update(String(n)).digest('hex'))
  })()
  return db
}

/**
 * How late the cumulative statistics show a commit: the most, over a few updates of the
 * counter row, of the time from its commit until another session's pg_stat_user_tables shows
 * it (ms). Each backend publishes its counts at most once a second, and later when it is busy
 * or idle: the delay that makes them unfit for a 100 ms bound (and xact_commit counts reads too).
 */
async function statisticsLag(writer: SQL, poller: SQL): Promise<number> {
  const updates = async () =>
    Number((await poller`SELECT n_tup_upd FROM pg_stat_user_tables WHERE relname = 'write_counter'`)[0].n_tup_upd)
  let worst = 0
  for (let i = 0; i < 5; i++) {
    const before = await updates()
    await bumpWriteCounter(writer)
    const committed = performance.now()
    while ((await updates()) === before) await Bun.sleep(1)
    worst = Math.max(worst, performance.now() - committed)
  }
  return worst
}

/** Whether a write in another database of the cluster moves this database's pg_current_snapshot(). */
async function snapshotMovesOnOtherDatabases(sql: SQL, other: SQL): Promise<boolean> {
  const xmax = async () => (await sql`SELECT pg_snapshot_xmax(pg_current_snapshot())::text AS x`)[0].x
  const before = await xmax()
  await other`CREATE TABLE IF NOT EXISTS elsewhere (x int); INSERT INTO elsewhere VALUES (1)`.simple()
  return (await xmax()) !== before
}

/** Section 4: one store's write transaction (a new key) and point read (findByHash), `baseline` the SQLite store's. */
async function measureStore(what: string, store: Store, baseline?: { write: Measured; read: Measured }): Promise<{ write: Measured; read: Measured }> {
  const now = new Date().toISOString()
  await store.write((tx) => tx.users.insert({ id: 'usr_bench', email: 'bench@example.com', name: 'bench', created_at: now }))
  let keys = 0
  const newKey = (): NewApiKey => ({
    user_id: 'usr_bench', name: 'bench', mode: 'read', limited_to_apps: ['com.demo.app'], limited_to_orgs: [], key_hash: `hash-${keys++}`,
    key_start: 'ak_XXXXX', created_at: now, updated_at: now, expires_at: null, enabled: true, rotated_from: null, rate_limit: null,
  })
  const write = await measure(1, () => store.write((tx) => tx.apikeys.insert(newKey())))
  report(`${what}: write transaction inserting a key, 1 at once`, write, baseline?.write)
  report(`${what}: … 10 at once`, await measure(10, () => store.write((tx) => tx.apikeys.insert(newKey()))), baseline?.write)
  const read = await measure(1, () => store.apikeys.findByHash(`hash-${Math.floor(Math.random() * keys)}`))
  report(`${what}: apikeys.findByHash among ${keys.toLocaleString('en')} keys`, read, baseline?.read)
  return { write, read }
}

async function main() {
  const bin = findPostgres()
  if (!bin) throw new Error('PostgreSQL is not installed (apt-get install postgresql)')
  const sqliteDir = mkdtempSync(join(tmpdir(), 'codepushgo-bench-sqlite-'))
  const cluster = await PostgresCluster.start(bin, { fsync: FSYNC })
  const clients: SQL[] = []
  const client = (url: string, max: number) => {
    const sql = new SQL(url, { max })
    clients.push(sql)
    return sql
  }
  try {
    const name = (await cluster.createDatabase()).split('/').pop()!
    const tcp = client(cluster.url(name), 10)
    const socket = client(cluster.socketUrl(name), 10)
    await seedPostgres(tcp)
    const sqlite = seedSqlite(sqliteDir)

    console.log(`PostgreSQL ${(await tcp`SHOW server_version`)[0].server_version}, fsync ${FSYNC ? 'on' : 'off'}; Bun ${Bun.version}; ${cpus().length} CPUs, load ${loadavg().map((l) => l.toFixed(1)).join(' ')}; medians of ${ROUNDS} rounds of ${SECONDS} s\n`)
    console.log('| measurement | ops/s | p50 µs | p99 µs | vs baseline |\n|---|---|---|---|---|')

    // 1. Point query by primary key.
    const byId = sqlite.prepare(`SELECT ${COLUMNS} FROM apikeys WHERE id = ?`)
    const sqliteRead = await measure(1, () => byId.get(randomId()))
    report('bun:sqlite point query (baseline)', sqliteRead)
    report('PostgreSQL round trip floor (SELECT 1), unix socket', await measure(1, () => socket`SELECT 1`), sqliteRead)
    for (const [via, sql] of [['TCP', tcp], ['unix socket', socket]] as const) {
      for (const concurrency of [1, 10]) {
        report(`PostgreSQL point query, ${via}, ${concurrency} at once`, await measure(concurrency, () => sql.unsafe(`SELECT ${COLUMNS} FROM apikeys WHERE id = $1`, [randomId()])), sqliteRead)
      }
    }

    // 2. Commit counter: the write transaction of a last-use batch of one key, without and with the bump.
    const now = () => new Date().toISOString()
    const plainWrite = () => socket.begin((tx) => tx`UPDATE apikeys SET last_used_at = ${now()} WHERE id = ${randomId()}`)
    const countedWrite = () =>
      socket.begin(async (tx) => {
        await bumpWriteCounter(tx)
        await tx`UPDATE apikeys SET last_used_at = ${now()} WHERE id = ${randomId()}`
      })
    const shardCountedWrite = () =>
      socket.begin(async (tx) => {
        await tx`UPDATE apikeys SET last_used_at = ${now()} WHERE id = ${randomId()}`
        await bumpShardedCounter(tx)
      })
    const sqliteWrite = sqlite.prepare('UPDATE apikeys SET last_used_at = ? WHERE id = ?')
    const sqliteWrites = await measure(1, () => sqlite.transaction(() => sqliteWrite.run(now(), randomId())).immediate())
    report('bun:sqlite write transaction (baseline)', sqliteWrites)
    for (const concurrency of [1, 10]) {
      const plain = await measure(concurrency, plainWrite)
      report(`PostgreSQL write transaction, ${concurrency} at once`, plain, sqliteWrites)
      report(`… bumping the write counter first, ${concurrency} at once`, await measure(concurrency, countedWrite), sqliteWrites)
      report(`… bumping one of ${SHARDS} counter rows last, ${concurrency} at once`, await measure(concurrency, shardCountedWrite), sqliteWrites)
    }
    report('PostgreSQL counter poll (one row)', await measure(1, () => readWriteCounter(socket)), sqliteRead)
    report(`PostgreSQL sharded counter poll (the sum of ${SHARDS} rows)`, await measure(1, () => readShardedCounter(socket)), sqliteRead)
    const other = client(await cluster.createDatabase(), 1)
    console.log(`\npg_stat_user_tables showed a commit of another session after up to ${(await statisticsLag(tcp, socket)).toFixed(0)} ms`)
    console.log(`a write in another database of the cluster moved pg_current_snapshot(): ${await snapshotMovesOnOtherDatabases(socket, other)}\n`)

    // 3. Rate limit: one upsert per request, against the local buckets of today.
    const limit = { requests: 1_000_000, per_seconds: 1 }
    const local = new TokenBuckets<string>(systemClock)
    report('local token bucket (src/access/rate-limit.ts)', await measure(1, (i) => local.take(`key:${i % KEYS}`, limit)), sqliteRead)
    for (const table of ['rate_buckets', 'rate_buckets_unlogged']) {
      for (const concurrency of [1, 10]) {
        report(`token bucket upsert, ${table}, one key, ${concurrency} at once`, await measure(concurrency, () => takeToken(socket, table, 'key:1', limit, Date.now())), sqliteRead)
        report(`token bucket upsert, ${table}, distinct keys, ${concurrency} at once`, await measure(concurrency, (i) => takeToken(socket, table, `key:${i % KEYS}`, limit, Date.now())), sqliteRead)
      }
    }
    // Exactness: 25 requests against a limit of 10 per hour from 10 clients at once admit exactly 10.
    const strict = { requests: 10, per_seconds: 3600 }
    const decisions = await Promise.all(Array.from({ length: 25 }, () => takeToken(socket, 'rate_buckets_unlogged', 'key:strict', strict, Date.now())))
    const admitted = decisions.filter((decision) => decision.allowed).length
    console.log(`\n25 requests at once on a limit of 10/hour: ${admitted} admitted\n`)
    sqlite.close()

    // 4. The stores.
    console.log('| store | ops/s | p50 µs | p99 µs | vs SQLite store |\n|---|---|---|---|---|')
    const sqliteStore = openSqliteStore(join(sqliteDir, 'store'))
    const postgresStore = await openPostgresStore(cluster.socketUrl((await cluster.createDatabase()).split('/').pop()!))
    try {
      const baseline = await measureStore('SQLite store (baseline)', sqliteStore)
      await measureStore('PostgreSQL store', postgresStore, baseline)
    } finally {
      await Promise.all([sqliteStore.close(), postgresStore.close()])
    }
  } finally {
    await Promise.all(clients.map((sql) => sql.close({ timeout: 0 })))
    await cluster.destroy()
    rmSync(sqliteDir, { recursive: true, force: true })
  }
}

await main()
