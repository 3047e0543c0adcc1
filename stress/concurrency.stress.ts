/**
 * Concurrent writers on one server: 4 client processes × 50 concurrent creates, then two
 * processes deleting the same 200 ids at once, while `codepushgo user create` / `key revoke`
 * (the offline admin CLI) write to the same database from other processes and the usage
 * flusher writes every second. Every create succeeds with a unique id, every id is deleted
 * exactly once, and nothing ever answers 5xx or reports SQLITE_BUSY / "database is locked".
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { resolve } from 'node:path'
import { BINARY, type RunningServer } from '../test/helpers/binary'
import { call, createUser, integrityCheck, KEY, LOCKED, requestLines, Resources } from './lib'

const CLIENT = resolve(import.meta.dir, 'client.ts')
const CREATORS = 4
const CREATES_PER_CLIENT = 50

if (!process.versions.bun) throw new Error('run with bun: the client processes are started with process.execPath')

interface Outcome {
  id: number | null
  status: number
  key?: string
  text?: string
}

const resources = new Resources()
const processes: Bun.Subprocess[] = []
afterAll(() => {
  for (const proc of processes) if (proc.exitCode === null) proc.kill('SIGKILL')
  resources.cleanup()
})

async function within<T>(what: string, ms: number, promise: Promise<T>): Promise<T> {
  let timer: Timer | undefined
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`timed out: ${what}`)), ms)))
  try {
    return await Promise.race([promise, timeout])
  } finally {
    clearTimeout(timer)
  }
}

/** Starts stress/client.ts in its own bun process; it fires when `go` is called. */
function spawnClient(args: string[]) {
  const proc = Bun.spawn([process.execPath, CLIENT, ...args], { stdin: 'pipe', stdout: 'pipe', stderr: 'pipe' })
  processes.push(proc)
  let out = ''
  let markReady!: () => void
  const ready = new Promise<void>((r) => (markReady = r))
  const drained = (async () => {
    const decoder = new TextDecoder()
    for await (const chunk of proc.stdout) {
      out += decoder.decode(chunk, { stream: true })
      if (out.startsWith('ready\n')) markReady()
    }
  })()
  const stderr = new Response(proc.stderr).text()
  return {
    ready: within('a client process to start', 15_000, ready),
    go(line = '') {
      proc.stdin.write(`${line}\n`)
      void proc.stdin.end()
    },
    async result(): Promise<Outcome[]> {
      const code = await within('a client process to finish', 30_000, proc.exited)
      await drained
      if (code !== 0) throw new Error(`client exited ${code}: ${await stderr}`)
      return JSON.parse(out.trimEnd().split('\n').at(-1)!)
    },
  }
}

/** A CLI command run alongside the load (a separate writer process on the same database). */
function spawnCli(args: string[]) {
  const proc = Bun.spawn([BINARY, ...args], { stdout: 'pipe', stderr: 'pipe' })
  processes.push(proc)
  return (async () => {
    const [stdout, stderr] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text()])
    return { args, exitCode: await within(`codepushgo ${args.join(' ')}`, 30_000, proc.exited), stdout, stderr }
  })()
}

