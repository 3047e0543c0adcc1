/**
 * Graceful shutdown of `serve` (README: "in-flight requests finish, pending last-use times are
 * written, the database is checkpointed and closed; a second signal forces the exit").
 *
 * To have requests surely in flight when the signal lands, some POSTs send their headers and
 * the first bytes of the body, and the rest only after the SIGTERM: the server is then inside
 * their handlers, waiting for the body.
 */
import { afterAll, describe, expect, test } from 'bun:test'
import { connect } from 'node:net'
import {
  call,
  createUser,
  exitWithin,
  integrityCheck,
  KEY,
  readRow,
  requestLines,
  Resources,
  slowPost,
  type RawResponse,
} from './lib'

const resources = new Resources()
afterAll(() => resources.cleanup())

interface Acked {
  id: number
  key: string
}

/** A 201 with a complete, valid JSON body and a full key; anything else is a broken answer. */
function expectCreated(status: number, text: string): Acked {
  expect({ status, text }).toMatchObject({ status: 201 })
  const body = JSON.parse(text)
  expect(body.apikey.key).toMatch(KEY)
  expect(Number.isInteger(body.apikey.id)).toBe(true)
  return { id: body.apikey.id, key: body.apikey.key }
}

describe('shutdown: SIGTERM under load', () => {
  test('in-flight requests finish with complete answers, exit 0, acknowledged keys survive', async () => {
    const dir = resources.dir('codepushgo-shutdown-')
    const admin = createUser(dir, 'shutdown@example.com')
    const server = await resources.serve(dir)

    // 10 POSTs whose bodies are held back until after the SIGTERM.
    let release!: () => void
    const released = new Promise<void>((r) => (release = r))
    const slow = Array.from({ length: 10 }, (_, i) => slowPost(server.url, '/apikey/', admin.key, { name: `slow ${i}`, mode: 'read' }, released))
    await Promise.all(slow.map((s) => s.sent))
    await Bun.sleep(100) // the server has read their headers and entered the handlers

    // And 20 concurrent loops of ordinary POSTs, still going when the signal lands; at most 45
    // each, so that a fast server stays under the 1000 keys a user may have.
    let signalled = false
    const fast = { answers: [] as { status: number; text: string; afterSignal: boolean }[], errors: [] as string[] }
    const loops = Array.from({ length: 20 }, async (_, n) => {
      for (let i = 0; !signalled && i < 45; i++) {
        try {
          const res = await call(server.url, 'POST', '/apikey/', admin.key, { name: `fast ${n}.${i}`, mode: 'read' })
          fast.answers.push({ status: res.status, text: res.text, afterSignal: signalled })
        } catch (error) {
          // None expected: the server drains (answering with Connection: close) before it stops.
          fast.errors.push(String((error as { code?: string }).code ?? (error as Error).name))
        }
      }
    })
    // The load is in full swing: a few answers in, most of the loops' requests still to come.
    while (fast.answers.length < 100) await Bun.sleep(5)
    server.process.kill('SIGTERM')
    signalled = true

    // The shutdown waits for the held-back requests.
    expect(await exitWithin(server.process, 300)).toBeNull()
    release()
    const answers = await Promise.all(slow.map((s) => s.response))
    await Promise.all(loops)
    expect(await exitWithin(server.process, 10_000)).toBe(0)
    await server.stop() // collects the rest of its output (already exited)

    // Every request in flight at the signal got its answer: none hung, none was reset.
    expect(fast.errors).toEqual([])
    const fastAcked = fast.answers.map((a) => expectCreated(a.status, a.text))
    expect(fastAcked.length).toBeGreaterThan(0)
    const acked = [...answers.map((a: RawResponse) => expectCreated(a.status, a.body)), ...fastAcked]
    // Each acknowledged request was logged before the exit.
    const logged = requestLines(server.stdout()).filter((line) => line.method === 'POST' && line.status === 201)
    expect(logged.length).toBeGreaterThanOrEqual(acked.length)
    expect(server.stdout().trimEnd().split('\n').at(-1)).toContain('"msg":"stopped"')

    const again = await resources.serve(dir)
    for (const ack of acked) {
      expect((await call(again.url, 'GET', `/apikey/${ack.id}/`, admin.key)).status).toBe(200)
      expect((await call(again.url, 'GET', '/apikey/verify', ack.key)).status).toBe(200)
    }
    expect(await again.stop()).toBe(0)
    expect(integrityCheck(dir)).toBe('ok')
  })

  test('a request already written on a keep-alive connection is answered, not reset', async () => {
    const dir = resources.dir('codepushgo-shutdown-')
    const admin = createUser(dir, 'keepalive@example.com')
    const server = await resources.serve(dir)
    const { port } = new URL(server.url)
    const request = (i: number) => {
      const body = JSON.stringify({ name: `keep-alive ${i}`, mode: 'read' })
      return `POST /apikey/ HTTP/1.1\r\nHost: 127.0.0.1\r\nauthorization: ${admin.key}\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\n\r\n${body}`
    }
    /** A keep-alive connection that has answered one POST; `second()` writes another and resolves to what came back. */
    const connections = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        new Promise<{ second: () => Promise<string> }>((ready, fail) => {
          let raw = ''
          let onSecond: ((text: string) => void) | undefined
          const socket = connect(Number(port), '127.0.0.1', () => socket.write(request(i)))
          socket.setEncoding('utf8')
          socket.on('error', (error) => (onSecond ? onSecond(`error ${(error as { code?: string }).code}`) : fail(error)))
          socket.on('data', (chunk: string) => {
            raw += chunk
            const answers = raw.split('HTTP/1.1 ').length - 1
            if (answers === 1 && !onSecond && /\r\n\r\n\{.*\}$/s.test(raw)) {
              ready({
                second: () =>
                  new Promise<string>((resolve) => {
                    onSecond = resolve
                    raw = ''
                    socket.write(request(100 + i))
                  }),
              })
            } else if (onSecond && /\r\n\r\n\{.*\}$/s.test(raw)) onSecond(raw)
          })
          socket.on('close', () => onSecond?.(raw || 'closed without an answer'))
        }),
      ),
    )
    // Busy the server, write the second requests, and signal at once.
    const busy = Array.from({ length: 20 }, (_, n) => call(server.url, 'POST', '/apikey/', admin.key, { name: `busy ${n}`, mode: 'read' }))
    const seconds = connections.map((c) => c.second())
    server.process.kill('SIGTERM')
    const answers = await Promise.all(seconds)
    await Promise.all(busy)
    // Answered, whether before the signal was handled or during the drain (then with
    // Connection: close); never reset.
    for (const answer of answers) expect(answer).toStartWith('HTTP/1.1 201')
    expect(await exitWithin(server.process, 10_000)).toBe(0)
  })

  test('pending last_used_at is written at shutdown, not only by the periodic flush', async () => {
    const dir = resources.dir('codepushgo-shutdown-')
    const user = createUser(dir, 'last-use@example.com')
    const server = await resources.serve(dir, ['--usage-flush-seconds', '3600'])
    const before = new Date().toISOString()
    expect((await call(server.url, 'GET', '/apikey/verify', user.key)).status).toBe(200)
    await Bun.sleep(200)
    const sql = 'SELECT last_used_at, last_used_ip FROM apikeys WHERE id = ?'
    // Only in memory so far: the next periodic flush is an hour away.
    expect(readRow(dir, sql, user.keyId)).toEqual({ last_used_at: null, last_used_ip: null })

    expect(await server.stop('SIGTERM')).toBe(0)
    const row = readRow<{ last_used_at: string; last_used_ip: string }>(dir, sql, user.keyId)!
    expect(row.last_used_ip).toBe('127.0.0.1')
    expect(row.last_used_at >= before).toBe(true)

    const again = await resources.serve(dir, ['--usage-flush-seconds', '3600'])
    const seen = await call(again.url, 'GET', `/apikey/${user.keyId}/`, user.key)
    expect(seen.json.apikey).toMatchObject({ last_used_at: row.last_used_at, last_used_ip: '127.0.0.1' })
    expect(await again.stop()).toBe(0)
    expect(integrityCheck(dir)).toBe('ok')
  })
})

