/**
 * Several instances on one PostgreSQL database (SPEC §11), with the candidate designs of
 * bench/postgres-candidates.ts: the commit counter that instances poll to converge when a
 * NOTIFY is lost, and the token bucket upsert that makes a rate limit hold across instances.
 * Each "instance" here is a client of its own (its own pool).
 */
import { SQL } from 'bun'
import { afterAll, describe, expect, test } from 'bun:test'
import { bumpShardedCounter, bumpWriteCounter, createCandidateTables, readShardedCounter, readWriteCounter, takeToken } from '../bench/postgres-candidates'
import { findPostgres, usePostgresCluster } from './helpers/postgres'
import { waitFor } from './helpers/wait'

const bin = findPostgres()

describe.skipIf(!bin)('instances on one PostgreSQL database', () => {
  const cluster = usePostgresCluster(bin)
  const clients: SQL[] = []
  afterAll(async () => {
    await Promise.all(clients.map((sql) => sql.close({ timeout: 0 })))
  })
  /** A database with the candidates' tables and a table of changes, and `count` instances on it. */
  async function instances(count: number, name: string): Promise<SQL[]> {
    const url = await cluster().createDatabase()
    const all = Array.from({ length: count }, (_, i) => new SQL(url, { connection: { application_name: `${name}-${i}` } }))
    clients.push(...all)
    await createCandidateTables(all[0]!)
    await all[0]!`CREATE TABLE changes (x int)`
    return all
  }
  const changes = async (sql: SQL) => (await sql`SELECT count(*)::int AS n FROM changes`)[0].n as number
  /** What the instance named `application` is doing, as `observer` sees it (pg_stat_activity). */
  const activity = async (observer: SQL, application: string) =>
    [...(await observer`SELECT state, wait_event_type FROM pg_stat_activity WHERE application_name = ${application}`)] as { state: string; wait_event_type: string | null }[]
  const waitsInTransaction = (observer: SQL, application: string) =>
    waitFor(`${application} to be inside its transaction`, async () => (await activity(observer, application)).some((a) => a.state === 'idle in transaction'))

  for (const [kind, bump, read] of [
    ['one-row', bumpWriteCounter, readWriteCounter],
    ['sharded', bumpShardedCounter, readShardedCounter],
  ] as const) {
    test(`the ${kind} commit counter moves when the writing transaction commits, not before, with its data`, async () => {
      const [writer, poller] = await instances(2, `counter-${kind}`)
      const before = await read(poller!)
      const { promise: commit, resolve } = Promise.withResolvers<void>()
      const written = writer!.begin(async (tx) => {
        await bump(tx)
        await tx`INSERT INTO changes VALUES (1)`
        await commit
      })
      await waitsInTransaction(poller!, `counter-${kind}-0`)
      expect(await read(poller!)).toBe(before)
      expect(await changes(poller!)).toBe(0)
      resolve()
      await written
      // A poller that sees the counter move reloads, and finds the change.
      expect(await read(poller!)).not.toBe(before)
      expect(await changes(poller!)).toBe(1)
    })
  }

  test('bumping the one-row counter first makes writers take turns: the second waits, then sees the first one\'s writes', async () => {
    const [first, second, observer] = await instances(3, 'turns')
    const { promise: commit, resolve } = Promise.withResolvers<void>()
    const firstDone = first!.begin(async (tx) => {
      await bumpWriteCounter(tx)
      await commit
      await tx`INSERT INTO changes VALUES (1)`
    })
    await waitsInTransaction(observer!, 'turns-0')
    // The second checks before it writes (as the last `all` member or the key cap is checked).
    const seen = second!.begin(async (tx) => {
      await bumpWriteCounter(tx)
      return changes(tx)
    })
    await waitFor('the second writer to wait for the counter', async () => (await activity(observer!, 'turns-1')).some((a) => a.wait_event_type === 'Lock'))
    resolve()
    await firstDone
    expect(await seen).toBe(1)
  })

  test('the token bucket upsert admits exactly the limit across instances, and refills with time', async () => {
    const instancesOf = await instances(2, 'rate')
    const limit = { requests: 10, per_seconds: 60 }
    const start = Date.parse('2026-01-01T00:00:00.000Z')
    // 30 requests at once, alternately through each instance's pool of 10 connections.
    const first = await Promise.all(Array.from({ length: 30 }, (_, i) => takeToken(instancesOf[i % 2]!, 'rate_buckets_unlogged', 'key:1', limit, start)))
    expect(first.filter((d) => d.allowed)).toHaveLength(10)
    // Six seconds later one token is back (10 per 60 s), and only one.
    const later = await Promise.all(Array.from({ length: 5 }, (_, i) => takeToken(instancesOf[i % 2]!, 'rate_buckets_unlogged', 'key:1', limit, start + 6_000)))
    expect(later.filter((d) => d.allowed)).toHaveLength(1)
    // Another key has its own bucket.
    expect((await takeToken(instancesOf[0]!, 'rate_buckets_unlogged', 'key:2', limit, start + 6_000)).allowed).toBe(true)
  })
})
