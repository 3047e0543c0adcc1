/**
 * `codepushgo backup FILE` on the compiled binary: a consistent copy taken while `serve` is
 * under a write load over real HTTP, and a restore of that copy into a fresh data dir.
 */
import { Database } from 'bun:sqlite'
import { afterAll, describe, expect, test } from 'bun:test'
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { MIGRATIONS } from '../../src/store/sqlite/migrations'
import { BINARY, fetchChecked, Resources, runCli, type RunningServer } from '../helpers/binary'

if (!existsSync(BINARY)) {
  throw new Error(`${BINARY} is missing: run \`npm run build\` first (\`npm test\` builds it for you)`)
}

const STACK_FRAME = '    at '
const LOOPS = 4
/** Keys each loop may create: with the admin key, well under the 1000-per-user cap. */
const PER_LOOP = 600
/** Keys acknowledged before the backup starts. */
const BEFORE_BACKUP = 200
/** Bytes of filler in the database, so that VACUUM INTO takes long enough to overlap writes. */
const FILLER_BYTES = 32 * 1024 * 1024

const resources = new Resources()
afterAll(() => resources.cleanup())
const freshDir = () => resources.dir('codepushgo-backup-')
const serve = (dir: string, extraArgs: string[] = []) => resources.serve(dir, extraArgs)

function expectOneLineError(stderr: string, mentions: RegExp) {
  expect(stderr).not.toContain(STACK_FRAME)
  expect(stderr.trimEnd().split('\n')).toHaveLength(1)
  expect(stderr).toMatch(mentions)
}

/** `backup` without blocking this process, so the HTTP load keeps running meanwhile. */
async function runBackup(args: string[]) {
  const child = Bun.spawn([BINARY, 'backup', ...args], { stdin: 'ignore', stdout: 'pipe', stderr: 'pipe' })
  const [stdout, stderr, exitCode] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited])
  return { exitCode, stdout, stderr }
}

interface Acked {
  id: number
  key: string
  /** When the 201 arrived, relative to the backup. */
  phase: 'before' | 'during' | 'after'
}

