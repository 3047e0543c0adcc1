/**
 * PostgreSQL migrations (SPEC §11): applied in order, once, under an advisory lock so that
 * instances starting together apply each exactly once; a newer schema refused; and a schema
 * that holds what SQLite's holds and reads back the same way (ordering, case, ids, JSON).
 */
import { SQL } from 'bun'
import { describe, expect, test } from 'bun:test'
import { openDatabase } from '../src/store/sqlite/database'
import { migrate, SchemaTooNewError } from '../src/store/sqlite/migrate'
import { migratePostgres, postgresSchemaVersion } from '../src/store/postgres/migrate'
import { POSTGRES_MIGRATIONS, type PostgresMigration } from '../src/store/postgres/migrations'
import { findPostgres, usePostgresCluster } from './helpers/postgres'

const bin = findPostgres()
const LATEST = POSTGRES_MIGRATIONS.at(-1)!.version

describe('PostgreSQL migration list', () => {
  test('versions are 1, 2, 3… with no gap (append-only)', () => {
    expect(POSTGRES_MIGRATIONS.map((m) => m.version)).toEqual(POSTGRES_MIGRATIONS.map((_, i) => i + 1))
    POSTGRES_MIGRATIONS.forEach((m) => expect(m.name).toStartWith(String(m.version).padStart(4, '0')))
  })
})

