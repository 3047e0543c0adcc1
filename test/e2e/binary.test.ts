/**
 * End-to-end tests of the compiled binary (dist/codepushgo) over real HTTP and its CLI:
 * what a self-hoster actually runs. `npm test` builds the binary first.
 */
import { Database } from 'bun:sqlite'
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import pkg from '../../package.json'
import { MIGRATIONS } from '../../src/store/sqlite/migrations'
import { BINARY, fetchChecked, locationFlags, Resources, runCli, serveExpectingExit, type DataLocation, type RunningServer } from '../helpers/binary'
import { onPostgres, testLocation } from '../helpers/backend'
import { waitFor } from '../helpers/wait'

if (!existsSync(BINARY)) {
  throw new Error(`${BINARY} is missing: run \`npm run build\` first (\`npm test\` builds it for you)`)
}

const KEY = /^ak_[0-9A-Za-z]{36}$/
const ANY_KEY = /ak_[0-9A-Za-z]{36}/g
const MASKED = /^ak_[0-9A-Za-z]{5}\.\.\.$/
const SHA256_HEX = /[0-9a-f]{64}/
const STACK_FRAME = '    at '

// ---- helpers -------------------------------------------------------------------------------

const resources = new Resources()
afterAll(() => resources.cleanup())
const freshDir = () => resources.dir('codepushgo-e2e-')
/** Where a test's data goes on this run's backend: a fresh directory, or a fresh PostgreSQL database. */
const freshLocation = () => testLocation(freshDir)
// What reads SQLite's files, or is the same on either backend, runs on the SQLite pass only (test.skipIf(onPostgres)).
const serve = (location: DataLocation, extraArgs: string[] = []) => resources.serve(location, extraArgs)

/** How many requests each server was sent, to match against its request log. */
const sent = new WeakMap<RunningServer, number>()

/** One HTTP request; `auth` is the raw authorization header value (so `Bearer …` can be tested). */
async function call(server: RunningServer, method: string, path: string, auth?: string, body?: unknown) {
  const headers: Record<string, string> = {}
  if (auth !== undefined) headers.authorization = auth
  if (body !== undefined) headers['content-type'] = 'application/json'
  sent.set(server, (sent.get(server) ?? 0) + 1)
  const response = await fetchChecked(server.url + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) })
  const text = await response.text()
  return { status: response.status, text, json: JSON.parse(text) }
}

/** `user create` through the CLI; returns the parsed JSON it printed. */
function createUser(location: DataLocation, email: string) {
  const result = runCli(['user', 'create', '--email', email, ...locationFlags(location)])
  expect(result.exitCode).toBe(0)
  return JSON.parse(result.stdout)
}

/** A write by another process, as an operator's sqlite3 shell would make it. */
function runSql(dir: string, sql: string): void {
  const db = new Database(join(dir, 'codepushgo.db'))
  try {
    db.run('PRAGMA busy_timeout = 5000')
    db.run(sql)
  } finally {
    db.close()
  }
}

/** Polls `ready` (a change another process makes, which no event announces) for up to 30 s. */
/** A CLI failure must be one clear line on stderr, never a stack trace. */
function expectOneLineError(stderr: string, mentions: RegExp) {
  expect(stderr).not.toContain(STACK_FRAME)
  expect(stderr.trimEnd().split('\n')).toHaveLength(1)
  expect(stderr).toMatch(mentions)
}

const countKeys = (text: string) => text.match(ANY_KEY)?.length ?? 0

// ---- 1. the documented flow over HTTP ------------------------------------------------------