describe('binary: backup under a write load, and restore', () => {
  const dir = freshDir()
  const out = freshDir()
  const file = join(out, 'snapshot.db')
  let server: RunningServer
  let adminIds: number[] = []
  const acked: Acked[] = []
  let backup: Awaited<ReturnType<typeof runBackup>>

  test('backup FILE while keys are being created: exit 0, one line of JSON', async () => {
    const admins = Array.from({ length: LOOPS }, (_, i) => {
      const result = runCli(['user', 'create', '--email', `load${i}@example.com`, '--dir', dir])
      expect(result.exitCode).toBe(0)
      return JSON.parse(result.stdout).apikey as { id: number; key: string }
    })
    adminIds = admins.map((a) => a.id)
    // A table the server never reads, so the copy has real work to do while writes go on.
    const raw = new Database(join(dir, 'codepushgo.db'))
    raw.run('CREATE TABLE test_filler (blob BLOB NOT NULL)')
    const chunk = new Uint8Array(64 * 1024).fill(7)
    raw.transaction(() => {
      for (let i = 0; i < FILLER_BYTES / chunk.length; i++) raw.query('INSERT INTO test_filler VALUES (?)').run(chunk)
    })()
    raw.close()

    server = await serve(dir)
    let phase: Acked['phase'] = 'before'
    let stop = false
    const failures: string[] = []
    // Resolved once BEFORE_BACKUP keys are acknowledged, or at the first failure.
    let warmedUp: () => void
    const warm = new Promise<void>((resolve) => (warmedUp = resolve))
    const loop = async (admin: { key: string }, n: number) => {
      for (let i = 0; i < PER_LOOP && !stop; i++) {
        const response = await fetchChecked(`${server.url}/apikey/`, {
          method: 'POST',
          headers: { authorization: admin.key, 'content-type': 'application/json' },
          body: JSON.stringify({ name: `load ${n}.${i}`, mode: 'read' }),
        })
        const body = (await response.json()) as { apikey: { id: number; key: string } }
        // The phase is read when the 201 has arrived: a key marked 'before' was committed
        // before the backup process was even spawned.
        if (response.status === 201) acked.push({ id: body.apikey.id, key: body.apikey.key, phase })
        else failures.push(`${response.status} ${JSON.stringify(body)}`)
        if (acked.length >= BEFORE_BACKUP || failures.length > 0) warmedUp()
      }
    }
    const load = Promise.all(admins.map((admin, n) => loop(admin, n)))

    await Promise.race([warm, load])
    expect(failures).toEqual([])
    expect(acked.length).toBeGreaterThanOrEqual(BEFORE_BACKUP)

    phase = 'during'
    backup = await runBackup([file, '--dir', dir])
    phase = 'after'
    stop = true
    await load

    expect(backup.stderr).toBe('')
    expect(backup.exitCode).toBe(0)
    expect(backup.stdout.endsWith('\n')).toBe(true)
    expect(backup.stdout.trimEnd().split('\n')).toHaveLength(1)
    expect(JSON.parse(backup.stdout)).toEqual({ backup: file, bytes: statSync(file).size, schema_version: MIGRATIONS.at(-1)!.version })
    expect(failures).toEqual([])
    // The load really ran while the backup did.
    const during = acked.filter((a) => a.phase === 'during').length
    expect(during).toBeGreaterThan(0)
  })

  test('the copy passes integrity_check and holds every key acknowledged before the backup started', () => {
    expect(backup?.exitCode).toBe(0)
    const copy = new Database(file, { readonly: true })
    try {
      expect(copy.query('PRAGMA integrity_check').all()).toEqual([{ integrity_check: 'ok' }])
      expect(copy.query('PRAGMA user_version').get()).toEqual({ user_version: MIGRATIONS.at(-1)!.version })
      const find = copy.query('SELECT key_hash FROM apikeys WHERE id = ?')
      const before = acked.filter((a) => a.phase === 'before')
      expect(before.length).toBeGreaterThanOrEqual(BEFORE_BACKUP)
      const missing = before.filter((a) => {
        const row = find.get(a.id) as { key_hash: string } | null
        return row === null || row.key_hash !== new Bun.CryptoHasher('sha256').update(a.key).digest('hex')
      })
      expect(missing).toEqual([])

      // A snapshot, not a torn copy: each key's creation and its audit event were one
      // transaction, so the copy has both or neither.
      const marks = adminIds.map(() => '?').join(',')
      const keyIds = (copy.query(`SELECT id FROM apikeys WHERE name LIKE 'load %' ORDER BY id`).all() as { id: number }[]).map((r) => r.id)
      const audited = (
        copy.query(`SELECT CAST(target_id AS INTEGER) AS id FROM audit_events WHERE action = 'apikey.create' AND actor_key_id IN (${marks}) ORDER BY 1`).all(...adminIds) as { id: number }[]
      ).map((r) => r.id)
      expect(audited).toEqual(keyIds)
      // Keys acknowledged after the backup process had exited cannot be in it.
      for (const a of acked.filter((k) => k.phase === 'after')) expect(find.get(a.id)).toBeNull()
    } finally {
      copy.close()
    }
  })

  test('restore: stop the server, put the copy in a fresh dir, start it there; old keys authenticate', async () => {
    expect(await server.stop()).toBe(0)
    const restored = freshDir()
    // As documented: replace <dir>/codepushgo.db with the backup, delete any -wal/-shm beside it.
    copyFileSync(file, join(restored, 'codepushgo.db'))
    rmSync(join(restored, 'codepushgo.db-wal'), { force: true })
    rmSync(join(restored, 'codepushgo.db-shm'), { force: true })

    const again = await serve(restored)
    const before = acked.filter((a) => a.phase === 'before')
    for (const a of [before[0]!, before.at(-1)!]) {
      const response = await fetchChecked(`${again.url}/apikey/verify`, { headers: { authorization: a.key } })
      expect(response.status).toBe(200)
      expect(((await response.json()) as { apikey: { id: number } }).apikey.id).toBe(a.id)
    }
    expect(again.stderr()).not.toMatch(/first run/i) // the users came back, so no bootstrap
    expect(await again.stop()).toBe(0)
  })
})

describe('binary: backup CLI errors', () => {
  test('to an existing file: non-zero exit, one line, the file untouched', () => {
    const dir = freshDir()
    expect(runCli(['migrate', '--dir', dir]).exitCode).toBe(0)
    const existing = join(dir, 'already-there.db')
    writeFileSync(existing, 'precious')
    const result = runCli(['backup', existing, '--dir', dir])
    expect(result.exitCode).not.toBe(0)
    expect(result.stdout).toBe('')
    expectOneLineError(result.stderr, /already exists/)
    expect(readFileSync(existing, 'utf8')).toBe('precious')
  })

  test('with no FILE: exit 2, one line', () => {
    const result = runCli(['backup', '--dir', freshDir()])
    expect(result.exitCode).toBe(2)
    expectOneLineError(result.stderr, /needs the target file/)
  })

  test('from a data dir without a database: exit 1, one line, nothing created', () => {
    const dir = freshDir()
    const target = join(freshDir(), 'copy.db')
    const result = runCli(['backup', target, '--dir', join(dir, 'missing')])
    expect(result.exitCode).toBe(1)
    expectOneLineError(result.stderr, /no database at/)
    expect(existsSync(join(dir, 'missing'))).toBe(false)
    expect(existsSync(target)).toBe(false)
  })

  test('into a directory that does not exist: exit 1, one line', () => {
    const dir = freshDir()
    expect(runCli(['migrate', '--dir', dir]).exitCode).toBe(0)
    const result = runCli(['backup', join(dir, 'no', 'such', 'copy.db'), '--dir', dir])
    expect(result.exitCode).toBe(1)
    expectOneLineError(result.stderr, /does not exist/)
  })

  test('--help exits 0 and explains restore', () => {
    const result = runCli(['backup', '--help'])
    expect(result.exitCode).toBe(0)
    expect(result.stderr).toBe('')
    expect(result.stdout).toContain('Usage: codepushgo backup FILE')
    expect(result.stdout).toContain('codepushgo.db-wal')
  })
})

