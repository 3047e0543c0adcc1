/**
 * What only the PostgreSQL store does (SPEC §11): several instances on one database hear each
 * other's commits (NOTIFY, a full clear on every re-subscription, the commit counter's poll
 * when a notification is lost), share rate limit buckets, take turns to write, and survive
 * the database going away. Each "instance" is a store of its own on the same database. The
 * behaviours both backends share are in test/store-contract.test.ts.
 */
import { SQL } from 'bun'
import { afterEach, describe, expect, test } from 'bun:test'
import { TokenBuckets } from '../src/access/rate-limit'
import { conflict } from '../src/errors'
import { EVERYTHING, type Change } from '../src/read-model/changes'
import { PRUNE_EVERY_MS } from '../src/store/postgres/buckets'
import { COMMITS_CHANNEL, MAX_NOTIFICATIONS, MAX_PAYLOAD_BYTES, noticePayloads } from '../src/store/postgres/commit-feed'
import { openPostgresStore, type PostgresStore, type PostgresStoreOptions } from '../src/store/postgres/store'
import { DatabaseDeadlineError, isDatabaseUnavailable } from '../src/store/database-errors'
import type { NewApiKey } from '../src/store/records'
import { manualClock } from './helpers/app'
import { findPostgres, usePostgresCluster } from './helpers/postgres'
import { freePort } from './helpers/ports'
import { TcpProxy } from './helpers/tcp-proxy'
import { waitFor } from './helpers/wait'

const NOW = '2026-01-01T00:00:00.000Z'
const key = (key_hash: string): NewApiKey => ({
  user_id: 'u1', name: key_hash, mode: 'all', limited_to_apps: [], limited_to_orgs: [], key_hash, key_start: 'ak_live_abc',
  created_at: NOW, updated_at: NOW, expires_at: null, enabled: true, rotated_from: null, rate_limit: null,
})

/** Every batch of notes the store's onCommit listeners got, in order. */
function heard(store: PostgresStore): (readonly Change[])[] {
  const batches: (readonly Change[])[] = []
  store.onCommit((changes) => batches.push(changes))
  return batches
}
const clears = (batches: (readonly Change[])[]) => batches.filter((changes) => changes.some((c) => c.kind === 'all')).length

async function failure(promise: Promise<unknown> | unknown): Promise<unknown> {
  try {
    await promise
  } catch (error) {
    return error
  }
  throw new Error('expected a rejection')
}

const bin = findPostgres()