describe('binary: key management over real HTTP', () => {
  let created: ReturnType<typeof createUser>
  let admin: string
  let server: RunningServer
  /** Every full key seen in a response: none may show up in the server's output. */
  const secrets: string[] = []
  let uploadId: number
  let uploadKey: string

  beforeAll(async () => {
    const location = await freshLocation()
    created = createUser(location, 'e2e@example.com')
    admin = created.apikey.key
    secrets.push(admin)
    server = await serve(location)
  })

  test('user create prints the user, its org and a full `all` key as JSON', () => {
    expect(created.user.id).toStartWith('usr_')
    expect(created.user.email).toBe('e2e@example.com')
    expect(created.organization.id).toStartWith('org_')
    expect(created.apikey.key).toMatch(KEY)
    expect(created.apikey.mode).toBe('all')
    expect(JSON.stringify(created)).not.toMatch(SHA256_HEX)
  })

  test('GET /apikey/ lists masked keys only', async () => {
    const res = await call(server, 'GET', '/apikey/', admin)
    expect(res.status).toBe(200)
    expect(res.json.data).toBeArrayOfSize(1)
    for (const key of res.json.data) expect(key.key).toMatch(MASKED)
    expect(res.json.data[0].key).toBe(`${admin.slice(0, 8)}...`)
    expect(res.text).not.toContain(admin)
    expect(res.text).not.toMatch(SHA256_HEX)
  })

  test('POST /apikey/ with a JSON body creates a key that works at once', async () => {
    const res = await call(server, 'POST', '/apikey/', admin, { name: 'e2e read', mode: 'read' })
    expect(res.status).toBe(201)
    expect(res.json.apikey).toMatchObject({ name: 'e2e read', mode: 'read', user_id: created.user.id })
    expect(res.json.apikey.key).toMatch(KEY)
    const readKey = res.json.apikey.key
    secrets.push(readKey)

    // /health is unauthenticated, so check by use: the read key is recognised (not 401) but may not manage keys.
    const denied = await call(server, 'GET', '/apikey/', readKey)
    expect(denied.status).toBe(403)
    expect(denied.json).toEqual({
      error: 'Insufficient permissions to manage API keys', status: 'KO', code: 'insufficient_permissions',
    })
  })

  test('POST /apikey with query parameters only creates a key', async () => {
    const res = await call(server, 'POST', '/apikey?name=x&mode=upload', admin)
    expect(res.status).toBe(201)
    expect(res.json.apikey).toMatchObject({ name: 'x', mode: 'upload' })
    expect(res.json.apikey.key).toMatch(KEY)
    uploadId = res.json.apikey.id
    uploadKey = res.json.apikey.key
    secrets.push(uploadKey)
  })

  test('the list never shows a created key in full; `Bearer <key>` works too', async () => {
    const res = await call(server, 'GET', '/apikey/', `Bearer ${admin}`)
    expect(res.status).toBe(200)
    expect(res.json.data).toBeArrayOfSize(3)
    for (const key of res.json.data) expect(key.key).toMatch(MASKED)
    for (const secret of secrets) expect(res.text).not.toContain(secret)
  })

  test('DELETE /apikey/:id/ revokes at once; a second DELETE is 404', async () => {
    const deleted = await call(server, 'DELETE', `/apikey/${uploadId}/`, admin)
    expect(deleted.status).toBe(200)
    expect(deleted.json).toEqual({ success: true })

    const revoked = await call(server, 'GET', '/apikey/', uploadKey)
    expect(revoked.status).toBe(401)
    expect(revoked.json).toMatchObject({ status: 'KO', code: 'invalid_api_key' })
    // Deleted and malformed keys get the very same answer: no oracle.
    const garbage = await call(server, 'GET', '/apikey/', 'ak_not-a-key')
    expect(garbage).toMatchObject({ status: 401, json: revoked.json })

    const again = await call(server, 'DELETE', `/apikey/${uploadId}/`, admin)
    expect(again.status).toBe(404)
    expect(again.json).toEqual({ error: 'API key not found', status: 'KO', code: 'not_found' })
  })

  test('no authorization header is 401 missing_api_key', async () => {
    const res = await call(server, 'GET', '/apikey/')
    expect(res.status).toBe(401)
    expect(res.json).toMatchObject({ status: 'KO', code: 'missing_api_key' })
  })

  test('SIGTERM stops it with exit 0; its output is JSON log lines with no key in them', async () => {
    // No waiting for the log: Elysia writes request lines just after each response, and
    // shutdown must let them out before it exits.
    expect(await server.stop('SIGTERM')).toBe(0)
    const output = server.output()
    for (const secret of secrets) expect(output).not.toContain(secret)
    expect(countKeys(output)).toBe(0)
    // A user already exists, so there is no first-run banner.
    expect(server.stderr()).not.toMatch(/first run/i)

    const lines = server.stdout().trimEnd().split('\n').map((line) => JSON.parse(line))
    // fetchChecked reads the OpenAPI document from the first server it meets: not one of ours.
    const requests = lines.filter((line) => 'method' in line && !line.route.startsWith('/swagger'))
    expect(requests).toHaveLength(sent.get(server)!)
    for (const line of requests) {
      expect(Object.keys(line)).toEqual(expect.arrayContaining(['method', 'route', 'status', 'duration_ms', 'key_id']))
      expect(typeof line.duration_ms).toBe('number')
    }
    // The route pattern is logged, not the raw path with its id.
    expect(requests).toContainEqual(expect.objectContaining({ method: 'DELETE', route: '/apikey/:id', status: 404, key_id: created.apikey.id }))
    expect(requests).toContainEqual(expect.objectContaining({ method: 'GET', status: 401, key_id: null }))
    expect(lines.at(-1)).toMatchObject({ msg: 'stopped' })
  })
})

// ---- 2. first run --------------------------------------------------------------------------

