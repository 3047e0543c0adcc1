/**
 * The path served is the path requested, whatever the `Host` header (issue #17): requests
 * written byte for byte to the compiled binary with short, empty, IPv6, malformed or missing
 * Host headers, to every kind of route: static ones (which Bun's router serves), `/:id` ones,
 * the paths only Elysia's router knows (a trailing slash), unknown paths, `/metrics`, `/swagger`.
 * A proxy rule such as "block /metrics" must not be bypassed by `GET /xx/metrics`.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { existsSync } from 'node:fs'
import { BINARY, Resources, runCli, type RunningServer } from '../helpers/binary'
import { rawHttp } from '../helpers/raw-http'

if (!existsSync(BINARY)) {
  throw new Error(`${BINARY} is missing: run \`npm run build\` first (\`npm test\` builds it for you)`)
}

const resources = new Resources()
afterAll(() => resources.cleanup())

/** The request line's version and the Host header lines, by what is odd about them. */
const HOSTS: [label: string, version: '1.0' | '1.1', hostLines: string][] = [
  ['no Host at all (HTTP/1.0)', '1.0', ''],
  ['an empty Host', '1.1', 'Host: \r\n'],
  ['a 1-character Host', '1.1', 'Host: a\r\n'],
  ['a 2-character Host', '1.1', 'Host: ab\r\n'],
  ['a 3-character Host', '1.1', 'Host: abc\r\n'],
  ['an IPv6 Host', '1.1', 'Host: [::1]\r\n'],
  ['an IPv6 Host with a port', '1.1', 'Host: [::1]:8090\r\n'],
  ['a short Host with a port', '1.1', 'Host: ab:1\r\n'],
  ['a malformed Host', '1.1', 'Host: a/b\r\n'],
]

/**
 * Each request and the status it gets with an ordinary Host. `ID` stands for a key's id.
 * The `/aaaaaa/` and `/aaaaaaaaaa/` prefixes reach past the 7 and 11 characters a parser
 * that skips the scheme and a short host would skip in a bare path.
 */
const REQUESTS: [method: string, path: string, status: number][] = [
  ['GET', '/metrics', 200],
  ['GET', '/xx/metrics', 404],
  ['GET', '/aaaaaa/metrics', 404],
  ['GET', '/aaaaaaaaaa/metrics', 404],
  ['HEAD', '/health', 200],
  ['HEAD', '/xx/health', 404],
  ['GET', '/health/', 200],
  ['GET', '/xx/health', 404],
  ['GET', '/apikey/verify', 200],
  ['GET', '/xx/apikey/verify', 404],
  ['GET', '/apikey/', 200],
  ['GET', '/apikey/ID', 200],
  ['GET', '/apikey/ID/', 200],
  ['GET', '/xx/apikey/ID', 404],
  // The query is read where it is: a mode off the scale is a 400, not ignored.
  ['GET', '/apikey?mode=bogus/aaaaaaaaaa', 400],
  ['GET', '/swagger', 200],
  ['GET', '/x/swagger', 404],
  ['GET', '/nope', 404],
]

describe('binary: the path served is the path requested, whatever the Host header', () => {
  let server: RunningServer
  let key: string
  let keyId: number

  beforeAll(async () => {
    const dir = resources.dir('codepushgo-path-')
    const created = runCli(['user', 'create', '--email', 'path@example.com', '--dir', dir])
    expect(created.exitCode).toBe(0)
    ;({ key, id: keyId } = JSON.parse(created.stdout).apikey)
    server = await resources.serve(dir, ['--metrics'])
  })

  const send = (method: string, path: string, version: string, hostLines: string, body = '') =>
    rawHttp(
      server.url,
      `${method} ${path.replace('ID', String(keyId))} HTTP/${version}\r\n${hostLines}authorization: ${key}\r\nConnection: close\r\n` +
        (body === '' ? '' : `content-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n`) +
        `\r\n${body}`,
    )

  test.each(REQUESTS)('with an ordinary Host, %s %s is %d', async (method, path, status) => {
    const answer = await send(method, path, '1.1', `Host: ${new URL(server.url).host}\r\n`)
    expect(answer.status).toBe(status)
  })

  describe.each(HOSTS)('with %s', (_label, version, hostLines) => {
    test.each(REQUESTS)('%s %s is %d', async (method, path, status) => {
      const answer = await send(method, path, version, hostLines)
      expect(answer.status).toBe(status)
      if (status === 404) expect(answer.body).not.toContain('codepushgo_http_requests_total')
    })

    test('POST /apikey/ takes its body, and the audit log names the client', async () => {
      const body = JSON.stringify({ name: `raw ${hostLines.trim() || 'none'}`, mode: 'read' })
      const answer = await send('POST', '/apikey/', version, hostLines, body)
      expect(answer.status).toBe(201)
      const created = JSON.parse(answer.body).apikey
      expect(created.name).toBe(JSON.parse(body).name)
      const audit = await fetch(`${server.url}/audit/?limit=1`, { headers: { authorization: key } })
      const [event] = ((await audit.json()) as { data: unknown[] }).data
      expect(event).toMatchObject({ action: 'apikey.create', target_id: String(created.id), ip: '127.0.0.1' })
    })
  })

  test('an HTTP/1.1 request without Host is refused by Bun\'s parser (400), never served', async () => {
    for (const path of ['/metrics', '/xx/metrics', '/apikey/verify']) {
      const answer = await send('GET', path, '1.1', '')
      expect(answer.status).toBe(400)
      expect(answer.body).toBe('')
    }
  })
})
