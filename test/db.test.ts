import { afterEach, describe, expect, test } from 'bun:test'
import { rmSync } from 'node:fs'
import { closeDatabase, openDatabase } from '../src/store/sqlite/database'
import { migrate, schemaVersion, SchemaTooNewError } from '../src/store/sqlite/migrate'
import { MIGRATIONS } from '../src/store/sqlite/migrations'
import { tempDir } from './helpers/binary'

const dirs: string[] = []
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true })
})
function fileDb() {
  const dir = tempDir()
  dirs.push(dir)
  return openDatabase(dir)
}

describe('database', () => {
  test('opens with the pragmas of SPEC §9', () => {
    const db = fileDb()
    const pragma = (name: string) => Object.values(db.query(`PRAGMA ${name}`).get() as object)[0]
    expect(pragma('journal_mode')).toBe('wal')
    expect(pragma('foreign_keys')).toBe(1)
    expect(pragma('synchronous')).toBe(1) // NORMAL
    expect(pragma('busy_timeout')).toBe(5000)
    closeDatabase(db)
  })

  test('migrations apply in order, once, tracked by user_version', () => {
    const db = fileDb()
    expect(migrate(db).map((m) => m.version)).toEqual(MIGRATIONS.map((m) => m.version))
    expect(schemaVersion(db)).toBe(MIGRATIONS.at(-1)!.version)
    expect(migrate(db)).toEqual([])
    const tables = db.query("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all() as { name: string }[]
    expect(tables.map((t) => t.name)).toEqual(expect.arrayContaining(['apikeys', 'apps', 'audit_events', 'org_members', 'orgs', 'users']))
  })

  test('migration versions are 1, 2, 3… with no gap, each file named by its number (append-only)', () => {
    expect(MIGRATIONS.map((m) => m.version)).toEqual(MIGRATIONS.map((_, i) => i + 1))
    MIGRATIONS.forEach((m) => expect(m.name).toStartWith(String(m.version).padStart(4, '0')))
  })

  test('refuses a database whose schema is newer than the binary', () => {
    const db = fileDb()
    migrate(db)
    db.run('PRAGMA user_version = 999')
    expect(() => migrate(db)).toThrow(SchemaTooNewError)
  })

  test('a failing migration leaves the schema at the last whole version', () => {
    const db = fileDb()
    const latest = MIGRATIONS.at(-1)!.version
    const broken = [...MIGRATIONS, { version: latest + 1, name: 'broken', sql: 'CREATE TABLE t (x); SELECT nonsense FROM nowhere;' }]
    expect(() => migrate(db, broken)).toThrow()
    expect(schemaVersion(db)).toBe(latest)
    expect(db.query("SELECT name FROM sqlite_master WHERE name = 't'").get()).toBeNull()
  })

  test('0004 folds existing emails (a pair that differs only beyond ASCII case keeps both users) and records successors', () => {
    const db = fileDb()
    migrate(db, MIGRATIONS.slice(0, 3))
    const at = '2026-01-01T00:00:00.000Z'
    for (const [id, email] of [['usr_a', 'Émile@example.com'], ['usr_b', 'émile@example.com'], ['usr_c', 'zoe@example.com']] as const)
      db.run('INSERT INTO users (id, email, name, created_at) VALUES (?, ?, ?, ?)', [id, email, 'n', at])
    const key = (hash: string, rotatedFrom: number | null) =>
      db.run(
        "INSERT INTO apikeys (user_id, name, mode, key_hash, key_start, created_at, updated_at, rotated_from) VALUES ('usr_a', 'k', 'read', ?, 'ak_x', ?, ?, ?)",
        [hash, at, at, rotatedFrom],
      )
    key('h1', null)
    key('h2', 1)
    key('h3', null)
    migrate(db)
    const users = db.query('SELECT id, email_key FROM users ORDER BY id').all()
    expect(users).toEqual([
      { id: 'usr_a', email_key: 'émile@example.com' },
      { id: 'usr_b', email_key: null },
      { id: 'usr_c', email_key: 'zoe@example.com' },
    ])
    expect(() => db.run("INSERT INTO users (id, email, email_key, name, created_at) VALUES ('usr_d', 'x', 'zoe@example.com', 'n', 'now')")).toThrow(/UNIQUE/)
    expect(db.query('SELECT id, successor_id FROM apikeys ORDER BY id').all()).toEqual([
      { id: 1, successor_id: 2 },
      { id: 2, successor_id: null },
      { id: 3, successor_id: null },
    ])
  })
})