describe('shutdown: a second signal forces the exit', () => {
  test('while a request holds the graceful shutdown, a second SIGTERM exits at once with 1', async () => {
    const dir = resources.dir('codepushgo-shutdown-')
    const admin = createUser(dir, 'second-signal@example.com')
    const server = await resources.serve(dir)
    const kept = await call(server.url, 'POST', '/apikey/', admin.key, { name: 'before the signals', mode: 'read' })
    const ack = expectCreated(kept.status, kept.text)

    // A request whose body never comes: the graceful shutdown waits for it.
    const stuck = slowPost(server.url, '/apikey/', admin.key, { name: 'stuck', mode: 'read' }, new Promise(() => {}))
    await stuck.sent
    void stuck.response.catch(() => {}) // its connection dies with the process
    await Bun.sleep(100)

    server.process.kill('SIGTERM')
    expect(await exitWithin(server.process, 500)).toBeNull() // still waiting for the stuck request
    const second = performance.now()
    server.process.kill('SIGTERM')
    expect(await exitWithin(server.process, 3000)).toBe(1)
    const forcedMs = performance.now() - second
    await server.stop()
    expect(server.stdout()).toContain('"msg":"second signal, exiting now"')
    expect(server.stdout()).not.toContain('"msg":"stopped"')

    expect(integrityCheck(dir)).toBe('ok')
    const again = await resources.serve(dir)
    expect((await call(again.url, 'GET', '/apikey/verify', ack.key)).status).toBe(200)
    expect(await again.stop()).toBe(0)
    console.log(`shutdown: second SIGTERM ended the process ${Math.round(forcedMs)} ms after it was sent`)
  })

  test('two SIGTERMs in quick succession under load end the process promptly (exit 0 or 1) and leave the database intact', async () => {
    const dir = resources.dir('codepushgo-shutdown-')
    const admin = createUser(dir, 'double@example.com')
    const server = await resources.serve(dir)
    let stop = false
    const loops = Array.from({ length: 8 }, async () => {
      while (!stop) await call(server.url, 'POST', '/apikey/', admin.key, { name: 'load', mode: 'read' }).catch(() => (stop = true))
    })
    await Bun.sleep(100)
    // Two kill() calls in a row would be merged by the kernel into one pending SIGTERM: send the
    // second as soon as the server has logged that the first one started the shutdown.
    server.process.kill('SIGTERM')
    const sent = performance.now()
    while (!server.stdout().includes('"msg":"shutting down"') && server.process.exitCode === null && performance.now() - sent < 3000)
      await Bun.sleep(1)
    server.process.kill('SIGTERM')
    const code = await exitWithin(server.process, 3000)
    const endedMs = Math.round(performance.now() - sent)
    stop = true
    await Promise.all(loops)
    // 1 when the second signal lands before the graceful shutdown is done, 0 when it was done.
    expect([0, 1] as (number | null)[]).toContain(code)
    await server.stop()
    const forced = server.stdout().includes('"msg":"second signal, exiting now"')
    if (forced) expect(code).toBe(1)
    if (code === 0) expect(server.stdout()).toContain('"msg":"stopped"')
    expect(integrityCheck(dir)).toBe('ok')
    console.log(`shutdown: two SIGTERMs in quick succession under load → exit code ${code} after ${endedMs} ms${forced ? ' (forced)' : ' (graceful finished first)'}`)
  })
})