describe.skipIf(onPostgres)('binary: first-run bootstrap', () => {
  test('an empty data dir gets an admin key, printed once in a banner on stderr', async () => {
    const dir = freshDir()
    const first = await serve(dir)
    await first.waitForOutput(/Docs: .*\/swagger\n=+\n/)
    const banner = first.stderr()
    expect(countKeys(banner)).toBe(1)
    expect(banner).toContain(`${first.url}/swagger`)
    expect(banner).toContain(`${first.url}/console`)
    expect(countKeys(first.stdout())).toBe(0) // the log never carries it
    const key = banner.match(ANY_KEY)![0]

    const res = await call(first, 'GET', '/apikey/', key)
    expect(res.status).toBe(200)
    expect(res.json.data).toEqual([expect.objectContaining({ mode: 'all', key: `${key.slice(0, 8)}...` })])
    expect(await first.stop()).toBe(0)

    // Second start on the same data: no new user, no key printed, the first key still works.
    const second = await serve(dir)
    expect((await call(second, 'GET', '/apikey/', key)).status).toBe(200)
    expect(await second.stop()).toBe(0)
    expect(countKeys(second.output())).toBe(0)
    expect(second.stderr()).toBe('')
  })
})

// ---- 3. the CLI ----------------------------------------------------------------------------

describe.skipIf(!onPostgres)('binary: CLI on PostgreSQL (--database-url)', () => {
  test('migrate applies the PostgreSQL migrations once; backup says to use pg_dump, exit 2', async () => {
    const location = await freshLocation()
    const flags = locationFlags(location)
    const fresh = runCli(['migrate', ...flags])
    expect(fresh.exitCode).toBe(0)
    expect(fresh.stdout).toMatch(/schema (is up to date|version \d+)/)
    const again = runCli(['migrate', ...flags])
    expect(again.stdout).toMatch(/^schema is up to date \(version \d+\)\n$/)
    const backup = runCli(['backup', '/tmp/never-written.db', ...flags])
    expect(backup.exitCode).toBe(2)
    expectOneLineError(backup.stderr, /pg_dump/)
    expect(existsSync('/tmp/never-written.db')).toBe(false)
  })

  test('a database that cannot be reached stops serve with one line, without its password', async () => {
    const result = await serveExpectingExit(['--http', '127.0.0.1:0', '--database-url', 'postgres://keys:s3cret@127.0.0.1:1/keys'])
    expect(result.exitCode).toBe(1)
    expectOneLineError(result.stderr, /cannot open the PostgreSQL database at postgres:\/\/keys:\*\*\*@127\.0\.0\.1:1\/keys/)
    expect(result.stderr).not.toContain('s3cret')
  })
})

