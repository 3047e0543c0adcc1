import { Database } from 'bun:sqlite'
import { describe, expect, test } from 'bun:test'
import { rmSync } from 'node:fs'
import { join } from 'node:path'
import { inTransaction, openDatabase } from '../src/db/database'
import { DATA_VERSION_CHECK_MS, MAX_ABSENCES, ReadCache } from '../src/db/read-cache'
import { tempDir } from './helpers/binary'

function setup() {
  const db = openDatabase(null)
  db.run('CREATE TABLE t (x INTEGER)')
  db.run('INSERT INTO t VALUES (1)')
  const cache = new ReadCache(db)
  let loads = 0
  const read = () => cache.get('t', () => (loads++, (db.query('SELECT x FROM t').get() as { x: number }).x))
  return { db, cache, read, loads: () => loads }
}

/**
 * A database file with table t holding 1, its cache, and a second connection standing for
 * another process; runs `body`, then closes both and removes the file.
 */
function onFile(body: (file: { db: Database; cache: ReadCache; other: Database }) => void): void {
  const dir = tempDir()
  const db = openDatabase(dir)
  const other = new Database(join(dir, 'codepushgo.db'))
  try {
    db.run('CREATE TABLE t (x INTEGER)')
    db.run('INSERT INTO t VALUES (1)')
    body({ db, cache: new ReadCache(db), other })
  } finally {
    other.close()
    db.close()
    rmSync(dir, { recursive: true, force: true })
  }
}

describe('ReadCache', () => {
  test('serves repeated reads from memory', () => {
    const { read, loads } = setup()
    expect([read(), read(), read()]).toEqual([1, 1, 1])
    expect(loads()).toBe(1)
  })

  test('a committed write of this process empties it', () => {
    const { db, read } = setup()
    read()
    inTransaction(db, () => db.run('UPDATE t SET x = 2'))
    expect(read()).toBe(2)
  })

  test('a read inside a transaction sees that transaction\'s own write', () => {
    const { db, read } = setup()
    read()
    inTransaction(db, () => {
      db.run('UPDATE t SET x = 3')
      expect(read()).toBe(3)
    })
  })

  test('null is never cached', () => {
    const { cache } = setup()
    let loads = 0
    cache.get('missing', () => (loads++, null))
    cache.get('missing', () => (loads++, null))
    expect(loads).toBe(2)
  })

  describe('remembered absences', () => {
    function absentSetup() {
      const base = setup()
      let loads = 0
      const find = (x: number) =>
        base.cache.get(`x:${x}`, () => (loads++, (base.db.query('SELECT x FROM t WHERE x = ?').get(x) as { x: number } | null)), true)
      return { ...base, find, absentLoads: () => loads }
    }

    test('an absence asked for with rememberAbsence is looked up once', () => {
      const { find, absentLoads } = absentSetup()
      expect([find(7), find(7), find(7)]).toEqual([null, null, null])
      expect(absentLoads()).toBe(1)
    })

    test('a committed write forgets them: what was absent is found by the very next read', () => {
      const { db, find } = absentSetup()
      expect(find(7)).toBeNull()
      inTransaction(db, () => db.run('INSERT INTO t VALUES (7)'))
      expect(find(7)).toEqual({ x: 7 })
    })

    test('another process\'s commit forgets them too (data_version)', () => {
      onFile(({ db, cache, other }) => {
        const find = () => cache.get('x:7', () => db.query('SELECT x FROM t WHERE x = 7').get(), true)
        expect(find()).toBeNull()
        other.run('INSERT INTO t VALUES (7)')
        Bun.sleepSync(DATA_VERSION_CHECK_MS + 20)
        expect(find()).toEqual({ x: 7 })
      })
    })

    test('past MAX_ABSENCES they start over, and never push out what was found', () => {
      const { read, loads, find, absentLoads } = absentSetup()
      expect(read()).toBe(1)
      for (let x = 1000; x < 1000 + MAX_ABSENCES + 1; x++) find(x)
      expect(absentLoads()).toBe(MAX_ABSENCES + 1)
      // The first absence went with the start-over; the newest is still remembered.
      find(1000)
      find(1000 + MAX_ABSENCES)
      expect(absentLoads()).toBe(MAX_ABSENCES + 2)
      expect(read()).toBe(1)
      expect(loads()).toBe(1)
    })
  })

  test('a value read before another process\'s commit is not kept when a read nested in its load notices that commit', () => {
    onFile(({ db, cache, other }) => {
      // As a key's load reads its memberships through the cache after reading the key itself.
      let meanwhile = () => {}
      const read = () =>
        cache.get('outer', () => {
          const value = (db.query('SELECT x FROM t').get() as { x: number }).x
          meanwhile()
          cache.get('inner', () => 0)
          return value
        })
      meanwhile = () => {
        other.run('UPDATE t SET x = 5')
        // The nested read's check for other processes' commits falls due, and empties the cache.
        Bun.sleepSync(DATA_VERSION_CHECK_MS + 5)
      }
      expect(read()).toBe(1)
      meanwhile = () => {}
      expect(read()).toBe(5)
    })
  })

  test('a commit by another connection empties it (data_version)', () => {
    onFile(({ db, cache, other }) => {
      const read = () => cache.get('t', () => (db.query('SELECT x FROM t').get() as { x: number }).x)
      expect(read()).toBe(1)
      other.run('UPDATE t SET x = 5')
      // Another process's commit is noticed within DATA_VERSION_CHECK_MS.
      Bun.sleepSync(DATA_VERSION_CHECK_MS + 20)
      expect(read()).toBe(5)
    })
  })
})
