/**
 * Group commit (src/store/sqlite/group-commit.ts): key writes that arrive together share one
 * transaction, each in its own savepoint, and are answered only once it has committed.
 */
import { Database } from 'bun:sqlite'
import { afterAll, describe, expect, test } from 'bun:test'
import { mkdtempSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DATABASE_FILE, openDatabase } from '../src/store/sqlite/database'
import { GroupCommit, MAX_GROUP } from '../src/store/sqlite/group-commit'
import type { Change } from '../src/read-model/changes'
import { openSqliteStore, type SqliteStore } from '../src/store/sqlite/store'
import { seededWorld } from './helpers/world'

const dirs: string[] = []
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
})

/** A database on disk, a GroupCommit over it, and a second connection that sees only what is committed. */
function onDisk() {
  const dir = mkdtempSync(join(tmpdir(), 'codepushgo-group-commit-'))
  dirs.push(dir)
  const db = openDatabase(dir)
  db.run('CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL)')
  const other = new Database(join(dir, DATABASE_FILE), { readonly: true })
  const committed = () => (other.query('SELECT v FROM t ORDER BY id').all() as { v: string }[]).map((row) => row.v)
  // Frames appended to the WAL: each commit appends the pages it changed. All rows of `t` fit in
  // one page, so each commit that inserts appends one frame.
  const walFrames = () => (statSync(join(dir, `${DATABASE_FILE}-wal`)).size - 32) / (24 + 4096)
  const insert = (v: string) => () => db.query('INSERT INTO t (v) VALUES (?) RETURNING id').get(v) as { id: number }
  return { db, group: new GroupCommit(db, { count: () => 0, dropFrom: () => {}, ended: () => {} }), committed, walFrames, insert }
}

const failWith = (message: string) => {
  throw new Error(message)
}