describe.skipIf(!bin)('PostgreSQL migrations', () => {
  const cluster = usePostgresCluster(bin)
  /** Clients of this file's tests, closed after each. */
  const clients: SQL[] = []
  const connect = (url: string) => {
    const sql = new SQL(url)
    clients.push(sql)
    return sql
  }
  const freshDatabase = async () => connect(await cluster().createDatabase())
  const closeAll = async () => {
    await Promise.all(clients.splice(0).map((sql) => sql.close({ timeout: 0 })))
  }

  test('a fresh database gets every migration, in order, tracked in codepushgo_migrations', async () => {
    const sql = await freshDatabase()
    expect(await postgresSchemaVersion(sql)).toBe(0)
    expect((await migratePostgres(sql)).map((m) => m.version)).toEqual(POSTGRES_MIGRATIONS.map((m) => m.version))
    expect(await postgresSchemaVersion(sql)).toBe(LATEST)
    const rows = await sql`SELECT version, name FROM codepushgo_migrations ORDER BY version`
    expect([...rows]).toEqual(POSTGRES_MIGRATIONS.map(({ version, name }) => ({ version, name })))
    await closeAll()
  })

  test('migrating again applies nothing', async () => {
    const sql = await freshDatabase()
    await migratePostgres(sql)
    expect(await migratePostgres(sql)).toEqual([])
    expect(await postgresSchemaVersion(sql)).toBe(LATEST)
    await closeAll()
  })

  test('two instances migrating together apply each migration exactly once', async () => {
    const url = await cluster().createDatabase()
    // Each migration leaves a row behind, so one applied twice shows; the first is slow, so
    // that the second instance surely arrives while the first is at work.
    const counted: PostgresMigration[] = [
      { version: 1, name: '0001_counted', sql: 'SELECT pg_sleep(0.3); CREATE TABLE applied (version int); INSERT INTO applied VALUES (1);' },
      { version: 2, name: '0002_counted', sql: 'INSERT INTO applied VALUES (2);' },
      { version: 3, name: '0003_counted', sql: 'INSERT INTO applied VALUES (3);' },
    ]
    const [a, b] = [connect(url), connect(url)]
    const [byA, byB] = await Promise.all([migratePostgres(a, counted), migratePostgres(b, counted)])
    expect([...byA, ...byB].map((m) => m.version).sort()).toEqual([1, 2, 3])
    expect([...(await a`SELECT version FROM applied ORDER BY version`)]).toEqual([{ version: 1 }, { version: 2 }, { version: 3 }])
    await closeAll()
  })

  test('two instances starting together on a fresh database both come up migrated', async () => {
    const url = await cluster().createDatabase()
    const [a, b] = [connect(url), connect(url)]
    const [byA, byB] = await Promise.all([migratePostgres(a), migratePostgres(b)])
    expect([...byA, ...byB].map((m) => m.version).sort()).toEqual(POSTGRES_MIGRATIONS.map((m) => m.version))
    expect(await postgresSchemaVersion(b)).toBe(LATEST)
    await closeAll()
  })

  test('refuses a database whose schema is newer than the binary, with SQLite\'s message, and changes nothing', async () => {
    const sql = await freshDatabase()
    await migratePostgres(sql)
    await sql`INSERT INTO codepushgo_migrations (version, name) VALUES (999, '0999_future')`
    const error = await migratePostgres(sql).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(SchemaTooNewError)
    expect((error as Error).message).toBe(new SchemaTooNewError(999, LATEST).message)
    expect(await postgresSchemaVersion(sql)).toBe(999)
    await closeAll()
  })

  test('a failing migration leaves the schema at the last whole version', async () => {
    const sql = await freshDatabase()
    const broken = [...POSTGRES_MIGRATIONS, { version: LATEST + 1, name: 'broken', sql: 'CREATE TABLE t (x int); SELECT nonsense FROM nowhere;' }]
    await expect(migratePostgres(sql, broken)).rejects.toThrow('relation "nowhere" does not exist')
    expect(await postgresSchemaVersion(sql)).toBe(LATEST)
    expect(await sql`SELECT to_regclass('t') AS t`).toEqual([{ t: null }])
    await closeAll()
  })

  describe('the schema', () => {
    let linguistic = 0
    /**
     * A database whose default collation is linguistic (ICU, en-US), as many production
     * databases' is: where the schema's own collation shows.
     */
    const linguisticDatabase = async () => {
      const name = `linguistic_${++linguistic}`
      const admin = connect(cluster().url())
      await admin.unsafe(`CREATE DATABASE ${name} TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE 'en-US' LOCALE 'C'`)
      return connect(cluster().url(name))
    }

    test('has every table, column, nullability and index (with its columns) of SQLite\'s, and nothing else but orgs.seq', async () => {
      const sqlite = openDatabase(null)
      migrate(sqlite)
      const sqliteTables = sqlite
        .query<{ name: string }, []>("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")
        .all()
        .map((t) => t.name)
      const sqliteColumns = sqliteTables.flatMap((table) =>
        sqlite
          .query<{ name: string; notnull: number; pk: number }, []>(`PRAGMA table_info(${table})`)
          .all()
          .map((c) => `${table}.${c.name}${c.notnull || c.pk ? ' not null' : ''}`),
      )
      // Each index as `name: table(columns)`: the same columns, in the same order, on both.
      const sqliteIndexes = sqlite
        .query<{ name: string; table: string }, []>("SELECT name, tbl_name AS 'table' FROM sqlite_master WHERE type = 'index' AND name NOT LIKE 'sqlite_%' ORDER BY name")
        .all()
        .map(({ name, table }) => `${name}: ${table}(${sqlite.query<{ name: string }, []>(`PRAGMA index_info(${name})`).all().map((c) => c.name).join(', ')})`)
      sqlite.close()

      const sql = await freshDatabase()
      await migratePostgres(sql)
      const pgColumns = await sql`
        SELECT table_name || '.' || column_name || CASE WHEN is_nullable = 'NO' THEN ' not null' ELSE '' END AS column
        FROM information_schema.columns
        WHERE table_schema = 'public' AND table_name NOT LIKE 'codepushgo\_%'`
      const pgIndexes = await sql`SELECT indexname, tablename, indexdef FROM pg_indexes WHERE schemaname = 'public'`
      expect(pgColumns.map((c: { column: string }) => c.column).sort()).toEqual([...sqliteColumns, 'orgs.seq not null'].sort())
      // lower(app_id) on PostgreSQL is SQLite's app_id COLLATE NOCASE.
      const indexColumns = (indexdef: string) => /\((.*)\)$/.exec(indexdef)![1]!.replace(/lower\((\w+)\)/g, '$1')
      expect(pgIndexes.map((i: { indexname: string; tablename: string; indexdef: string }) => `${i.indexname}: ${i.tablename}(${indexColumns(i.indexdef)})`))
        .toEqual(expect.arrayContaining(sqliteIndexes))
      await closeAll()
    })

    test('emails are unique regardless of ASCII case, as COLLATE NOCASE makes them on SQLite', async () => {
      const sql = await linguisticDatabase()
      await migratePostgres(sql)
      const user = (id: string, email: string) => sql`INSERT INTO users (id, email, name, created_at) VALUES (${id}, ${email}, 'n', '2026-01-01T00:00:00.000Z')`
      await user('usr_1', 'Ann@Example.com')
      const duplicate = await user('usr_2', 'ann@EXAMPLE.COM').catch((e: unknown) => e)
      expect(duplicate).toBeInstanceOf(SQL.PostgresError)
      expect(duplicate).toMatchObject({ errno: '23505', constraint: 'users_email_nocase' })
      // NOCASE folds A-Z only; so does lower() on a "C" column, whatever the database's locale.
      await user('usr_3', 'Émile@example.com')
      await user('usr_4', 'émile@example.com')
      const found = await sql`SELECT id FROM users WHERE lower(email) = lower(${'ANN@example.COM'})`
      expect([...found]).toEqual([{ id: 'usr_1' }])
      await closeAll()
    })

    test('text orders byte by byte, as on SQLite, even in a database with a linguistic default collation', async () => {
      const sql = await linguisticDatabase()
      await migratePostgres(sql)
      const appIds = ['com.ab', 'com.B', 'com.a-b', 'com.a_c', 'com.A']
      await sql`INSERT INTO users (id, email, name, created_at) VALUES ('usr_1', 'a@b.c', 'n', 'now')`
      await sql`INSERT INTO orgs (id, name, created_by, created_at, updated_at) VALUES ('org_1', 'o', 'usr_1', 'now', 'now')`
      for (const appId of appIds) await sql`INSERT INTO apps (app_id, org_id, name, created_at, updated_at) VALUES (${appId}, 'org_1', 'a', 'now', 'now')`
      const ordered = await sql`SELECT app_id FROM apps ORDER BY app_id`
      // The database's own collation would order them otherwise (it ignores case and punctuation first).
      const linguistic = await sql`SELECT app_id FROM apps ORDER BY app_id COLLATE "default"`
      const sqlite = openDatabase(null)
      migrate(sqlite)
      const bytewise = sqlite.query<{ app_id: string }, []>(`SELECT column1 AS app_id FROM (VALUES ${appIds.map((id) => `('${id}')`).join(', ')}) ORDER BY 1`).all()
      sqlite.close()
      expect([...ordered]).toEqual(bytewise)
      expect([...linguistic]).not.toEqual(bytewise)
      await closeAll()
    })

    test('key ids are never handed out again, and cannot be chosen', async () => {
      const sql = await freshDatabase()
      await migratePostgres(sql)
      await sql`INSERT INTO users (id, email, name, created_at) VALUES ('usr_1', 'a@b.c', 'n', 'now')`
      const key = (hash: string) => sql`
        INSERT INTO apikeys (user_id, name, mode, key_hash, key_start, created_at, updated_at)
        VALUES ('usr_1', 'k', 'all', ${hash}, 'ak_x', 'now', 'now') RETURNING id`
      const [first] = await key('h1')
      const [second] = await key('h2')
      await sql`DELETE FROM apikeys WHERE id = ${second.id}`
      const [third] = await key('h3')
      // bigint ids come back as strings from Bun: the adapter reads them with Number().
      expect([first.id, second.id, third.id]).toEqual(['1', '2', '3'])
      const chosen = await sql`INSERT INTO apikeys (id, user_id, name, mode, key_hash, key_start, created_at, updated_at)
        VALUES (2, 'usr_1', 'k', 'all', 'h4', 'ak_x', 'now', 'now')`.catch((e: unknown) => e)
      expect(chosen).toMatchObject({ errno: '428C9' }) // generated_always
      await closeAll()
    })

    test('limits and rate limits are JSON that Bun returns parsed; JSON text instead of an array is refused', async () => {
      const sql = await freshDatabase()
      await migratePostgres(sql)
      await sql`INSERT INTO users (id, email, name, created_at) VALUES ('usr_1', 'a@b.c', 'n', 'now')`
      const [row] = await sql`
        INSERT INTO apikeys (user_id, name, mode, limited_to_apps, limited_to_orgs, key_hash, key_start, created_at, updated_at, rate_limit)
        VALUES ('usr_1', 'k', 'read', ${['com.demo.app', 'com.other']}, ${[]}, 'h1', 'ak_x', 'now', 'now', ${{ requests: 10, per_seconds: 60 }})
        RETURNING limited_to_apps, limited_to_orgs, rate_limit, enabled`
      expect(row).toEqual({ limited_to_apps: ['com.demo.app', 'com.other'], limited_to_orgs: [], rate_limit: { requests: 10, per_seconds: 60 }, enabled: true })
      // SQLite's repositories bind JSON.stringify(...): here that would be a JSON string.
      const asText = await sql`
        INSERT INTO apikeys (user_id, name, mode, limited_to_apps, key_hash, key_start, created_at, updated_at)
        VALUES ('usr_1', 'k', 'read', ${JSON.stringify(['com.demo.app'])}, 'h2', 'ak_x', 'now', 'now')`.catch((e: unknown) => e)
      expect(asText).toMatchObject({ errno: '23514', constraint: 'apikeys_limited_to_apps_check' })
      await closeAll()
    })

    test('audit details keep the order of their keys', async () => {
      const sql = await freshDatabase()
      await migratePostgres(sql)
      const details = { name: 'Limited Read Key', mode: 'read', limited_to_apps: ['com.demo.app'] }
      const [row] = await sql`
        INSERT INTO audit_events (at, user_id, action, target_type, target_id, details)
        VALUES ('now', 'usr_1', 'apikey.create', 'apikey', '1', ${details}) RETURNING details`
      expect(Object.keys(row.details)).toEqual(Object.keys(details))
      expect(row.details).toEqual(details)
      await closeAll()
    })
  })
})
