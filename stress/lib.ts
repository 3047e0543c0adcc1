/**
 * Shared helpers of the stress tests (`npm run test:stress`). Not a test file: `bun test`
 * only picks up `*.test.ts`, and the stress files are named `*.stress.ts` so that plain
 * `npm test` never runs them either.
 */
import { Database } from 'bun:sqlite'
import { existsSync } from 'node:fs'
import { connect } from 'node:net'
import { join } from 'node:path'
import { BINARY, runCli } from '../test/helpers/binary'

export { Resources } from '../test/helpers/binary'

if (!existsSync(BINARY)) {
  throw new Error(`${BINARY} is missing: run \`npm run build\` first (\`npm run test:stress\` builds it for you)`)
}

export const KEY = /^ak_[0-9A-Za-z]{36}$/
/** What SQLite says when a writer gives up waiting for the lock. */
export const LOCKED = /SQLITE_BUSY|database is locked/i

/** `user create` through the CLI: a new user with an `all` key. */
export function createUser(dir: string, email: string): { userId: string; key: string; keyId: number } {
  const result = runCli(['user', 'create', '--email', email, '--dir', dir])
  if (result.exitCode !== 0) throw new Error(`user create failed (${result.exitCode}): ${result.stderr}`)
  const created = JSON.parse(result.stdout)
  return { userId: created.user.id, key: created.apikey.key, keyId: created.apikey.id }
}

/** `PRAGMA integrity_check` on the data dir's database; the server must be stopped. */
export function integrityCheck(dir: string): string {
  const db = new Database(join(dir, 'codepushgo.db'))
  try {
    const rows = db.query('PRAGMA integrity_check').all() as { integrity_check: string }[]
    return rows.map((row) => row.integrity_check).join('\n')
  } finally {
    db.close()
  }
}

/** Reads one row from the database while the server may still run (WAL lets readers in). */
export function readRow<T>(dir: string, sql: string, ...params: (string | number)[]): T | null {
  const db = new Database(join(dir, 'codepushgo.db'), { readonly: true })
  try {
    return db.query(sql).get(...params) as T | null
  } finally {
    db.close()
  }
}

export interface Answer {
  status: number
  text: string
  json: any
}

/** One HTTP request with a deadline, so a hung server fails the test instead of stalling it. */
export async function call(url: string, method: string, path: string, key?: string, body?: unknown, timeoutMs = 10_000): Promise<Answer> {
  const headers: Record<string, string> = {}
  if (key !== undefined) headers.authorization = key
  if (body !== undefined) headers['content-type'] = 'application/json'
  const response = await fetch(url + path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(timeoutMs),
  })
  const text = await response.text()
  let json: unknown = null
  try {
    json = JSON.parse(text)
  } catch {
    // left null: the caller asserts on it
  }
  return { status: response.status, text, json }
}

/** Runs `fn` over `items` with at most `width` calls in flight. */
export async function pool<T, R>(items: T[], width: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length)
  let next = 0
  await Promise.all(
    Array.from({ length: Math.min(width, items.length) }, async () => {
      while (next < items.length) {
        const i = next++
        results[i] = await fn(items[i]!)
      }
    }),
  )
  return results
}

export interface RawResponse {
  status: number
  headers: string
  body: string
}

/**
 * A POST over a raw socket whose body arrives slowly: the headers and `firstBytes` of the body
 * at once, the rest once `release` resolves. The request is then surely in flight on the
 * server (its handler is waiting for the body). Resolves with the parsed response, or rejects
 * when the connection ends without a complete one.
 */
export function slowPost(
  url: string,
  path: string,
  key: string,
  body: unknown,
  release: Promise<unknown>,
  firstBytes = 5,
): { sent: Promise<void>; response: Promise<RawResponse> } {
  const { hostname, port } = new URL(url)
  const payload = Buffer.from(JSON.stringify(body))
  let markSent!: () => void
  const sent = new Promise<void>((resolve) => (markSent = resolve))
  const response = new Promise<RawResponse>((resolve, reject) => {
    const socket = connect(Number(port), hostname, () => {
      socket.write(
        `POST ${path} HTTP/1.1\r\nHost: ${hostname}:${port}\r\nauthorization: ${key}\r\n` +
          `content-type: application/json\r\ncontent-length: ${payload.length}\r\nconnection: close\r\n\r\n`,
      )
      socket.write(payload.subarray(0, firstBytes), () => markSent())
      void release.then(() => {
        if (!socket.destroyed) socket.write(payload.subarray(firstBytes))
      })
    })
    socket.setTimeout(20_000, () => socket.destroy(new Error('slow POST: no answer within 20 s')))
    const chunks: Buffer[] = []
    socket.on('data', (chunk: Buffer) => chunks.push(chunk))
    socket.on('error', reject)
    socket.on('close', () => {
      const raw = Buffer.concat(chunks).toString()
      const split = raw.indexOf('\r\n\r\n')
      const status = /^HTTP\/1\.1 (\d{3}) /.exec(raw)?.[1]
      if (split < 0 || !status) return reject(new Error(`slow POST: incomplete response ${JSON.stringify(raw)}`))
      const headers = raw.slice(0, split)
      const rest = raw.slice(split + 4)
      const length = /\r\ncontent-length: *(\d+)/i.exec(headers)?.[1]
      if (length === undefined || Buffer.byteLength(rest) !== Number(length))
        return reject(new Error(`slow POST: truncated response ${JSON.stringify(raw)}`))
      resolve({ status: Number(status), headers, body: rest })
    })
  })
  return { sent, response }
}

/** Waits for the process to exit, or returns null after `ms`. */
export async function exitWithin(proc: { exited: Promise<number> }, ms: number): Promise<number | null> {
  return Promise.race([proc.exited, Bun.sleep(ms).then(() => null)])
}

/** The server's request log lines (JSON with a `method`), for checking statuses. */
export function requestLines(stdout: string): { method: string; route: string | null; status: number }[] {
  return stdout
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line))
    .filter((line) => 'method' in line)
}