describe('binary: a backup never takes a name of the live database', () => {
  // Each spelling of a target that SQLite would take for part of the live database, from the
  // data directory `dir` (the database a symlink into `elsewhere` in the last one).
  const TARGETS: [label: string, target: (dir: string, link: string) => string, what: string][] = [
    ['the database itself', (dir) => join(dir, 'codepushgo.db'), 'the database itself'],
    ['its -journal', (dir) => join(dir, 'codepushgo.db-journal'), 'its -journal'],
    ['its -wal', (dir) => join(dir, 'codepushgo.db-wal'), 'its -wal'],
    ['its -shm', (dir) => join(dir, 'codepushgo.db-shm'), 'its -shm'],
    ['its -journal through ..', (dir) => join(dir, '..', 'data', 'codepushgo.db-journal'), 'its -journal'],
    ['its -wal through a symlink to the directory', (_dir, link) => join(link, 'codepushgo.db-wal'), 'its -wal'],
  ]

  /** A data directory `data` with a user in it, and a symlink `link` to it, side by side. */
  function dataDir() {
    const root = freshDir()
    const dir = join(root, 'data')
    expect(runCli(['user', 'create', '--email', 'live@example.com', '--dir', dir]).exitCode).toBe(0)
    const link = join(root, 'link')
    symlinkSync(dir, link)
    return { dir, link }
  }

  /** Refused with one line; no file appeared in `watched` (listed as `before`); `dir` still works. */
  function expectRefusedAndUnharmed(result: { exitCode: number | null; stdout: string; stderr: string }, dir: string, what: string, watched: string, before: string[]) {
    expect(result.exitCode).toBe(1)
    expect(result.stdout).toBe('')
    expectOneLineError(result.stderr, new RegExp(`is a file of the live database .*codepushgo\\.db \\(${what}\\): choose another name\n$`))
    expect(readdirSync(watched).sort()).toEqual(before)
    const users = runCli(['user', 'list', '--dir', dir])
    expect(users.stderr).toBe('')
    expect(users.exitCode).toBe(0)
  }

  test.each(TARGETS)('%s: exit 1, one line, nothing created, the database still usable', (_label, target, what) => {
    const { dir, link } = dataDir()
    const before = readdirSync(dir).sort()
    expectRefusedAndUnharmed(runCli(['backup', target(dir, link), '--dir', dir]), dir, what, dir, before)
  })

  test('a relative name inside the data directory is refused too', () => {
    const { dir } = dataDir()
    const before = readdirSync(dir).sort()
    const result = Bun.spawnSync([BINARY, 'backup', 'codepushgo.db-journal', '--dir', '.'], { cwd: dir, stdout: 'pipe', stderr: 'pipe' })
    expectRefusedAndUnharmed({ exitCode: result.exitCode, stdout: result.stdout.toString(), stderr: result.stderr.toString() }, dir, 'its -journal', dir, before)
  })

  test('when the database file is a symlink, the names beside the file it points to are refused', () => {
    const { dir } = dataDir()
    const elsewhere = join(dir, '..', 'elsewhere')
    mkdirSync(elsewhere, { mode: 0o700 })
    renameSync(join(dir, 'codepushgo.db'), join(elsewhere, 'real.db'))
    symlinkSync(join(elsewhere, 'real.db'), join(dir, 'codepushgo.db'))
    const before = readdirSync(elsewhere).sort()
    const result = runCli(['backup', join(elsewhere, 'real.db-journal'), '--dir', dir])
    expectRefusedAndUnharmed(result, dir, 'its -journal', elsewhere, before)
  })

  test('while serve runs, its -wal and -shm are refused, and it keeps answering', async () => {
    const { dir, link } = dataDir()
    const server = await serve(dir)
    for (const [, target, what] of TARGETS.filter(([label]) => label.includes('-wal') || label.includes('-shm'))) {
      const result = runCli(['backup', target(dir, link), '--dir', dir])
      expect(result.exitCode).toBe(1)
      expectOneLineError(result.stderr, new RegExp(`\\(${what}\\): choose another name\n$`))
    }
    expect((await fetch(`${server.url}/health`)).status).toBe(200)
  })
})
