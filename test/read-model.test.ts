/**
 * The read model (src/read-model/read-model.ts): what it keeps, for how long, within how much
 * memory, and how it hears of changes (this process's commits; other processes' through the
 * poll). Time comes from the manual clock: no test waits for the poll interval.
 */
import { Database } from 'bun:sqlite'
import { describe, expect, spyOn, test } from 'bun:test'
import { rmSync } from 'node:fs'
import { join } from 'node:path'
import { generateKey, hashKey } from '../src/access/key-format'
import type { Core } from '../src/core'
import { createCore } from '../src/create-core'
import { DATABASE_FILE } from '../src/store/sqlite/database'
import { openSqliteStore } from '../src/store/sqlite/store'
import type { Awaitable } from '../src/store/types'
import { issueKeyFor } from '../src/modules/apikey/admin'
import { createUser } from '../src/modules/user/service'
import { EVERYTHING, FOREIGN_COMMITS_POLL_MS } from '../src/read-model/changes'
import { MAX_ABSENCES } from '../src/read-model/read-model'
import { manualClock } from './helpers/app'
import { tempDir } from './helpers/binary'
import { seededWorld } from './helpers/world'

const NO_POLICY = { maxKeyLifetimeDays: null, keyRateLimit: null }

/** The answer, which on SQLite the read model gives at once (a promise fails the test). */
function atOnce<T>(answer: Awaitable<T>): T {
  if (answer instanceof Promise) throw new Error('the read model waited on SQLite')
  return answer
}

/** The cached key with this hash, as the gate asks for it. */
const keyByHash = (core: Core, hash: string) => atOnce(core.readModel.keyByHash(hash))

interface OnFile {
  core: Core
  clock: ReturnType<typeof manualClock>
  /** A second connection: another process. */
  other: Database
  /** Alice's key's hash and id. */
  hash: string
  keyId: number
}

/** A core on a database file with alice and her key, and another connection to it; runs `body`, then cleans up. */
async function onFile(body: (file: OnFile) => Promise<void> | void): Promise<void> {
  const dir = tempDir()
  const store = openSqliteStore(dir)
  const other = new Database(join(dir, DATABASE_FILE))
  other.run('PRAGMA busy_timeout = 5000')
  try {
    const clock = manualClock()
    const core = createCore(store, { clock, policy: NO_POLICY })
    const { apikey } = await createUser(core, { email: 'alice@example.com' })
    await body({ core, clock, other, hash: hashKey(apikey.key), keyId: apikey.id })
  } finally {
    other.close()
    await store.close()
    rmSync(dir, { recursive: true, force: true })
  }
}

describe('keys by hash', () => {
  test('a key is read from the database once, then from memory', async () => {
    const w = await seededWorld()
    const hash = hashKey(w.alice.key)
    const findByHash = spyOn(w.core.store.apikeys, 'findByHash')
    const first = keyByHash(w.core, hash)!
    expect(first.keyId).toBe(w.alice.keyId)
    expect(keyByHash(w.core, hash)).toBe(first)
    expect(findByHash).toHaveBeenCalledTimes(1)
    expect(w.core.readModel.stats()).toMatchObject({ hits: 1, misses: 1 })
  })

  test("a write transaction's uncached view sees its own writes; the read model sees only what is committed", async () => {
    const w = await seededWorld()
    const hash = hashKey(w.alice.key)
    expect(keyByHash(w.core, hash)!.mode).toBe('all')
    await w.core.store.write(async (tx) => {
      w.db.run("UPDATE apikeys SET mode = 'read' WHERE id = ?", [w.alice.keyId])
      expect((await w.core.readModel.uncached(tx).keyByHash(hash))!.mode).toBe('read')
      expect(keyByHash(w.core, hash)!.mode).toBe('all')
      w.core.readModel.apply([EVERYTHING])
      expect(keyByHash(w.core, hash)!.mode).toBe('all')
      w.db.run("UPDATE apikeys SET mode = 'all' WHERE id = ?", [w.alice.keyId])
    })
    expect(keyByHash(w.core, hash)!.mode).toBe('all')
  })

  test('a key nobody has is looked up once, and found by the first lookup after it is created', async () => {
    const w = await seededWorld()
    const key = generateKey()
    const findByHash = spyOn(w.core.store.apikeys, 'findByHash')
    for (let i = 0; i < 3; i++) expect(keyByHash(w.core, hashKey(key))).toBeNull()
    expect(findByHash).toHaveBeenCalledTimes(1)
    const created = await issueKeyFor(w.core, w.alice.user.id, { name: 'later', mode: 'read' })
    expect(keyByHash(w.core, hashKey(created.key))?.keyId).toBe(created.id)
  })

  test('past MAX_ABSENCES the oldest absences are forgotten first, and nothing found is pushed out', async () => {
    const w = await seededWorld()
    const found = keyByHash(w.core, hashKey(w.alice.key))
    const absent = Array.from({ length: MAX_ABSENCES + 1 }, () => hashKey(generateKey()))
    for (const hash of absent) keyByHash(w.core, hash)
    expect(w.core.readModel.stats().absences).toBe(MAX_ABSENCES)
    const findByHash = spyOn(w.core.store.apikeys, 'findByHash')
    keyByHash(w.core, absent.at(-1)!)
    expect(findByHash).not.toHaveBeenCalled()
    keyByHash(w.core, absent[0]!)
    expect(findByHash).toHaveBeenCalledTimes(1)
    expect(keyByHash(w.core, hashKey(w.alice.key))).toBe(found)
    expect(findByHash).toHaveBeenCalledTimes(1)
  })
})