describe.skipIf(onPostgres)('binary: CLI', () => {
  // Each command prints its own usage, not the main one.
  test.each([
    [['--help'], 'Usage: codepushgo <command>'],
    [['serve', '--help'], 'Usage: codepushgo serve'],
    [['serve', '--help'], '--usage-retention-days N'],
    [['migrate', '--help'], 'Usage: codepushgo migrate'],
    [['user', '--help'], 'Usage: codepushgo user create'],
    [['key', '--help'], 'Usage: codepushgo key list'],
    [['key', '--help'], 'codepushgo key create --email EMAIL [--mode MODE]'],
    [['--help'], '  key create '],
    [['healthcheck', '--help'], 'Usage: codepushgo healthcheck'],
    [['version', '--help'], 'Usage: codepushgo version'],
  ])('%p exits 0 with its usage', (args, usage) => {
    const result = runCli(args)
    expect(result.exitCode).toBe(0)
    expect(result.stdout).toContain(usage)
    expect(result.stderr).toBe('')
  })

  test.each([[['version']], [['--version']]])('%p prints the package.json version', (args) => {
    const result = runCli(args)
    expect(result.exitCode).toBe(0)
    expect(result.stdout).toBe(`${pkg.version}\n`)
  })

  test('an unknown command exits 2 with one error line', () => {
    const result = runCli(['frobnicate'])
    expect(result.exitCode).toBe(2)
    expect(result.stdout).toBe('')
    expect(result.stderr).toBe('codepushgo: unknown command "frobnicate" (run "codepushgo --help" for the list)\n')
    expect(result.stderr).not.toContain(STACK_FRAME)
  })

  test.each([
    [['serve', '--http', 'nonsense'], /invalid --http address "nonsense"/],
    [['serve', '--http', '127.0.0.1:99999'], /invalid --http address/],
    [['serve', '--no-such-flag'], /no-such-flag/],
    [['user', 'create'], /--email/],
  ])('bad configuration %p exits 2 with one line', async (args, mentions) => {
    // --dir always points at a temp dir, so a regression that starts anyway cannot touch ./codepushgo_data.
    const result = args[0] === 'serve' ? await serveExpectingExit([...args.slice(1), '--dir', freshDir()]) : runCli([...args, '--dir', freshDir()])
    expect(result.exitCode).toBe(2)
    expectOneLineError(result.stderr, mentions)
  })

  test('migrate applies the schema, is idempotent, and refuses a newer database', async () => {
    const dir = freshDir()
    const fresh = runCli(['migrate', '--dir', dir])
    expect(fresh.exitCode).toBe(0)
    expect(fresh.stdout).toContain(`schema version ${MIGRATIONS.at(-1)!.version}\n`)
    const again = runCli(['migrate', '--dir', dir])
    expect(again.exitCode).toBe(0)
    expect(again.stdout).toBe(`schema is up to date (version ${MIGRATIONS.at(-1)!.version})\n`)

    const file = join(dir, 'codepushgo.db')
    const db = new Database(file)
    db.run('PRAGMA user_version = 999')
    db.close()

    const refused = runCli(['migrate', '--dir', dir])
    expect(refused.exitCode).not.toBe(0)
    expectOneLineError(refused.stderr, /newer/)
    // serve migrates first, so it must refuse too.
    const serveRefused = await serveExpectingExit(['--http', '127.0.0.1:0', '--dir', dir])
    expect(serveRefused.exitCode).toBe(1)
    expectOneLineError(serveRefused.stderr, /newer/)

    const check = new Database(file, { readonly: true })
    expect(check.query('PRAGMA user_version').get()).toEqual({ user_version: 999 }) // left untouched
    check.close()
  })

  test('user create refuses an email that exists in another case, and prints no key', () => {
    const dir = freshDir()
    createUser(dir, 'e2e@example.com')
    const duplicate = runCli(['user', 'create', '--email', 'E2E@Example.com', '--dir', dir])
    expect(duplicate.exitCode).not.toBe(0)
    expect(duplicate.stdout).toBe('')
    expectOneLineError(duplicate.stderr, /already exists/)
    expect(countKeys(duplicate.stderr)).toBe(0)
  })

  test('healthcheck exits 0 against a running server and 1 otherwise', async () => {
    const server = await serve(freshDir())
    const ok = runCli(['healthcheck', '--url', `${server.url}/health`])
    expect(ok).toMatchObject({ exitCode: 0, stdout: 'ok\n' })
    // An answer that is not {"status":"ok"} (here a 401) is unhealthy too.
    expect(runCli(['healthcheck', '--url', `${server.url}/apikey/`]).exitCode).toBe(1)

    expect(await server.stop()).toBe(0)
    const closed = runCli(['healthcheck', '--url', `${server.url}/health`]) // same port, now closed
    expect(closed.exitCode).toBe(1)
    expectOneLineError(closed.stderr, /unhealthy/)
  })
})

describe.skipIf(onPostgres)('binary: one server per address', () => {
  test('a second serve on a port in use exits 1 with one line, and the first keeps answering', async () => {
    const dir = freshDir()
    const owner = createUser(dir, 'first@example.com')
    const first = await serve(dir)
    const address = new URL(first.url).host
    // On the same data and on other data: two servers must never share a port.
    for (const secondDir of [dir, freshDir()]) {
      const second = await serveExpectingExit(['--http', address, '--dir', secondDir])
      expect(second.exitCode).toBe(1)
      expectOneLineError(second.stderr, new RegExp(`^codepushgo serve: cannot listen on ${address.replaceAll('.', '\\.')}: the address is already in use`))
      expect(countKeys(second.stderr)).toBe(0)
    }
    // Every connection still reaches the first server, which knows this key.
    for (let i = 0; i < 20; i++) expect((await call(first, 'GET', '/apikey/', owner.apikey.key)).status).toBe(200)
  })

  test('an address of no interface of this machine exits 1 with one line', async () => {
    // 203.0.113.0/24 is reserved for documentation (RFC 5737): no machine has it.
    const result = await serveExpectingExit(['--http', '203.0.113.1:8090', '--dir', freshDir()])
    expect(result.exitCode).toBe(1)
    expectOneLineError(result.stderr, /^codepushgo serve: cannot listen on 203\.0\.113\.1:8090: no network interface of this machine has that address\n$/)
  })
})

// ---- 4. graceful stop and durability -------------------------------------------------------