describe.skipIf(!bin)('PostgreSQL store: several instances on one database', () => {
  const cluster = usePostgresCluster(bin)
  const open: (PostgresStore | SQL)[] = []
  afterEach(async () => {
    await Promise.all(open.splice(0).map((handle) => (handle instanceof SQL ? handle.close({ timeout: 0 }) : handle.close())))
  })

  /** `count` stores on one new database, with user u1 in it; also a plain client on it. */
  async function instances(count: number, options: PostgresStoreOptions = {}): Promise<{ stores: PostgresStore[]; raw: SQL }> {
    const url = await cluster().createDatabase()
    const stores: PostgresStore[] = []
    for (let i = 0; i < count; i++) stores.push(await openPostgresStore(url, options))
    const raw = new SQL(url, { max: 2 })
    open.push(...stores, raw)
    await stores[0]!.write((tx) => tx.users.insert({ id: 'u1', email: 'u1@example.com', name: 'u1', created_at: NOW }))
    return { stores, raw }
  }

  test('a write on one instance reaches the other\'s onCommit with its notes, and its own once', async () => {
    const { stores: [a, b] } = await instances(2)
    const onA = heard(a!)
    const onB = heard(b!)
    const stored = await a!.write((tx) => tx.apikeys.insert(key('h1')))
    await a!.write((tx) => tx.apikeys.writeLastUse({ keyId: stored.id, userId: 'u1', hash: 'h1' }, NOW, '10.0.0.1'))
    const expected: Change[][] = [
      [{ kind: 'key', hash: 'h1', userId: 'u1' }],
      [{ kind: 'last-use', hash: 'h1', keyId: stored.id, userId: 'u1', at: NOW, ip: '10.0.0.1' }],
    ]
    await waitFor('B to hear both commits', () => onB.length >= 2)
    expect(onB).toEqual(expected)
    expect(onA).toEqual(expected)
    expect(await b!.apikeys.findByHash('h1')).toMatchObject({ last_used_at: NOW, last_used_ip: '10.0.0.1' })
  })

  test('notes too large for a notification arrive in several, every note of them, and clear nothing', async () => {
    const { stores: [a, b] } = await instances(2)
    const onB = heard(b!)
    // 200 key notes of ~100 bytes each: beyond the 8,000 bytes of a payload.
    const hashes = Array.from({ length: 200 }, (_, i) => `hash-${String(i).padStart(64, '0')}`)
    await a!.write(async (tx) => {
      for (const hash of hashes) await tx.apikeys.insert(key(hash))
    })
    await waitFor('B to hear every note', () => onB.flat().length >= hashes.length)
    expect(onB.length).toBeGreaterThan(1)
    expect(onB.flat()).toEqual(hashes.map((hash) => ({ kind: 'key', hash, userId: 'u1' })))
    // The numbering saw one commit: the next one is no gap.
    await a!.write((tx) => tx.apikeys.insert(key('next')))
    await waitFor('B to hear the next commit', () => onB.flat().length > hashes.length)
    expect(clears(onB)).toBe(0)
  })

  test('a commit with more notes than MAX_NOTIFICATIONS hold arrives as one full clear', async () => {
    const { stores: [a, b] } = await instances(2)
    const onB = heard(b!)
    // 2,000 key notes of ~100 bytes each: about 25 notifications' worth.
    await a!.write(async (tx) => {
      for (let i = 0; i < 2000; i++) await tx.apikeys.insert(key(`hash-${String(i).padStart(64, '0')}`))
    })
    await waitFor('B to hear the commit', () => onB.length >= 1)
    expect(onB).toEqual([[EVERYTHING]])
  })

  test('writers on two instances take turns: a check-then-insert across them never overshoots', async () => {
    const { stores: [a, b] } = await instances(2)
    const attempts = Array.from({ length: 16 }, (_, i) => (i % 2 === 0 ? a! : b!).write(async (tx) => {
      if ((await tx.apikeys.countByUser('u1')) >= 5) return false
      await tx.apikeys.insert(key(`h${i}`))
      return true
    }))
    expect((await Promise.all(attempts)).filter(Boolean)).toHaveLength(5)
    expect(await a!.apikeys.countByUser('u1')).toBe(5)
  })

  test('a write naming an org that is gone is the client\'s 404, not a server error', async () => {
    const { stores: [a] } = await instances(1)
    const app = { app_id: 'com.gone.app', org_id: 'org_gone', name: 'a', created_at: NOW, updated_at: NOW }
    expect(await failure(a!.write((tx) => tx.apps.insert(app)))).toMatchObject({ status: 404, code: 'not_found', message: 'Organization not found' })
    expect(await failure(a!.write((tx) => tx.orgs.addMember({ org_id: 'org_gone', user_id: 'u1', role: 'all', created_at: NOW })))).toMatchObject({ status: 404, code: 'not_found' })
  })

  test('a commit that bumps the counter without notifying converges through the poll', async () => {
    const { stores: [b], raw } = await instances(1)
    const onB = heard(b!)
    await raw.begin(async (tx) => {
      await tx`UPDATE codepushgo_commits SET n = n + 1`
      await tx`INSERT INTO apikeys (user_id, name, mode, key_hash, key_start, created_at, updated_at) VALUES ('u1', 'k', 'all', 'h1', 'ak_', ${NOW}, ${NOW})`
    })
    await waitFor('the poll to clear everything', () => clears(onB) > 0)
    expect(onB).toEqual([[EVERYTHING]])
    expect(await b!.apikeys.findByHash('h1')).not.toBeNull()
  })

  test('a commit that sent nothing shows as a gap in the numbers of the next notification', async () => {
    // The poll is out of the picture: only the numbers can tell.
    const { stores: [a, b], raw } = await instances(2, { pollMs: 600_000 })
    const onB = heard(b!)
    await raw`UPDATE codepushgo_commits SET n = n + 1`
    await a!.write((tx) => tx.apikeys.insert(key('h1')))
    await waitFor('B to hear A\'s commit', () => onB.length >= 1)
    expect(onB).toEqual([[EVERYTHING]])
  })

  test('a notification on the channel that is not one of ours clears everything and breaks nothing', async () => {
    const { stores: [b], raw } = await instances(1)
    const onB = heard(b!)
    await raw`SELECT pg_notify(${COMMITS_CHANNEL}, 'not json')`
    await waitFor('B to clear', () => onB.length >= 1)
    expect(onB).toEqual([[EVERYTHING]])
  })

  test('reads outside write() run in read-only sessions: a write there is refused by the server', async () => {
    const { stores: [a] } = await instances(1)
    expect(await failure(a!.users.insert({ id: 'u2', email: 'u2@example.com', name: 'u2', created_at: NOW }))).toMatchObject({ errno: '25006' })
    expect(await a!.users.count()).toBe(1)
  })

  test('shared buckets admit exactly the limit across two instances, and refill as TokenBuckets do', async () => {
    const { stores: [a, b] } = await instances(2)
    const clock = manualClock()
    const limit = { requests: 10, per_seconds: 60 }
    const decisions = await Promise.all(Array.from({ length: 30 }, (_, i) => (i % 2 === 0 ? a! : b!).buckets.take('key:1', limit, clock.nowMs())))
    expect(decisions.filter((d) => d.allowed)).toHaveLength(10)
    expect(decisions.filter((d) => !d.allowed).every((d) => d.remaining === 0 && d.retryAfter === 6)).toBe(true)

    // The same takes, one at a time, against the in-process buckets on the same clock.
    const local = new TokenBuckets<string>(clock)
    const steps = [0, 0, 1_000, 5_999, 1, 17_321, 0, 59_999, 120_000, 3, 3, 3]
    const strict = { requests: 3, per_seconds: 7 }
    for (const [i, step] of steps.entries()) {
      clock.advance(step)
      const shared = await (i % 2 === 0 ? a! : b!).buckets.take('key:2', strict, clock.nowMs())
      expect(shared).toEqual(local.take('key:2', strict))
    }
  })

  test('buckets that are full again are pruned, the others kept', async () => {
    const { stores: [a], raw } = await instances(1)
    const clock = manualClock()
    await a!.buckets.take('full-soon', { requests: 10, per_seconds: 1 }, clock.nowMs())
    await a!.buckets.take('empty-long', { requests: 1, per_seconds: 3600 }, clock.nowMs())
    const rows = async () => (await raw`SELECT id FROM codepushgo_rate_buckets ORDER BY id`).map((r: { id: string }) => r.id)
    expect(await rows()).toEqual(['empty-long', 'full-soon'])
    clock.advance(1000)
    expect(await a!.buckets.prune(clock.nowMs())).toBe(1)
    expect(await rows()).toEqual(['empty-long'])
    // Takes prune by themselves every PRUNE_EVERY_MS of the callers' clock.
    clock.advance(3600 * 1000 + PRUNE_EVERY_MS)
    await a!.buckets.take('other', { requests: 10, per_seconds: 1 }, clock.nowMs())
    await waitFor('the take to prune', async () => !(await rows()).includes('empty-long'))
  })

  test('after a server restart the store re-subscribes and clears everything; notifications flow again', async () => {
    const { stores: [a, b] } = await instances(2)
    const onB = heard(b!)
    await cluster().restart()
    await waitFor('B to clear after re-subscribing', () => clears(onB) > 0)
    // Pools reconnect by themselves, and B hears A's commits again.
    await waitFor('A to write again', async () => (await a!.write((tx) => tx.apikeys.insert(key('h1'))).then(() => true, () => false)))
    await waitFor('B to hear it', () => onB.some((changes) => changes.some((c) => c.kind === 'key')))
  })

  test('while the server is down every call fails at once as database unavailable; then it works again by itself', async () => {
    const { stores: [a, closing] } = await instances(2)
    await cluster().stop()
    try {
      for (const call of [() => a!.ping(), () => a!.users.count(), () => a!.write((tx) => tx.users.count()), () => a!.buckets.take('k', { requests: 1, per_seconds: 1 }, 0)]) {
        const error = await failure(call())
        expect(isDatabaseUnavailable(error)).toBe(true)
      }
      // Closing does not wait for the server.
      await closing!.close()
    } finally {
      await cluster().resume()
    }
    await waitFor('ping to work again', () => Promise.resolve(a!.ping()).then(() => true, () => false))
    expect(await a!.users.count()).toBe(1)
  })

  test('a write that runs into the deadline rolls back on the server, not after its 503; what is cached goes', async () => {
    const { stores: [a], raw } = await instances(1, { deadlineMs: 300 })
    const onA = heard(a!)
    // Another session holds the commit counter's row past the deadline.
    const holder = await raw.reserve()
    await holder`BEGIN`
    await holder`UPDATE codepushgo_commits SET n = n`
    try {
      const error = await failure(a!.write((tx) => tx.users.insert({ id: 'u2', email: 'u2@example.com', name: 'u2', created_at: NOW })))
      expect(isDatabaseUnavailable(error)).toBe(true)
      // Unsure whether it committed, the writer forgets what it cached.
      expect(clears(onA)).toBe(1)
    } finally {
      await holder`COMMIT`
      holder.release()
    }
    // The lock is free now; a write the client gave up on must not go through after all.
    await a!.write((tx) => tx.users.count())
    expect(await a!.users.count()).toBe(1)
  })

  test('isDatabaseUnavailable: connection failures and deadlines, not the client\'s own errors', async () => {
    const { raw } = await instances(1)
    expect(isDatabaseUnavailable(new DatabaseDeadlineError(5))).toBe(true)
    expect(isDatabaseUnavailable(await failure(raw`SELECT 1/0`))).toBe(false)
    expect(isDatabaseUnavailable(await failure(raw`INSERT INTO users (id, email, name, created_at) VALUES ('u1', 'x', 'x', 'x')`))).toBe(false)
    expect(isDatabaseUnavailable(conflict('taken'))).toBe(false)
    expect(isDatabaseUnavailable(new Error('ERR_POSTGRES_CONNECTION_CLOSED'))).toBe(false)
    // A free port: nothing listens there.
    const refused = new SQL(`postgres://postgres@127.0.0.1:${freePort()}/postgres`, { max: 1 })
    expect(isDatabaseUnavailable(await failure(refused`SELECT 1`))).toBe(true)
    await refused.close({ timeout: 0 })
  })

  test('a server that stops answering costs the deadline, not a hang; then it works again by itself', async () => {
    const url = new URL(await cluster().createDatabase())
    // Cut, the proxy closes the connections and holds new ones: the client waits as for a lost network.
    const proxy = new TcpProxy(cluster().port)
    url.port = String(proxy.port)
    const options = { deadlineMs: 300, connectionTimeout: 30 }
    const store = await openPostgresStore(url.href, options)
    const closing = await openPostgresStore(url.href, options)
    open.push(store)
    try {
      proxy.cut()
      // A call on a connection the cut has not reached yet fails as closed; once those are gone, by the deadline.
      await waitFor('a ping to run into the deadline', async () => (await failure(store.ping())) instanceof DatabaseDeadlineError)
      for (const call of [() => store.users.count(), () => store.write((tx) => tx.users.count())]) {
        expect(isDatabaseUnavailable(await failure(call()))).toBe(true)
      }
      // Closing does not wait for the server either (the test's timeout would end a hang).
      await closing.close()
    } finally {
      proxy.restore()
    }
    await waitFor('ping to work again', () => Promise.resolve(store.ping()).then(() => true, () => false))
    proxy.stop()
  })
})