describe("other processes' commits", () => {
  test('are seen once FOREIGN_COMMITS_POLL_MS has passed on the clock, not before', async () => {
    await onFile(async ({ core, clock, other, hash, keyId }) => {
      expect(keyByHash(core, hash)).not.toBeNull()
      other.run('DELETE FROM apikeys WHERE id = ?', [keyId])
      clock.advance(FOREIGN_COMMITS_POLL_MS - 1)
      expect(keyByHash(core, hash)).not.toBeNull()
      clock.advance(1)
      expect(keyByHash(core, hash)).toBeNull()
    })
  })

  test("the background Worker's checkpoints are not taken for another process's commits: nothing is reloaded", async () => {
    await onFile(async ({ core, clock, other, hash }) => {
      const key = keyByHash(core, hash)
      await issueKeyFor(core, key!.userId, { name: 'more WAL', mode: 'read' })
      expect(other.query('PRAGMA wal_checkpoint(PASSIVE)').get()).toMatchObject({ busy: 0 })
      clock.advance(FOREIGN_COMMITS_POLL_MS)
      const findByHash = spyOn(core.store.apikeys, 'findByHash')
      expect(keyByHash(core, hash)).toBe(key)
      expect(findByHash).not.toHaveBeenCalled()
    })
  })

  test('a clock set back counts as the poll being due', async () => {
    await onFile(async ({ core, clock, other, hash, keyId }) => {
      expect(keyByHash(core, hash)).not.toBeNull()
      other.run('DELETE FROM apikeys WHERE id = ?', [keyId])
      clock.advance(-60_000)
      expect(keyByHash(core, hash)).toBeNull()
    })
  })

  test('they also forget keys remembered as absent', async () => {
    await onFile(async ({ core, clock, other }) => {
      const key = generateKey()
      expect(keyByHash(core, hashKey(key))).toBeNull()
      other.run(
        `INSERT INTO apikeys (user_id, name, mode, key_hash, key_start, created_at, updated_at)
         SELECT user_id, 'cli', 'read', ?, 'ak_xxxxx', created_at, created_at FROM apikeys LIMIT 1`,
        [hashKey(key)],
      )
      clock.advance(FOREIGN_COMMITS_POLL_MS)
      expect(keyByHash(core, hashKey(key))?.mode).toBe('read')
    })
  })

  test('a key read before such a commit is not kept when a read nested in its load notices the commit', async () => {
    await onFile(async ({ core, clock, other, hash, keyId }) => {
      // The key is read, then (loading its memberships) the poll falls due and notices the
      // deletion: the key is answered once, as read, and not kept.
      const findByHash = core.store.apikeys.findByHash
      const read = spyOn(core.store.apikeys, 'findByHash').mockImplementation((h) => {
        const record = findByHash(h)
        other.run('DELETE FROM apikeys WHERE id = ?', [keyId])
        clock.advance(FOREIGN_COMMITS_POLL_MS)
        return record
      })
      expect(keyByHash(core, hash)).not.toBeNull()
      read.mockRestore()
      expect(keyByHash(core, hash)).toBeNull()
    })
  })
})

describe('memory', () => {
  test('the entries stay within the budget; a key used all along stays while thousands pass through', async () => {
    const w = await seededWorld({ cacheMb: 1 / 16 })
    const hot = hashKey(w.alice.key)
    const hashes: string[] = []
    for (let i = 0; i < 600; i++) hashes.push(hashKey((await issueKeyFor(w.core, w.bob.user.id, { name: `k${i}`, mode: 'read' })).key))
    const findByHash = spyOn(w.core.store.apikeys, 'findByHash')
    for (const hash of hashes) {
      expect(keyByHash(w.core, hot)).not.toBeNull()
      expect(keyByHash(w.core, hash)).not.toBeNull()
    }
    const { bytes, budgetBytes, entries } = w.core.readModel.stats()
    expect(bytes).toBeLessThanOrEqual(budgetBytes)
    expect(entries).toBeLessThan(hashes.length)
    // Every key of the scan was read once; the hot key once at most (evicted at the start, before its first hit).
    expect(findByHash.mock.calls.length).toBeLessThanOrEqual(hashes.length + 1)
  })

  test('a written last use changes the cached key in place: nothing is read again', async () => {
    const w = await seededWorld()
    const hash = hashKey(w.alice.key)
    const key = keyByHash(w.core, hash)!
    w.core.usage.record(key, () => '192.0.2.1')
    const findByHash = spyOn(w.core.store.apikeys, 'findByHash')
    expect(await w.core.usage.flush()).toBe(1)
    expect(keyByHash(w.core, hash)).toBe(key)
    expect(JSON.parse(key.verifiedJson()).apikey).toMatchObject({ last_used_at: '2026-01-01T00:00:00.000Z', last_used_ip: '192.0.2.1' })
    expect(findByHash).not.toHaveBeenCalled()
  })
})