describe('binary: offline admin (user list, key list, key create, key revoke)', () => {
  test('an operator finds and revokes a leaked key while the server runs', async () => {
    const dir = await freshLocation()
    const alice = createUser(dir, 'alice@example.com')
    createUser(dir, 'bob@example.com')
    const users = runCli(['user', 'list', ...locationFlags(dir)])
    expect(users.exitCode).toBe(0)
    expect(JSON.parse(users.stdout).data.map((u: { email: string }) => u.email)).toEqual(['alice@example.com', 'bob@example.com'])

    const server = await serve(dir)
    const leaked = await call(server, 'POST', '/apikey/', alice.apikey.key, { name: 'leaked', mode: 'upload' })
    const listed = runCli(['key', 'list', '--email', 'ALICE@example.com', ...locationFlags(dir)])
    expect(listed.exitCode).toBe(0)
    const keys = JSON.parse(listed.stdout).data as { id: number; key: string; name: string }[]
    expect(keys.map((k) => k.name)).toEqual(['leaked', 'Admin key'])
    for (const k of keys) expect(k.key).toMatch(MASKED)
    expect(countKeys(listed.stdout)).toBe(0)

    // In use (so the server holds it in memory) until the revocation, refused after it. (That the
    // command waits until a server must have noticed is pinned in test/key-cache.test.ts.)
    expect((await call(server, 'GET', '/apikey/verify', leaked.json.apikey.key)).status).toBe(200)
    const revoked = runCli(['key', 'revoke', String(leaked.json.apikey.id), ...locationFlags(dir)])
    expect(revoked.exitCode).toBe(0)
    expect((await call(server, 'GET', '/apikey/verify', leaked.json.apikey.key)).status).toBe(401)
    expect((await call(server, 'GET', '/apikey/verify', alice.apikey.key)).status).toBe(200)
    expect(await server.stop()).toBe(0)
  })

  test.skipIf(onPostgres)('an operator gives a user a new key when all of theirs have expired (the lifetime policy)', async () => {
    const dir = freshDir()
    const policy = { CODEPUSHGO_MAX_KEY_LIFETIME_DAYS: '30' }
    const carol = JSON.parse(runCli(['user', 'create', '--email', 'carol@example.com', '--dir', dir], policy).stdout)
    const daysLeft = (expiresAt: string) => (Date.parse(expiresAt) - Date.now()) / 86_400_000
    expect(daysLeft(carol.apikey.expires_at)).toBeCloseTo(30, 2)
    const dave = JSON.parse(runCli(['user', 'create', '--email', 'dave@example.com', '--max-key-lifetime-days', '7', '--dir', dir]).stdout)
    expect(daysLeft(dave.apikey.expires_at)).toBeCloseTo(7, 2)
    const server = await serve(dir)
    // Expire carol's only key, as 30 days would: nothing she holds can make another.
    runSql(dir, `UPDATE apikeys SET expires_at = '2020-01-01T00:00:00.000Z' WHERE id = ${carol.apikey.id}`)
    // A write of another process: the server sees it by itself (within 100 ms, test/key-cache.test.ts).
    await waitFor('the server to see the expiry', async () => (await call(server, 'GET', '/apikey/verify', carol.apikey.key)).json.code === 'api_key_expired')

    const started = Date.now()
    // The flag, as serve was given it (the environment variable above works too).
    const created = runCli(['key', 'create', '--email', 'Carol@example.com', '--mode', 'write', '--name', 'laptop', '--max-key-lifetime-days', '30', '--dir', dir])
    expect(created.exitCode).toBe(0)
    const { apikey } = JSON.parse(created.stdout)
    expect(apikey).toMatchObject({ name: 'laptop', mode: 'write', user_id: carol.user.id, limited_to_apps: [], limited_to_orgs: [] })
    expect(apikey.key).toMatch(/^ak_[A-Za-z0-9]{36}$/)
    // The policy holds for the operator's keys too: 30 days from now.
    const lifetime = Date.parse(apikey.expires_at) - started
    expect(Math.abs(lifetime - 30 * 86_400_000)).toBeLessThan(60_000)
    const verified = await call(server, 'GET', '/apikey/verify', apikey.key)
    expect(verified.status).toBe(200)
    expect(verified.json.apikey.mode).toBe('write')
    // Audited in her log, by the operator (no key).
    const all = runCli(['key', 'create', '--email', 'carol@example.com', '--dir', dir])
    const admin = JSON.parse(all.stdout).apikey
    expect(admin).toMatchObject({ mode: 'all', name: 'CLI key', expires_at: null })
    const audit = await call(server, 'GET', '/audit/', admin.key)
    const creations = audit.json.data.filter((e: { action: string; actor_key_id: number | null }) => e.action === 'apikey.create' && e.actor_key_id === null)
    expect(creations.map((e: { target_id: string }) => Number(e.target_id))).toEqual(expect.arrayContaining([apikey.id, admin.id]))
    expect(audit.text).not.toContain(apikey.key)
    expect(await server.stop()).toBe(0)
  })

  test.skipIf(onPostgres)('a new --max-key-lifetime-days comes into force when serve first runs with it, and keeps its start across restarts', async () => {
    const dir = freshDir()
    const erin = JSON.parse(runCli(['user', 'create', '--email', 'erin@example.com', '--dir', dir]).stdout)
    expect(erin.apikey.expires_at).toBeNull()
    // The CLI follows the policy serve recorded.
    const expiryOf = () => JSON.parse(runCli(['key', 'list', '--email', 'erin@example.com', '--dir', dir]).stdout).data[0].expires_at
    const started = Date.now()
    const first = await serve(dir, ['--max-key-lifetime-days', '30'])
    const inForce = Date.parse(expiryOf()) - 30 * 86_400_000
    expect(inForce).toBeGreaterThanOrEqual(started - 1000)
    expect(inForce).toBeLessThanOrEqual(Date.now())
    const verified = await call(first, 'GET', '/apikey/verify', erin.apikey.key)
    expect(verified.json.apikey.expires_at).toBe(expiryOf())
    expect(await first.stop()).toBe(0)
    // The same maximum again: the same start, so a restart never extends a key's life.
    const second = await serve(dir, ['--max-key-lifetime-days', '30'])
    expect(Date.parse(expiryOf())).toBe(inForce + 30 * 86_400_000)
    expect(await second.stop()).toBe(0)
    // The CLI makes its keys within the recorded policy, without being told it.
    const made = JSON.parse(runCli(['key', 'create', '--email', 'erin@example.com', '--dir', dir]).stdout).apikey
    expect(Math.abs(Date.parse(made.expires_at) - Date.now() - 30 * 86_400_000)).toBeLessThan(60_000)
  })

  test.skipIf(onPostgres).each([
    [['key', 'create', '--dir', 'DIR'], /key create needs --email/, 2],
    [['key', 'create', '--email', 'nobody@example.com', '--dir', 'DIR'], /No user with email/, 1],
    [['key', 'create', '--email', 'nobody@example.com', '--mode', 'root', '--dir', 'DIR'], /--mode must be one of: read, upload, write, all/, 2],
    [['key', 'create', '--email', 'nobody@example.com', '--max-key-lifetime-days', '0', '--dir', 'DIR'], /--max-key-lifetime-days/, 2],
    [['key', 'revoke', '1', '--mode', 'read', '--dir', 'DIR'], /--mode is for key create only/, 2],
    [['key', 'list', '--email', 'a@example.com', '--name', 'x', '--dir', 'DIR'], /--name is for key create only/, 2],
    [['user', 'list', '--max-key-lifetime-days', '7', '--dir', 'DIR'], /--max-key-lifetime-days is for user create only/, 2],
    [['key', 'revoke', '999', '--dir', 'DIR'], /API key not found/, 1],
    [['key', 'revoke', 'abc', '--dir', 'DIR'], /positive integer/, 1],
    [['key', 'revoke', '--dir', 'DIR'], /needs the key id/, 2],
    [['key', 'list', '--dir', 'DIR'], /needs --email/, 2],
    [['key', 'list', '--email', 'nobody@example.com', '--dir', 'DIR'], /No user with email/, 1],
    [['user', 'delete', '--dir', 'DIR'], /unknown user command/, 2],
  ])('%p fails with one line', (args, message, code) => {
    const dir = freshDir()
    const result = runCli(args.map((a) => (a === 'DIR' ? dir : a)))
    expect(result.exitCode).toBe(code)
    expectOneLineError(result.stderr, message)
  })
})

