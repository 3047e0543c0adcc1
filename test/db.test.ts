import { afterEach, describe, expect, test } from 'bun:test'
import { rmSync } from 'node:fs'
import { closeDatabase, openDatabase } from '../src/db/database'
import { migrate, schemaVersion, SchemaTooNewError } from '../src/db/migrate'
import { MIGRATIONS } from '../src/db/migrations'
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

  test('migration versions increase from 1, each file named by its number (append-only)', () => {
    expect(MIGRATIONS[0]!.version).toBe(1)
    MIGRATIONS.slice(1).forEach((m, i) => expect(m.version).toBeGreaterThan(MIGRATIONS[i]!.version))
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
})
