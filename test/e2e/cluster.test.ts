/**
 * Several instances, one truth (SPEC §11): two `serve` processes of the compiled binary on one
 * PostgreSQL database, behind a real nginx with the upstream block of README's "Running several
 * instances" (free ports swapped in). One instance reaches the database over TCP, the other over
 * the unix socket. Each test starts its own database, instances and nginx.
 *
 * The 100 ms bound is SPEC §11's, not a performance figure: it is timed from the writer's
 * answer to the other instance's first refusal, in a tight loop, and a try over it is tried
 * once more with a new change (see TRIES), since a machine with a load of 10 on two cores
 * stalls PostgreSQL or an instance for that long now and then.
 *
 * Skips with a notice when PostgreSQL or nginx is missing (fails when CI=true).
 */
import { afterEach, describe, expect, test } from 'bun:test'
import { existsSync, readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { BINARY, fetchChecked, runCli, startServer, type RunningServer } from '../helpers/binary'
import { replaceOnce, startNginx, type RunningNginx } from '../helpers/nginx'
import { freePort } from '../helpers/ports'
import { findPostgres, usePostgresCluster } from '../helpers/postgres'
import { findProgram } from '../helpers/system-program'
import { exitedWithin, waitFor } from '../helpers/wait'

const nginx = findProgram('nginx', ['/usr/sbin/nginx'])
const postgres = findPostgres()

const README = resolve(import.meta.dir, '../../README.md')

/** SPEC §11: a change made through any instance is in force on every instance within this. */
const CONVERGENCE_MS = 100

/** README's upstream example, pointed at this run's instances and port. */
function nginxBlock(listen: number, instances: RunningServer[]): string {
  const section = readFileSync(README, 'utf8').split('\n## Running several instances\n')[1]
  const block = section && /```nginx\n([\s\S]*?)```/.exec(section)?.[1]
  if (!block) throw new Error('README.md has no ```nginx block under "## Running several instances"')
  let http = replaceOnce(block, 'server 10.0.0.1:8090', `server ${new URL(instances[0]!.url).host}`, README)
  http = replaceOnce(http, 'server 10.0.0.2:8090', `server ${new URL(instances[1]!.url).host}`, README)
  return replaceOnce(http, 'listen 80;', `listen 127.0.0.1:${listen};`, README)
}

interface Answer {
  status: number
  json: any
}

/** One request; the answer is held to the served OpenAPI document. */
async function call(base: string, method: string, path: string, key?: string, body?: unknown): Promise<Answer> {
  const headers: Record<string, string> = {}
  if (key !== undefined) headers.authorization = key
  if (body !== undefined) headers['content-type'] = 'application/json'
  const response = await fetchChecked(base + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) })
  const text = await response.text()
  return { status: response.status, json: text ? JSON.parse(text) : null }
}

/** `call` that must answer `status`; resolves with the body. */
async function ok(base: string, method: string, path: string, key: string, body?: unknown, status = method === 'POST' ? 201 : 200): Promise<any> {
  const answer = await call(base, method, path, key, body)
  if (answer.status !== status) throw new Error(`${method} ${path} → ${answer.status} ${JSON.stringify(answer.json)}`)
  return answer.json
}

/**
 * A change through `base`, with a plain fetch (checking the answer against the document would
 * start the clock late): resolves with its status and the moment its answer arrived.
 */
async function change(base: string, method: string, path: string, key: string, body?: unknown): Promise<{ status: number; at: number }> {
  const headers: Record<string, string> = { authorization: key }
  if (body !== undefined) headers['content-type'] = 'application/json'
  const response = await fetch(base + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) })
  await response.arrayBuffer()
  return { status: response.status, at: performance.now() }
}

/**
 * Asks `base` for `path` with `key` in a tight loop until it answers `refusal`; resolves with
 * the milliseconds from `since` (the writer's answer) to that answer. Every earlier answer must
 * be 200: the old permission, still in force on that instance.
 */