describe('binary: graceful stop and restart', () => {
  test('SIGINT exits 0, and keys created or deleted before a restart stay so', async () => {
    const dir = await freshLocation()
    const admin = createUser(dir, 'restart@example.com').apikey.key
    const before = await serve(dir)
    const keep = (await call(before, 'POST', '/apikey/', admin, { name: 'survivor', mode: 'all' })).json.apikey
    const gone = (await call(before, 'POST', '/apikey/', admin, { name: 'doomed', mode: 'read' })).json.apikey
    expect((await call(before, 'DELETE', `/apikey/${gone.id}`, admin)).status).toBe(200)
    expect(await before.stop('SIGINT')).toBe(0)
    expect(before.stdout()).toContain('"signal":"SIGINT"')

    const after = await serve(dir)
    const list = await call(after, 'GET', '/apikey/', keep.key)
    expect(list.status).toBe(200)
    expect(list.json.data.map((key: { name: string }) => key.name).sort()).toEqual(['Admin key', 'survivor'])
    expect((await call(after, 'GET', '/apikey/', gone.key)).json.code).toBe('invalid_api_key')
    expect(await after.stop('SIGINT')).toBe(0)
  })
})

describe.skipIf(onPostgres)('binary: behind a reverse proxy (--trusted-proxies)', () => {
  const from = (server: RunningServer, path: string, auth: string, forwardedFor: string, init: RequestInit = {}) =>
    fetchChecked(server.url + path, { ...init, headers: { authorization: auth, 'x-forwarded-for': forwardedFor, 'content-type': 'application/json' } })

  test('a trusted proxy\'s X-Forwarded-For names the client: for the throttle, last use and the audit log', async () => {
    const dir = freshDir()
    const admin = createUser(dir, 'proxied@example.com').apikey
    const server = await serve(dir, ['--trusted-proxies', '127.0.0.1', '--auth-failure-limit', '2/3600'])
    const bad = 'ak_' + 'z'.repeat(36)
    // Each client has its own failure budget, though all come through the same proxy.
    const first = [await from(server, '/apikey/', bad, '203.0.113.1'), await from(server, '/apikey/', bad, '203.0.113.1'), await from(server, '/apikey/', bad, '203.0.113.1')]
    expect(first.map((r) => r.status)).toEqual([401, 401, 429])
    expect((await from(server, '/apikey/', bad, '203.0.113.2')).status).toBe(401)
    // A client cannot pick its address: only the hop the proxy appended counts.
    expect((await from(server, '/apikey/', bad, '198.51.100.9, 203.0.113.1')).status).toBe(429)
    // Last use and the audit log show the client, not the proxy.
    const created = await from(server, '/apikey/', admin.key, '203.0.113.5', { method: 'POST', body: JSON.stringify({ name: 'via proxy', mode: 'read' }) })
    expect(created.status).toBe(201)
    const audit = (await (await from(server, '/audit/?limit=1', admin.key, '203.0.113.5')).json()) as { data: { action: string; ip: string }[] }
    expect(audit.data[0]).toMatchObject({ action: 'apikey.create', ip: '203.0.113.5' })
    expect(await server.stop()).toBe(0) // writes the pending last use
    const row = new Database(join(dir, 'codepushgo.db'), { readonly: true }).query('SELECT last_used_ip FROM apikeys WHERE id = ?').get(admin.id)
    expect(row).toEqual({ last_used_ip: '203.0.113.5' })
  })

  test('without --trusted-proxies, X-Forwarded-For is ignored: the socket\'s peer is the client', async () => {
    const dir = freshDir()
    const admin = createUser(dir, 'direct@example.com').apikey
    const server = await serve(dir, ['--auth-failure-limit', '2/3600'])
    const bad = 'ak_' + 'z'.repeat(36)
    const statuses = []
    for (const address of ['203.0.113.1', '203.0.113.2', '203.0.113.3']) statuses.push((await from(server, '/apikey/', bad, address)).status)
    expect(statuses).toEqual([401, 401, 429])
    const created = await from(server, '/apikey/', admin.key, '203.0.113.5', { method: 'POST', body: JSON.stringify({ name: 'direct', mode: 'read' }) })
    expect(created.status).toBe(201)
    const audit = (await (await from(server, '/audit/?limit=1', admin.key, '203.0.113.5')).json()) as { data: { action: string; ip: string }[] }
    expect(audit.data[0]).toMatchObject({ action: 'apikey.create', ip: '127.0.0.1' })
    expect(await server.stop()).toBe(0)
  })

  test('a bad --trusted-proxies stops serve with one line', () => {
    const result = runCli(['serve', '--dir', freshDir(), '--http', '127.0.0.1:0', '--trusted-proxies', '127.0.0.1,proxy.local'])
    expect(result.exitCode).toBe(2)
    expectOneLineError(result.stderr, /invalid --trusted-proxies entry "proxy.local"/)
  })
})