describe('the notifications of one commit', () => {
  const lastUse = (i: number): Change => ({ kind: 'last-use', hash: i.toString(16).padStart(64, '0'), keyId: i, userId: `usr_${String(i).padStart(16, '0')}`, at: NOW, ip: '2001:db8::1' })
  const parse = (payload: string) => JSON.parse(payload) as { i: string; n: number; c: Change[] }

  test('a last-use flush of 100 keys: its notes in order, in a few notifications under the limit, each numbered as the commit', () => {
    const notes = Array.from({ length: 100 }, (_, i) => lastUse(i))
    const payloads = noticePayloads('instance-a', 42, notes)
    expect(payloads.length).toBeGreaterThan(1)
    expect(payloads.length).toBeLessThanOrEqual(3)
    for (const payload of payloads) expect(Buffer.byteLength(payload)).toBeLessThanOrEqual(MAX_PAYLOAD_BYTES)
    expect(payloads.map(parse).map(({ i, n }) => ({ i, n }))).toEqual(payloads.map(() => ({ i: 'instance-a', n: 42 })))
    expect(payloads.flatMap((payload) => parse(payload).c)).toEqual(notes)
  })

  test('a commit that notes nothing still sends one notification (its number must be heard)', () => {
    expect(noticePayloads('a', 7, []).map(parse)).toEqual([{ i: 'a', n: 7, c: [] }])
  })

  test('past MAX_NOTIFICATIONS, or a note larger than a notification, one full clear', () => {
    const many = Array.from({ length: MAX_NOTIFICATIONS * 60 }, (_, i) => lastUse(i))
    expect(noticePayloads('a', 1, many).map(parse)).toEqual([{ i: 'a', n: 1, c: [EVERYTHING] }])
    const huge: Change = { kind: 'key', hash: 'h'.repeat(MAX_PAYLOAD_BYTES), userId: 'u1' }
    expect(noticePayloads('a', 1, [lastUse(1), huge]).map(parse)).toEqual([{ i: 'a', n: 1, c: [EVERYTHING] }])
  })
})
