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
import { DATABASE_FILE, openDatabase } from '../src/store/sqlite/database'
import { migrate } from '../src/store/sqlite/migrate'
import { issueKeyFor } from '../src/modules/apikey/admin'
import { createUser } from '../src/modules/user/service'
import { FOREIGN_COMMITS_POLL_MS } from '../src/read-model/changes'
import { MAX_ABSENCES } from '../src/read-model/read-model'
import { manualClock } from './helpers/app'
import { tempDir } from './helpers/binary'
import { seededWorld } from './helpers/world'

const NO_POLICY = { maxKeyLifetimeDays: null, keyRateLimit: null }

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
function onFile(body: (file: OnFile) => void): void {
  const dir = tempDir()
  const db = openDatabase(dir)
  migrate(db)
  const other = new Database(join(dir, DATABASE_FILE))
  other.run('PRAGMA busy_timeout = 5000')
  try {
    const clock = manualClock()
    const core = createCore(db, { clock, policy: NO_POLICY })
    const { apikey } = createUser(core, { email: 'alice@example.com' })
    body({ core, clock, other, hash: hashKey(apikey.key), keyId: apikey.id })
  } finally {
    other.close()
    db.close()
    rmSync(dir, { recursive: true, force: true })
  }
}

describe('keys by hash', () => {
  test('a key is read from the database once, then from memory', () => {
    const w = seededWorld()
    const hash = hashKey(w.alice.key)
    const findByHash = spyOn(w.core.store.apikeys, 'findByHash')
    const first = w.core.readModel.keyByHash(hash)!
    expect(first.keyId).toBe(w.alice.keyId)
    expect(w.core.readModel.keyByHash(hash)).toBe(first)
    expect(findByHash).toHaveBeenCalledTimes(1)
    expect(w.core.readModel.stats()).toMatchObject({ hits: 1, misses: 1 })
  })

  test("inside a write transaction nothing is cached, and the transaction's own writes are seen", () => {
    const w = seededWorld()
    const hash = hashKey(w.alice.key)
    expect(w.core.readModel.keyByHash(hash)!.mode).toBe('all')
    w.core.store.write(() => {
      w.db.run("UPDATE apikeys SET mode = 'read' WHERE id = ?", [w.alice.keyId])
      expect(w.core.readModel.keyByHash(hash)!.mode).toBe('read')
      w.db.run("UPDATE apikeys SET mode = 'all' WHERE id = ?", [w.alice.keyId])
    })
    expect(w.core.readModel.keyByHash(hash)!.mode).toBe('all')
  })

  test('a key nobody has is looked up once, and found by the first lookup after it is created', () => {
    const w = seededWorld()
    const key = generateKey()
    const findByHash = spyOn(w.core.store.apikeys, 'findByHash')
    for (let i = 0; i < 3; i++) expect(w.core.readModel.keyByHash(hashKey(key))).toBeNull()
    expect(findByHash).toHaveBeenCalledTimes(1)
    const created = issueKeyFor(w.core, w.alice.user.id, { name: 'later', mode: 'read' })
    expect(w.core.readModel.keyByHash(hashKey(created.key))?.keyId).toBe(created.id)
  })

  test('past MAX_ABSENCES the oldest absences are forgotten first, and nothing found is pushed out', () => {
    const w = seededWorld()
    const found = w.core.readModel.keyByHash(hashKey(w.alice.key))
    const absent = Array.from({ length: MAX_ABSENCES + 1 }, () => hashKey(generateKey()))
    for (const hash of absent) w.core.readModel.keyByHash(hash)
    expect(w.core.readModel.stats().absences).toBe(MAX_ABSENCES)
    const findByHash = spyOn(w.core.store.apikeys, 'findByHash')
    w.core.readModel.keyByHash(absent.at(-1)!)
    expect(findByHash).not.toHaveBeenCalled()
    w.core.readModel.keyByHash(absent[0]!)
    expect(findByHash).toHaveBeenCalledTimes(1)
    expect(w.core.readModel.keyByHash(hashKey(w.alice.key))).toBe(found)
    expect(findByHash).toHaveBeenCalledTimes(1)
  })
})