describe('GroupCommit', () => {
  test('writes queued in one turn share one commit, and each gets its own result', async () => {
    const { group, committed, walFrames, insert } = onDisk()
    const before = walFrames()
    const results = await Promise.all(['a', 'b', 'c'].map((v) => group.run(insert(v))))
    expect(results.map((row) => row.id)).toEqual([1, 2, 3])
    expect(committed()).toEqual(['a', 'b', 'c'])
    // In the WAL: one commit of the page, not three.
    expect(walFrames() - before).toBe(1)
    expect(group.commits).toBe(1)
  })

  test('nothing is committed when a write is queued; its promise settles after the commit', async () => {
    const { group, committed, insert } = onDisk()
    let settled = false
    const written = group.run(insert('a')).then(() => {
      settled = true
      return committed()
    })
    expect(committed()).toEqual([])
    expect(settled).toBe(false)
    expect(await written).toEqual(['a'])
  })

  test('a write that throws undoes only its own changes and fails only its own promise', async () => {
    const { db, group, committed, insert } = onDisk()
    const outcomes = await Promise.allSettled([
      group.run(insert('a')),
      group.run(() => {
        insert('half-done')()
        failWith('no')
      }),
      group.run(insert('c')),
    ])
    expect(outcomes.map((outcome) => outcome.status)).toEqual(['fulfilled', 'rejected', 'fulfilled'])
    expect((outcomes[1] as PromiseRejectedResult).reason.message).toBe('no')
    expect(committed()).toEqual(['a', 'c'])
    expect(db.inTransaction).toBe(false)
  })

  test('a group whose every write fails commits nothing: no commit counted, nothing in the WAL', async () => {
    const { db, group, committed, walFrames, insert } = onDisk()
    await group.run(insert('kept'))
    const frames = walFrames()
    const outcomes = await Promise.allSettled([
      group.run(() => {
        insert('half-done')()
        failWith('no')
      }),
      group.run(() => failWith('nor this')),
    ])
    expect(outcomes.map((outcome) => outcome.status)).toEqual(['rejected', 'rejected'])
    expect(group.commits).toBe(1)
    expect(walFrames()).toBe(frames)
    expect(committed()).toEqual(['kept'])
    expect(db.inTransaction).toBe(false)
  })

  test('a commit that fails keeps none of the writes, and fails each (a failed one with its own error)', async () => {
    const { db, group, committed, insert } = onDisk()
    // A deferred foreign key is checked at COMMIT: the savepoints succeed, the commit does not.
    db.run('PRAGMA foreign_keys = ON')
    db.run('CREATE TABLE parent (id INTEGER PRIMARY KEY)')
    db.run('CREATE TABLE child (parent_id INTEGER REFERENCES parent(id) DEFERRABLE INITIALLY DEFERRED)')
    const outcomes = await Promise.allSettled([
      group.run(insert('a')),
      group.run(() => failWith('own error')),
      group.run(() => db.run('INSERT INTO child VALUES (42)')),
    ])
    expect(outcomes.map((outcome) => outcome.status)).toEqual(['rejected', 'rejected', 'rejected'])
    const reasons = outcomes.map((outcome) => String((outcome as PromiseRejectedResult).reason))
    expect(reasons[0]).toContain('FOREIGN KEY constraint failed')
    expect(reasons[1]).toContain('own error')
    expect(reasons[2]).toContain('FOREIGN KEY constraint failed')
    expect(committed()).toEqual([])
    expect(db.inTransaction).toBe(false)
    expect(group.commits).toBe(0)
    // And the next turn's writes go through.
    await group.run(insert('b'))
    expect(committed()).toEqual(['b'])
  })

  test('a write whose error rolls back the whole transaction fails the group, and no later write commits alone', async () => {
    const { db, group, committed, insert } = onDisk()
    db.run('CREATE UNIQUE INDEX t_v ON t (v)')
    const outcomes = await Promise.allSettled([
      group.run(insert('a')),
      group.run(() => db.run("INSERT OR ROLLBACK INTO t (v) VALUES ('a')")),
      group.run(insert('e')),
    ])
    expect(outcomes.map((outcome) => outcome.status)).toEqual(['rejected', 'rejected', 'rejected'])
    expect(committed()).toEqual([])
    expect(db.inTransaction).toBe(false)
    await group.run(insert('b'))
    expect(committed()).toEqual(['b'])
  })

  test('a burst is committed in pieces of at most MAX_GROUP writes, in order', async () => {
    const { group, committed, walFrames, insert } = onDisk()
    const before = walFrames()
    const values = Array.from({ length: MAX_GROUP * 2 + 1 }, (_, i) => `v${i}`)
    const results = await Promise.all(values.map((v) => group.run(insert(v))))
    expect(results.map((row) => row.id)).toEqual(values.map((_, i) => i + 1))
    expect(committed()).toEqual(values)
    expect(group.commits).toBe(3)
    expect(walFrames() - before).toBe(3)
  })

  test('a write queued while a group settles goes into the next transaction', async () => {
    const { group, committed, insert } = onDisk()
    const second = await group.run(insert('a')).then(() => group.run(insert('b')))
    expect(second.id).toBe(2)
    expect(committed()).toEqual(['a', 'b'])
    expect(group.commits).toBe(2)
  })
})