describe('concurrency: separate client processes against one server', () => {
  let dir: string
  let admin: ReturnType<typeof createUser>
  let server: RunningServer
  let created: Outcome[] = []

  beforeAll(async () => {
    dir = resources.dir('codepushgo-concurrency-')
    admin = createUser(dir, 'concurrency@example.com')
    server = await resources.serve(dir, ['--usage-flush-seconds', '1'])
  })

  test(`${CREATORS} processes × ${CREATES_PER_CLIENT} concurrent creates: all 201, all ids unique`, async () => {
    // A key for the CLI to revoke while the load runs.
    const victim = await call(server.url, 'POST', '/apikey/', admin.key, { name: 'revoked by the CLI', mode: 'read' })
    expect(victim.status).toBe(201)

    const clients = Array.from({ length: CREATORS }, () => spawnClient(['create', server.url, admin.key, String(CREATES_PER_CLIENT)]))
    await Promise.all(clients.map((client) => client.ready))
    for (const client of clients) client.go()
    const cli = [
      spawnCli(['user', 'create', '--email', 'cli-1@example.com', '--dir', dir]),
      spawnCli(['user', 'create', '--email', 'cli-2@example.com', '--dir', dir]),
      spawnCli(['key', 'revoke', String(victim.json.apikey.id), '--dir', dir]),
      spawnCli(['user', 'create', '--email', 'cli-3@example.com', '--dir', dir]),
    ]
    const results = await Promise.all(clients.map((client) => client.result()))
    created = results.flat()

    expect(created).toHaveLength(CREATORS * CREATES_PER_CLIENT)
    expect(created.filter((o) => o.status !== 201)).toEqual([])
    for (const o of created) expect(o.key).toMatch(KEY)
    expect(new Set(created.map((o) => o.id)).size).toBe(CREATORS * CREATES_PER_CLIENT)
    expect(new Set(created.map((o) => o.key)).size).toBe(CREATORS * CREATES_PER_CLIENT)

    for (const run of await Promise.all(cli)) {
      expect(run.stderr).not.toMatch(LOCKED)
      expect({ args: run.args, exitCode: run.exitCode, stderr: run.stderr }).toEqual({ args: run.args, exitCode: 0, stderr: '' })
    }
    // The server sees the CLI's revocation at once.
    expect((await call(server.url, 'GET', '/apikey/verify', victim.json.apikey.key)).status).toBe(401)

    const list = await call(server.url, 'GET', '/apikey/?limit=1000', admin.key)
    expect(list.status).toBe(200)
    const listed = new Set(list.json.data.map((key: { id: number }) => key.id))
    expect(listed.size).toBe(CREATORS * CREATES_PER_CLIENT + 1) // + the admin key
    for (const o of created) expect(listed.has(o.id)).toBe(true)
  })

  test('two processes delete the same ids at once: each id is deleted exactly once', async () => {
    expect(created).toHaveLength(CREATORS * CREATES_PER_CLIENT) // the previous test ran
    const ids = created.map((o) => o.id!)
    const deleters = [spawnClient(['delete', server.url, admin.key]), spawnClient(['delete', server.url, admin.key])]
    await Promise.all(deleters.map((client) => client.ready))
    for (const client of deleters) client.go(JSON.stringify(ids))
    const [first, second] = await Promise.all(deleters.map((client) => client.result()))

    const wrong: string[] = []
    for (const [i, id] of ids.entries()) {
      const a = first![i]!
      const b = second![i]!
      expect([a.id, b.id]).toEqual([id, id])
      const statuses = [a.status, b.status].sort()
      if (statuses[0] !== 200 || statuses[1] !== 404) wrong.push(`id ${id}: ${a.status} ${a.text} / ${b.status} ${b.text}`)
    }
    expect(wrong).toEqual([])
    for (const o of [...first!, ...second!]) {
      if (o.status === 200) expect(JSON.parse(o.text!)).toEqual({ success: true })
      else expect(JSON.parse(o.text!)).toMatchObject({ status: 'KO', code: 'not_found' })
    }

    const list = await call(server.url, 'GET', '/apikey/?limit=1000', admin.key)
    expect(list.json.data.map((key: { id: number }) => key.id)).toEqual([admin.keyId])
    const audit = await call(server.url, 'GET', '/audit/?limit=1000', admin.key)
    expect(audit.status).toBe(200)
    const deletes = audit.json.data.filter((event: { action: string }) => event.action === 'apikey.delete')
    expect(deletes).toHaveLength(ids.length)
  })

  test('never a 5xx or a locked database, in any answer or in the server output; the database is intact', async () => {
    expect(await server.stop('SIGTERM')).toBe(0)
    expect(server.output()).not.toMatch(LOCKED)
    const lines = requestLines(server.stdout())
    // 1 + 200 creates, 400 deletes, and the checks in between.
    expect(lines.length).toBeGreaterThanOrEqual(601)
    expect(lines.filter((line) => line.status >= 500)).toEqual([])
    expect(integrityCheck(dir)).toBe('ok')
  })
})
