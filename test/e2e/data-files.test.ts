/**
 * Data files are private (SPEC §9, issue #17): under umask 022 every command that creates the
 * data directory makes it 0700, and the database with its WAL and shared-memory files 0600;
 * files of an older, more open directory are tightened, the directory itself is left as it is
 * with a warning. The binary runs through `sh -c 'umask 022; exec …'`.
 */
import { Database } from 'bun:sqlite'
import { afterAll, describe, expect, test } from 'bun:test'
import { chmodSync, existsSync, mkdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { BINARY, Resources, runCli } from '../helpers/binary'

if (!existsSync(BINARY)) {
  throw new Error(`${BINARY} is missing: run \`npm run build\` first (\`npm test\` builds it for you)`)
}

const resources = new Resources()
afterAll(() => resources.cleanup())

const UMASK = 0o022
const modeOf = (path: string) => `0${(statSync(path).mode & 0o777).toString(8)}`
const database = (dir: string) => join(dir, 'codepushgo.db')
/** A data directory that does not exist yet, two levels below a fresh temporary directory. */
const newDataDir = () => join(resources.dir('codepushgo-files-'), 'parent', 'data')

describe('binary: data files are private whatever the umask', () => {
  test('serve --dir NEW: the directory 0700; the database, its WAL and its shared memory 0600', async () => {
    const dir = newDataDir()
    const server = await resources.serve(dir, [], UMASK)
    // The first run wrote the admin; WAL and shared memory exist while the server runs.
    expect((await fetch(`${server.url}/health`)).status).toBe(200)
    expect(modeOf(dir)).toBe('0700')
    for (const file of ['', '-wal', '-shm']) expect([file, modeOf(database(dir) + file)]).toEqual([file, '0600'])
    expect(await server.stop()).toBe(0)
    expect(modeOf(database(dir))).toBe('0600')
  })

  test.each([
    [['migrate']],
    [['user', 'create', '--email', 'files@example.com']],
    [['user', 'list']],
    [['key', 'list', '--email', 'nobody@example.com']],
    [['key', 'create', '--email', 'nobody@example.com']],
    [['key', 'revoke', '1']],
  ])('%p on a new directory makes it 0700 and the database 0600', (args) => {
    const dir = newDataDir()
    runCli([...args, '--dir', dir], {}, UMASK) // some fail (no such user or key), after opening the database
    expect(modeOf(dir)).toBe('0700')
    expect(modeOf(database(dir))).toBe('0600')
  })

  test('the backup is 0600', () => {
    const dir = newDataDir()
    expect(runCli(['migrate', '--dir', dir], {}, UMASK).exitCode).toBe(0)
    const target = join(resources.dir('codepushgo-files-'), 'copy.db')
    expect(runCli(['backup', target, '--dir', dir], {}, UMASK).exitCode).toBe(0)
    expect(modeOf(target)).toBe('0600')
  })

  test('an existing open directory is left as it is, with a warning; its database files are made 0600', () => {
    const dir = join(resources.dir('codepushgo-files-'), 'data')
    mkdirSync(dir)
    chmodSync(dir, 0o755)
    // A database as an older version left it: 0644, with a WAL beside it.
    const db = new Database(database(dir), { create: true })
    db.run('PRAGMA journal_mode = WAL')
    db.run('CREATE TABLE t (x)')
    chmodSync(database(dir), 0o644)
    chmodSync(`${database(dir)}-wal`, 0o644)
    chmodSync(`${database(dir)}-shm`, 0o644)

    const result = runCli(['migrate', '--dir', dir], {}, UMASK)
    expect(result.exitCode).toBe(0)
    expect(modeOf(dir)).toBe('0755')
    // Still open here, so the WAL and shared memory are still there.
    for (const file of ['', '-wal', '-shm']) expect([file, modeOf(database(dir) + file)]).toEqual([file, '0600'])
    db.close()
    expect(result.stderr.trimEnd().split('\n')).toEqual([
      `codepushgo: warning: data directory ${dir} is open to other users (mode 0755); its database files are 0600, but consider: chmod 700 ${dir}`,
      `codepushgo: made ${database(dir)} private: mode 0644 → 0600`,
      `codepushgo: made ${database(dir)}-wal private: mode 0644 → 0600`,
      `codepushgo: made ${database(dir)}-shm private: mode 0644 → 0600`,
    ])
    // Once private, nothing more is said.
    expect(runCli(['migrate', '--dir', dir], {}, UMASK).stderr).toBe(`codepushgo: warning: data directory ${dir} is open to other users (mode 0755); its database files are 0600, but consider: chmod 700 ${dir}\n`)
  })
})