describe('binary: last use', () => {
  test.skipIf(onPostgres)('written within one flush interval, with the client address, and kept across a restart', async () => {
    const dir = freshDir()
    const admin = createUser(dir, 'usage@example.com').apikey
    const server = await serve(dir, ['--usage-flush-seconds', '1'])
    expect((await call(server, 'GET', '/apikey/verify', admin.key)).status).toBe(200)
    await waitFor('last_used_at to be written', () => {
      const row = new Database(join(dir, 'codepushgo.db'), { readonly: true }).query('SELECT last_used_at FROM apikeys WHERE id = ?').get(admin.id) as { last_used_at: string | null }
      return row.last_used_at !== null
    })
    const listed = (await call(server, 'GET', `/apikey/${admin.id}`, admin.key)).json.apikey
    expect(listed.last_used_at).toMatch(/^\d{4}-/)
    expect(listed.last_used_ip).toBe('127.0.0.1')

    // A use just before SIGTERM is flushed at shutdown, not lost.
    await Bun.sleep(5)
    const lastUse = (await call(server, 'GET', '/apikey/verify', admin.key)).json.apikey.last_used_at
    expect(await server.stop()).toBe(0)
    const after = await serve(dir)
    const reloaded = (await call(after, 'GET', `/apikey/${admin.id}`, admin.key)).json.apikey
    expect(reloaded.last_used_at > (lastUse ?? '')).toBe(true)
    expect(await after.stop()).toBe(0)
  })

  test.skipIf(onPostgres)('usage counts: written within one flush interval, the last ones at shutdown, kept across a restart', async () => {
    const dir = freshDir()
    const admin = createUser(dir, 'counts@example.com').apikey
    const server = await serve(dir, ['--usage-flush-seconds', '1', '--usage-retention-days', '30'])
    for (let i = 0; i < 3; i++) expect((await call(server, 'GET', '/apikey/verify', admin.key)).status).toBe(200)
    const written = () =>
      (new Database(join(dir, 'codepushgo.db'), { readonly: true }).query('SELECT sum(allowed) AS n FROM key_usage_hourly WHERE key_id = ?').get(admin.id) as { n: number | null }).n
    await waitFor('usage counts to be written', () => written() === 3)
    // Requests just before SIGTERM are written at shutdown, not lost.
    expect((await call(server, 'GET', '/apikey/', admin.key)).status).toBe(200)
    expect((await call(server, 'GET', '/organization/', 'ak_' + 'x'.repeat(36))).status).toBe(401)
    expect(await server.stop()).toBe(0)
    expect(written()).toBe(4)
    const after = await serve(dir)
    const data = (await call(after, 'GET', `/apikey/${admin.id}/usage`, admin.key)).json.data as { allowed: number }[]
    expect(data.reduce((n, b) => n + b.allowed, 0)).toBe(4)
    expect(await after.stop()).toBe(0)
  })

  test('the audit log records the client address', async () => {
    const dir = await freshLocation()
    const admin = createUser(dir, 'ip@example.com').apikey
    const server = await serve(dir)
    await call(server, 'POST', '/apikey/', admin.key, { name: 'n', mode: 'read' })
    const events = (await call(server, 'GET', '/audit/?limit=1', admin.key)).json.data
    expect(events[0]).toMatchObject({ action: 'apikey.create', ip: '127.0.0.1', actor_key_id: admin.id })
    expect(await server.stop()).toBe(0)
  })
})