async function msUntilRefused(base: string, path: string, key: string, refusal: number, since: number): Promise<number> {
  for (;;) {
    const response = await fetch(base + path, { headers: { authorization: key } })
    await response.arrayBuffer()
    const ms = performance.now() - since
    if (response.status === refusal) return ms
    if (response.status !== 200) throw new Error(`${path} answered ${response.status} while waiting for ${refusal}`)
    // Well past the bound: fail with the number instead of spinning until the test's timeout.
    if (ms > 20 * CONVERGENCE_MS) return ms
  }
}

/** A change to time: the key it concerns, what that key asks, what it gets once refused, and the change itself. */
interface TimedChange {
  key: string
  path: string
  refusal: number
  make(): Promise<{ status: number; at: number }>
}

/**
 * How many times a change is timed at most. A busy machine can stall a process past the bound
 * once; a mechanism that misses it misses it every time (a lost notification without the poll
 * takes seconds, every time): a second try with a new change tells the two apart.
 */
const TRIES = 2

/**
 * Times `prepare()`'s change: its key is used on every instance first (so that all hold it),
 * then the change is made, then each of `timed` is asked until it refuses the key. Tries again
 * with a new change while one took longer than the bound; resolves with the milliseconds of
 * each try (one number per timed instance).
 */
async function timeRefusal(instances: RunningServer[], timed: RunningServer[], prepare: () => Promise<TimedChange>): Promise<number[][]> {
  const tries: number[][] = []
  while (tries.length < TRIES) {
    const { key, path, refusal, make } = await prepare()
    for (const server of instances) expect((await call(server.url, 'GET', path, key)).status).toBe(200)
    const { status, at } = await make()
    if (status >= 300) throw new Error(`${path}: the change answered ${status}`)
    const times: number[] = []
    for (const server of timed) times.push(await msUntilRefused(server.url, path, key, refusal, at))
    tries.push(times)
    if (Math.max(...times) <= CONVERGENCE_MS) break
  }
  return tries
}

/** The tries whose last one still took longer than the bound (none, when the bound holds). */
const overBound = (measured: Record<string, number[][]>) =>
  Object.entries(measured).filter(([, tries]) => Math.max(...tries.at(-1)!) > CONVERGENCE_MS)

/** Milliseconds to one decimal, for the log. */
const rounded = (value: unknown) => JSON.stringify(value, (_, v) => (typeof v === 'number' ? Math.round(v * 10) / 10 : v))

/** The number of requests an instance answered on `route` with `status` (its /metrics). */
async function served(server: RunningServer, route: string, status: number): Promise<number> {
  const text = await (await fetch(`${server.url}/metrics`)).text()
  const line = text.split('\n').find((l) => l.includes(`route="${route}",status="${status}"`))
  return line ? Number(line.split(' ').at(-1)) : 0
}