describe('key writes arriving together', () => {
  test('a write queued behind the revocation, disabling or narrowing of its own key writes nothing', async () => {
    for (const [change, status, code] of [
      [{ method: 'DELETE', body: undefined }, 401, 'invalid_api_key'],
      [{ method: 'PUT', body: { enabled: false } }, 401, 'api_key_disabled'],
      [{ method: 'PUT', body: { mode: 'read' } }, 409, 'conflict'],
    ] as const) {
      const w = await seededWorld()
      const k = await w.aliceKey({ mode: 'all' })
      const keysBefore = (w.db.query('SELECT count(*) AS n FROM apikeys').get() as { n: number }).n
      // Started in this order, in one turn: the change is queued before the create.
      const changed = w.request(change.method, `/apikey/${k.id}`, { key: w.alice.key, body: change.body })
      const created = w.request('POST', '/apikey/', { key: k.key, body: { name: 'late', mode: 'all' } })
      expect((await changed).status).toBe(200)
      const res = await created
      expect(res.status).toBe(status)
      expect(res.json.code).toBe(code)
      expect(res.text).not.toContain('ak_')
      const keysAfter = (w.db.query('SELECT count(*) AS n FROM apikeys').get() as { n: number }).n
      expect(keysAfter).toBe(change.method === 'DELETE' ? keysBefore - 1 : keysBefore)
      expect(w.db.query("SELECT count(*) AS n FROM audit_events WHERE action = 'apikey.create' AND actor_key_id = ?").get(k.id)).toEqual({ n: 0 })
    }
  })


  test('concurrent creates and deletes: each answered as if alone, in fewer commits than writes', async () => {
    const w = await seededWorld()
    const auditRows = () => (w.db.query('SELECT count(*) AS n FROM audit_events').get() as { n: number }).n
    const auditBefore = auditRows()
    const commitsBefore = (w.store as SqliteStore).commits
    const created = await Promise.all(
      Array.from({ length: 12 }, (_, i) => w.request('POST', '/apikey/', { key: w.alice.key, body: { name: `together ${i}`, mode: 'read' } })),
    )
    expect(created.map((res) => res.status)).toEqual(Array(12).fill(201))
    const ids = created.map((res) => res.json.apikey.id as number)
    expect(new Set(ids).size).toBe(12)
    // Each key works on the very next request.
    for (const res of created) expect((await w.request('GET', '/apikey/verify', { key: res.json.apikey.key })).status).toBe(200)

    // Every id twice, an unknown id, and one with a bad id, all at once: each id is deleted exactly once.
    const deletions = [...ids, ...ids, 999_999].map((id) => w.request('DELETE', `/apikey/${id}`, { key: w.alice.key }))
    const deleted = await Promise.all([...deletions, w.request('DELETE', '/apikey/x', { key: w.alice.key })])
    const statuses = deleted.map((res) => res.status)
    expect(statuses.slice(0, 12)).toEqual(Array(12).fill(200))
    expect(statuses.slice(12, 25)).toEqual(Array(13).fill(404))
    expect(statuses[25]).toBe(400)
    for (const res of deleted) expect(res.text).not.toMatch(/at .*\.ts|SQLITE|savepoint/i)
    for (const res of created) expect((await w.request('GET', '/apikey/verify', { key: res.json.apikey.key })).status).toBe(401)

    expect(auditRows() - auditBefore).toBe(24)
    // Shared: far fewer commits than the 24 writes that succeeded.
    expect((w.store as SqliteStore).commits - commitsBefore).toBeLessThan(6)
  })
})

describe('what the read model hears of a shared transaction', () => {
  const key = (keyId: number) => ({ keyId, userId: 'usr_1', hash: String(keyId).padStart(64, '0') })
  /** A store and every change its listeners are told of. */
  function listened() {
    const store = openSqliteStore(null)
    const heard: Change[] = []
    store.onCommit((changes) => heard.push(...changes))
    return { store, heard }
  }

  test('the changes of a write that failed are not told; those of the writes that stood are', async () => {
    const { store, heard } = listened()
    const outcomes = await Promise.allSettled([
      store.write((tx) => tx.apikeys.writeLastUse(key(1), '2030-01-01T00:00:00.000Z', null)),
      store.write((tx) => {
        tx.apikeys.writeLastUse(key(2), '2030-01-01T00:00:00.000Z', null)
        failWith('no')
      }),
      store.write((tx) => tx.apikeys.writeLastUse(key(3), '2030-01-01T00:00:00.000Z', null)),
    ])
    expect(outcomes.map((outcome) => outcome.status)).toEqual(['fulfilled', 'rejected', 'fulfilled'])
    expect(heard.map((change) => change.kind === 'last-use' && change.keyId)).toEqual([1, 3])
    await store.close()
  })

  test('nothing is told of a group whose every write failed, nor of a transaction that failed whole', async () => {
    const { store, heard } = listened()
    await expect(store.write((tx) => {
      tx.apikeys.writeLastUse(key(1), '2030-01-01T00:00:00.000Z', null)
      failWith('no')
    })).rejects.toThrow('no')
    // A write that rolls back the whole transaction takes the writes before it down with it.
    const outcomes = await Promise.allSettled([
      store.write((tx) => tx.apikeys.writeLastUse(key(2), '2030-01-01T00:00:00.000Z', null)),
      store.write(() => store.db.run('ROLLBACK')),
    ])
    expect(outcomes.map((outcome) => outcome.status)).toEqual(['rejected', 'rejected'])
    expect(heard).toEqual([])
    await store.close()
  })
})