describe.skipIf(onPostgres)('binary: database work off the event loop', () => {
  /** A metric's value from /metrics. */
  const metric = async (server: RunningServer, name: string) => {
    const text = await (await fetch(`${server.url}/metrics`)).text()
    return Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1])
  }

  test('a Worker inside the binary checkpoints the WAL and counts keys; the server stops cleanly', async () => {
    const dir = freshDir()
    const admin = createUser(dir, 'worker@example.com').apikey
    const server = await serve(dir, ['--metrics'])
    for (let i = 0; i < 20; i++) expect((await call(server, 'POST', '/apikey/', admin.key, { name: `k${i}`, mode: 'read' })).status).toBe(201)
    let checkpoints = 0
    let keys = 0
    const deadline = Date.now() + 5000
    while ((checkpoints === 0 || keys !== 21) && Date.now() < deadline) {
      checkpoints = await metric(server, 'codepushgo_wal_checkpoints_total')
      keys = await metric(server, 'codepushgo_api_keys')
      await Bun.sleep(50)
    }
    expect(checkpoints).toBeGreaterThan(0)
    expect(keys).toBe(21)
    expect(await metric(server, 'codepushgo_event_loop_delay_max_seconds')).toBeGreaterThanOrEqual(0)
    expect(await server.stop()).toBe(0)
    expect(server.output()).not.toContain('"level":"error"')
  })

  test('--audit-retention-days deletes older events from the start, and keeps the rest', async () => {
    const dir = freshDir()
    const admin = createUser(dir, 'retention@example.com').apikey
    runSql(dir, "UPDATE audit_events SET at = '2000-01-01T00:00:00.000Z'")
    const server = await serve(dir, ['--audit-retention-days', '30'])
    expect((await call(server, 'POST', '/apikey/', admin.key, { name: 'kept', mode: 'read' })).status).toBe(201)
    const events = async () => ((await call(server, 'GET', '/audit/', admin.key)).json.data as { details: { name?: string } }[]).map((e) => e.details.name)
    const deadline = Date.now() + 5000
    while ((await events()).length > 1 && Date.now() < deadline) await Bun.sleep(20)
    expect(await events()).toEqual(['kept'])
    expect(await server.stop()).toBe(0)
  })
})