describe.skipIf(!nginx || !postgres)('two instances on one PostgreSQL database behind nginx', () => {
  const cluster = usePostgresCluster(postgres)

  /** What the running test started, stopped after it whatever happened. */
  let running: { servers: RunningServer[]; proxy: RunningNginx | null } = { servers: [], proxy: null }
  afterEach(async () => {
    const { servers, proxy } = running
    running = { servers: [], proxy: null }
    await proxy?.stop()
    await Promise.all(
      servers.map(async (server) => {
        if (server.process.exitCode !== null || server.process.signalCode !== null) return
        server.process.kill('SIGTERM')
        if (!(await exitedWithin(server.process, 10_000))) server.process.kill('SIGKILL')
        await server.process.exited
      }),
    )
  })

  /**
   * A new database, two instances on it started together (one over TCP, one over the unix
   * socket), and nginx in front of both. `extraArgs` go to both instances, `argsOfA` to the first only.
   */
  async function startCluster(extraArgs: string[] = [], argsOfA: string[] = []) {
    if (!existsSync(BINARY)) throw new Error(`${BINARY} is missing: run \`npm run build\` first (\`npm test\` builds it for you)`)
    const databaseUrl = await cluster().createDatabase()
    const socketUrl = cluster().socketUrl(new URL(databaseUrl).pathname.slice(1))
    const args = ['--metrics', '--trusted-proxies', '127.0.0.1', ...extraArgs]
    const starting = [startServer({ databaseUrl }, [...args, ...argsOfA]), startServer({ databaseUrl: socketUrl }, args)]
    const settled = await Promise.allSettled(starting)
    for (const result of settled) if (result.status === 'fulfilled') running.servers.push(result.value)
    for (const result of settled) if (result.status === 'rejected') throw result.reason
    const [a, b] = running.servers as [RunningServer, RunningServer]
    const adminKey = (await Promise.any([a, b].map((server) => server.waitForOutput(/ak_[0-9A-Za-z]{36}/))))[0]
    const listen = freePort()
    const base = `http://127.0.0.1:${listen}`
    running.proxy = await startNginx(nginx!, nginxBlock(listen, [a, b]), `${base}/health`)
    // Exactly one of them made the first user and printed its key (stderr comes apart from the
    // "listening" line, long before nginx is up).
    expect([a, b].filter((server) => server.stderr().includes('first run'))).toHaveLength(1)
    return { a, b, base, adminKey, databaseUrl }
  }

  test('a revoked (through an instance or the CLI), disabled, rotated or re-scoped key, a demoted or removed member: refused by the other instance within 100 ms of the answer', async () => {
    const { a, b, adminKey, databaseUrl } = await startCluster()
    const orgId = (await ok(a.url, 'GET', '/organization/', adminKey)).data[0].id as string
    const measured: Record<string, number[][]> = {}
    const onB = (prepare: () => Promise<TimedChange>) => timeRefusal([a, b], [b], prepare)
    const newKey = async (name: string, mode = 'read') => (await ok(a.url, 'POST', '/apikey/', adminKey, { name, mode })).apikey as { id: number; key: string }
    /** A new key of `mode`, and `alter` made to it through `a`; its refusal is 401 on /apikey/verify unless said otherwise. */
    const keyChange = (alter: (id: number) => Promise<{ status: number; at: number }>, mode = 'read', path = '/apikey/verify', refusal = 401) =>
      async (): Promise<TimedChange> => {
        const { id, key } = await newKey(`timed ${mode}`, mode)
        return { key, path, refusal, make: () => alter(id) }
      }

    measured.revoke = await onB(keyChange((id) => change(a.url, 'DELETE', `/apikey/${id}`, adminKey)))
    // The CLI is a writer of its own: both instances are the other one.
    measured['CLI key revoke (a, b)'] = await timeRefusal([a, b], [a, b], keyChange(async (id) => {
      const { exitCode } = runCli(['key', 'revoke', String(id), '--database-url', databaseUrl])
      return { status: exitCode === 0 ? 200 : 500, at: performance.now() }
    }))
    measured.disable = await onB(keyChange((id) => change(a.url, 'PUT', `/apikey/${id}`, adminKey, { enabled: false })))
    measured.rotate = await onB(keyChange((id) => change(a.url, 'POST', `/apikey/${id}/rotate`, adminKey, {})))
    measured['re-scope'] = await onB(keyChange((id) => change(a.url, 'PUT', `/apikey/${id}`, adminKey, { mode: 'read' }), 'write', '/apikey/verify?mode=write', 403))

    // A second user (made by the CLI: a third writer on the database), member of the admin's org.
    const cli = runCli(['user', 'create', '--email', 'member@example.com', '--database-url', databaseUrl])
    expect(cli.exitCode).toBe(0)
    const member = (JSON.parse(cli.stdout) as { user: { id: string }; apikey: { key: string } })
    const membership = `/organization/${orgId}/members/${member.user.id}`
    let isMember = false
    const becomeMember = async (role: string) => {
      if (isMember) await ok(a.url, 'PUT', membership, adminKey, { role })
      else await ok(a.url, 'POST', `/organization/${orgId}/members`, adminKey, { email: 'member@example.com', role })
      isMember = true
    }
    // verify asked about the org answers the effective mode there: 403 once the role is too low or gone.
    measured.demote = await onB(async () => {
      await becomeMember('write')
      return { key: member.apikey.key, path: `/apikey/verify?mode=write&org_id=${orgId}`, refusal: 403, make: () => change(a.url, 'PUT', membership, adminKey, { role: 'read' }) }
    })
    measured['remove member'] = await onB(async () => {
      await becomeMember('read')
      isMember = false
      return { key: member.apikey.key, path: `/apikey/verify?mode=read&org_id=${orgId}`, refusal: 403, make: () => change(a.url, 'DELETE', membership, adminKey) }
    })

    console.info(`[cluster] refused by the other instance after (ms, per try): ${rounded(measured)}`)
    expect(overBound(measured)).toEqual([])
  })

  test('a rate limit of 10 a minute admits 10 across both instances, and the failed-auth throttle counts failures on both', async () => {
    const { a, b, base, adminKey } = await startCluster(['--auth-failure-limit', '5/60'])
    const limited = (await ok(a.url, 'POST', '/apikey/', adminKey, { name: 'limited', mode: 'read', rate_limit: { requests: 10, per_seconds: 60 } })).apikey

    // 40 through nginx, 8 at a time (the test nginx has 64 connections), which it sends to both instances in turn.
    const started = performance.now()
    const statuses: number[] = []
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        for (let i = 0; i < 5; i++) {
          const response = await fetch(`${base}/apikey/verify`, { headers: { authorization: limited.key } })
          await response.arrayBuffer()
          statuses.push(response.status)
        }
      }),
    )
    const elapsedMs = performance.now() - started
    const admitted = statuses.filter((s) => s === 200).length
    console.info(`[cluster] rate limit 10/60 s: ${admitted} of 40 admitted in ${Math.round(elapsedMs)} ms`)
    expect(statuses.filter((s) => s !== 200 && s !== 429)).toEqual([])
    // One shared bucket: exactly the limit (it refills one request every 6 s; slower, one more each 6 s).
    expect(admitted).toBeGreaterThanOrEqual(10)
    expect(admitted).toBeLessThanOrEqual(10 + Math.floor(elapsedMs / 6_000))
    // Both instances took part, and each refused some.
    for (const server of [a, b]) {
      expect(await served(server, '/apikey/verify', 200)).toBeGreaterThan(0)
      expect(await served(server, '/apikey/verify', 429)).toBeGreaterThan(0)
    }

    // Failed authentications from one address, to one instance then the other: 5 (the limit)
    // are 401s across both, then 429s.
    const failures: number[] = []
    for (let i = 0; i < 10; i++) {
      const server = i % 2 === 0 ? a : b
      failures.push((await call(server.url, 'GET', '/apikey/', `ak_${String(i).padStart(36, '0')}`)).status)
    }
    expect(failures).toEqual([401, 401, 401, 401, 401, 429, 429, 429, 429, 429])
    // A valid key still gets in from that address.
    expect((await call(b.url, 'GET', '/apikey/', adminKey)).status).toBe(200)
  })

  test('last use: each instance writes its own uses in batches, and the latest use wins on both', async () => {
    // a writes its uses only when it stops: after b has written its later one.
    const { a, b, adminKey } = await startCluster(['--usage-flush-seconds', '1'], ['--usage-flush-seconds', '3600'])
    const used = (await ok(a.url, 'POST', '/apikey/', adminKey, { name: 'used', mode: 'read' })).apikey
    const useFrom = async (server: RunningServer, ip: string) => {
      const response = await fetch(`${server.url}/apikey/verify`, { headers: { authorization: used.key, 'x-forwarded-for': ip } })
      expect(response.status).toBe(200)
    }
    await useFrom(a, '203.0.113.1')
    // The later use, a few milliseconds on (timestamps have millisecond precision).
    const before = Date.now()
    await waitFor('the clock to move on', () => Date.now() > before + 2)
    const later = new Date().toISOString()
    await useFrom(b, '203.0.113.2')
    // b's batch is written, and a hears of it.
    const latest = async (server: RunningServer) => (await ok(server.url, 'GET', `/apikey/${used.id}`, adminKey)).apikey
    for (const server of [a, b]) await waitFor(`${server.url} to show the latest use`, async () => (await latest(server)).last_used_ip === '203.0.113.2')
    // a's last flush writes its older use: it must not replace b's.
    expect(await a.stop()).toBe(0)
    const final = await latest(b)
    expect(final.last_used_ip).toBe('203.0.113.2')
    expect(final.last_used_at >= later).toBe(true)
  })

  test('kill -9 of one instance under write load: nginx fails over, and every acknowledged key is there', async () => {
    const { a, b, base, adminKey } = await startCluster()
    const acknowledged: { id: number; key: string; name: string }[] = []
    const statuses: Record<string, number> = {}
    /** Names of the requests that got 502: nginx had sent them to the killed instance. */
    const unknownOutcome: string[] = []
    let stop = false
    const workers = Array.from({ length: 4 }, async (_, worker) => {
      for (let i = 0; !stop; i++) {
        const name = `load ${worker}-${i}`
        let status: string
        try {
          const response = await fetch(`${base}/apikey/`, {
            method: 'POST',
            headers: { authorization: adminKey, 'content-type': 'application/json' },
            body: JSON.stringify({ name, mode: 'read' }),
          })
          const text = await response.text()
          status = String(response.status)
          if (response.status === 201) acknowledged.push(JSON.parse(text).apikey)
          if (response.status === 502) unknownOutcome.push(name)
        } catch (error) {
          status = (error as Error).message
        }
        statuses[status] = (statuses[status] ?? 0) + 1
      }
    })
    try {
      await waitFor('20 keys acknowledged', () => acknowledged.length >= 20)
      // b wrote some of them: its acknowledged writes are the ones a kill could lose.
      expect(await served(b, '/apikey/', 201)).toBeGreaterThan(0)
      b.process.kill('SIGKILL')
      await b.process.exited
      const atKill = acknowledged.length
      await waitFor('40 more keys acknowledged after the kill', () => acknowledged.length >= atKill + 40)
    } finally {
      stop = true
      await Promise.all(workers)
    }
    console.info(`[cluster] kill -9 under write load: answers ${JSON.stringify(statuses)}`)
    // A POST nginx had already sent to the killed instance is not sent again (it may have been
    // written): the client gets 502, one at most per request in flight. Nothing else fails.
    expect(Object.keys(statuses).filter((status) => status !== '201' && status !== '502')).toEqual([])
    expect(statuses['502'] ?? 0).toBeLessThanOrEqual(4)

    // Every acknowledged key is stored, and works, on the surviving instance.
    for (const { id, name } of acknowledged) {
      expect((await ok(a.url, 'GET', `/apikey/${id}`, adminKey)).apikey).toMatchObject({ id, name })
    }
    const verified = await Promise.all(acknowledged.map(async ({ key }) => (await fetch(`${a.url}/apikey/verify`, { headers: { authorization: key } })).status))
    expect(verified.filter((status) => status !== 200)).toEqual([])
    const stored = new Set((await ok(a.url, 'GET', '/apikey/?limit=1000', adminKey)).data.map((k: { name: string }) => k.name))
    console.info(`[cluster] ${acknowledged.length} acknowledged, all stored; of ${unknownOutcome.length} answered 502, ${unknownOutcome.filter((n) => stored.has(n)).length} were written`)
  })

  test('PostgreSQL stopped under load: 503 database_unavailable and /health 503 meanwhile, then both instances recover by themselves', async () => {
    const { a, b, base, adminKey } = await startCluster()
    const reader = (await ok(a.url, 'POST', '/apikey/', adminKey, { name: 'reader', mode: 'read' })).apikey
    for (const server of [a, b]) await ok(server.url, 'GET', '/apikey/verify', reader.key)

    /** Every answer the load got through nginx: request, status, error code, milliseconds, and the phase it was sent in. */
    const answers: { request: string; status: number; code?: string; ms: number; phase: string }[] = []
    let phase: 'up' | 'stopping' | 'down' | 'resuming' | 'resumed' | 'recovered' = 'up'
    const requests = [
      ['POST /apikey/', () => ({ method: 'POST', headers: { authorization: adminKey, 'content-type': 'application/json' }, body: '{"name":"load","mode":"read"}' })],
      ['GET /apikey/verify', () => ({ headers: { authorization: reader.key } })],
      ['GET /health', () => ({})],
    ] as const
    let stop = false
    const workers = Array.from({ length: 3 }, async (_, worker) => {
      for (let i = worker; !stop; i++) {
        const [request, init] = requests[i % requests.length]!
        const [started, sentIn] = [performance.now(), phase]
        const response = await fetch(base + request.split(' ')[1], init())
        const text = await response.text()
        const code = response.headers.get('content-type')?.includes('json') ? JSON.parse(text).code : undefined
        answers.push({ request, status: response.status, code, ms: performance.now() - started, phase: sentIn })
      }
    })
    const down = { health: [] as Answer[], write: [] as Answer[], unknownKey: [] as Answer[] }
    try {
      await waitFor('the load to get answers', () => answers.length >= 30)
      phase = 'stopping'
      await cluster().stop()
      phase = 'down'
      for (const server of [a, b]) {
        down.health.push(await call(server.url, 'GET', '/health'))
        down.write.push(await call(server.url, 'POST', '/apikey/', adminKey, { name: 'while down', mode: 'read' }))
        // A key neither instance has met must be looked up.
        down.unknownKey.push(await call(server.url, 'GET', '/apikey/verify', `ak_${'1'.repeat(36)}`))
      }
      down.write.push(await call(base, 'POST', '/apikey/', adminKey, { name: 'while down', mode: 'read' }))
      const outage = answers.length
      await waitFor('the load to meet the outage', () => answers.slice(outage).some((answer) => answer.status === 503))
      phase = 'resuming'
      await cluster().resume()
      phase = 'resumed'
      // Back by themselves, without a restart: each answers /health with 200 and writes.
      for (const server of [a, b]) {
        await waitFor(`${server.url} to answer /health with 200`, async () => (await fetch(`${server.url}/health`)).status === 200)
        await ok(server.url, 'POST', '/apikey/', adminKey, { name: 'after', mode: 'read' })
      }
      phase = 'recovered'
      const recovered = answers.length
      await waitFor('the load to get 201s again', () => answers.slice(recovered).some((answer) => answer.status === 201))
    } finally {
      stop = true
      await Promise.all(workers)
    }

    const unavailable = { error: 'The database is unavailable; retry later', status: 'KO', code: 'database_unavailable' }
    for (const answer of down.health) expect(answer).toEqual({ status: 503, json: { status: 'error', version: expect.any(String), db: 'error' } })
    for (const answer of [...down.write, ...down.unknownKey]) expect(answer).toEqual({ status: 503, json: unavailable })

    // Under load: 200 and 201 or a clear 503, never a 500, a 502 (a crash) or a hang.
    const tally: Record<string, number> = {}
    for (const { request, status, code, phase } of answers) {
      const seen = `${phase}: ${request} ${status}${code ? ` ${code}` : ''}`
      tally[seen] = (tally[seen] ?? 0) + 1
    }
    const slowest = Math.max(...answers.map((answer) => answer.ms))
    console.info(`[cluster] PostgreSQL stopped under load: ${JSON.stringify(tally)}; slowest answer ${Math.round(slowest)} ms`)
    const unexpected = answers.filter(({ request, status, code }) =>
      !(status === 200 || status === 201 || (status === 503 && (request === 'GET /health' || code === 'database_unavailable'))))
    expect(unexpected).toEqual([])
    expect(slowest).toBeLessThan(5_000) // the store's deadline: a stopped server refuses at once
    // Once both instances answered again, nothing is refused any more.
    expect(answers.filter((answer) => answer.phase === 'recovered' && answer.status >= 300)).toEqual([])
    for (const server of [a, b]) {
      expect(server.process.exitCode).toBeNull()
      expect(server.output()).not.toContain('internal_error')
    }

    // Changes converge again: a revoke through one is refused by the other within the bound (the
    // poll's doing while the other's LISTEN connection is still reconnecting).
    const revokes = await timeRefusal([a, b], [b], async () => {
      const { id, key } = (await ok(a.url, 'POST', '/apikey/', adminKey, { name: 'revoked after', mode: 'read' })).apikey
      return { key, path: '/apikey/verify', refusal: 401, make: () => change(a.url, 'DELETE', `/apikey/${id}`, adminKey) }
    })
    console.info(`[cluster] after the outage, a revoke was refused by the other instance after (ms, per try): ${rounded(revokes)}`)
    expect(overBound({ 'revoke after the outage': revokes })).toEqual([])
  })
})