describe("other processes' commits", () => {
  test('are seen once FOREIGN_COMMITS_POLL_MS has passed on the clock, not before', () => {
    onFile(({ core, clock, other, hash, keyId }) => {
      expect(core.readModel.keyByHash(hash)).not.toBeNull()
      other.run('DELETE FROM apikeys WHERE id = ?', [keyId])
      clock.advance(FOREIGN_COMMITS_POLL_MS - 1)
      expect(core.readModel.keyByHash(hash)).not.toBeNull()
      clock.advance(1)
      expect(core.readModel.keyByHash(hash)).toBeNull()
    })
  })

  test("the background Worker's checkpoints are not taken for another process's commits: nothing is reloaded", () => {
    onFile(({ core, clock, other, hash }) => {
      const key = core.readModel.keyByHash(hash)
      issueKeyFor(core, key!.userId, { name: 'more WAL', mode: 'read' })
      expect(other.query('PRAGMA wal_checkpoint(PASSIVE)').get()).toMatchObject({ busy: 0 })
      clock.advance(FOREIGN_COMMITS_POLL_MS)
      const findByHash = spyOn(core.store.apikeys, 'findByHash')
      expect(core.readModel.keyByHash(hash)).toBe(key)
      expect(findByHash).not.toHaveBeenCalled()
    })
  })

  test('a clock set back counts as the poll being due', () => {
    onFile(({ core, clock, other, hash, keyId }) => {
      expect(core.readModel.keyByHash(hash)).not.toBeNull()
      other.run('DELETE FROM apikeys WHERE id = ?', [keyId])
      clock.advance(-60_000)
      expect(core.readModel.keyByHash(hash)).toBeNull()
    })
  })

  test('they also forget keys remembered as absent', () => {
    onFile(({ core, clock, other }) => {
      const key = generateKey()
      expect(core.readModel.keyByHash(hashKey(key))).toBeNull()
      other.run(
        `INSERT INTO apikeys (user_id, name, mode, key_hash, key_start, created_at, updated_at)
         SELECT user_id, 'cli', 'read', ?, 'ak_xxxxx', created_at, created_at FROM apikeys LIMIT 1`,
        [hashKey(key)],
      )
      clock.advance(FOREIGN_COMMITS_POLL_MS)
      expect(core.readModel.keyByHash(hashKey(key))?.mode).toBe('read')
    })
  })

  test('a key read before such a commit is not kept when a read nested in its load notices the commit', () => {
    onFile(({ core, clock, other, hash, keyId }) => {
      // The key is read, then (loading its memberships) the poll falls due and notices the
      // deletion: the key is answered once, as read, and not kept.
      const findByHash = core.store.apikeys.findByHash
      const read = spyOn(core.store.apikeys, 'findByHash').mockImplementation((h) => {
        const record = findByHash(h)
        other.run('DELETE FROM apikeys WHERE id = ?', [keyId])
        clock.advance(FOREIGN_COMMITS_POLL_MS)
        return record
      })
      expect(core.readModel.keyByHash(hash)).not.toBeNull()
      read.mockRestore()
      expect(core.readModel.keyByHash(hash)).toBeNull()
    })
  })
})

describe('memory', () => {
  test('the entries stay within the budget; a key used all along stays while thousands pass through', () => {
    const w = seededWorld({ cacheMb: 1 / 16 })
    const hot = hashKey(w.alice.key)
    const hashes: string[] = []
    for (let i = 0; i < 600; i++) hashes.push(hashKey(issueKeyFor(w.core, w.bob.user.id, { name: `k${i}`, mode: 'read' }).key))
    const findByHash = spyOn(w.core.store.apikeys, 'findByHash')
    for (const hash of hashes) {
      expect(w.core.readModel.keyByHash(hot)).not.toBeNull()
      expect(w.core.readModel.keyByHash(hash)).not.toBeNull()
    }
    const { bytes, budgetBytes, entries } = w.core.readModel.stats()
    expect(bytes).toBeLessThanOrEqual(budgetBytes)
    expect(entries).toBeLessThan(hashes.length)
    // Every key of the scan was read once; the hot key once at most (evicted at the start, before its first hit).
    expect(findByHash.mock.calls.length).toBeLessThanOrEqual(hashes.length + 1)
  })

  test('a written last use changes the cached key in place: nothing is read again', () => {
    const w = seededWorld()
    const hash = hashKey(w.alice.key)
    const key = w.core.readModel.keyByHash(hash)!
    w.core.usage.record(key, () => '192.0.2.1')
    const findByHash = spyOn(w.core.store.apikeys, 'findByHash')
    expect(w.core.usage.flush()).toBe(1)
    expect(w.core.readModel.keyByHash(hash)).toBe(key)
    expect(JSON.parse(key.verifiedJson()).apikey).toMatchObject({ last_used_at: '2026-01-01T00:00:00.000Z', last_used_ip: '192.0.2.1' })
    expect(findByHash).not.toHaveBeenCalled()
  })
})
