/**
 * nginx `auth_request` in front of the compiled binary (SPEC §7, GET /apikey/verify): the nginx
 * block of docs/nginx-auth-request.md, with free ports swapped in, runs in a real nginx between
 * a client and a tiny upstream. Skips with a notice when nginx is missing (fails when CI=true).
 */
import { testLocation } from '../helpers/backend'
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { existsSync, readFileSync, rmSync } from 'node:fs'
import { resolve } from 'node:path'
import { BINARY, fetchChecked, startServer, tempDir, type RunningServer } from '../helpers/binary'
import { replaceOnce, startNginx, type RunningNginx } from '../helpers/nginx'
import { freePort } from '../helpers/ports'
import { findProgram } from '../helpers/system-program'

const nginx = findProgram('nginx', ['/usr/sbin/nginx'])

const DOC = resolve(import.meta.dir, '../../docs/nginx-auth-request.md')

/** The documented nginx block, pointed at this run's ports. */
function nginxBlock(ports: { listen: number; codepushgo: number; backend: number }): string {
  const block = /```nginx\n([\s\S]*?)```/.exec(readFileSync(DOC, 'utf8'))?.[1]
  if (!block) throw new Error('docs/nginx-auth-request.md has no ```nginx block')
  let http = replaceOnce(block, 'server 127.0.0.1:8090;', `server 127.0.0.1:${ports.codepushgo};`, DOC)
  http = replaceOnce(http, 'server 127.0.0.1:3000;', `server 127.0.0.1:${ports.backend};`, DOC)
  return replaceOnce(http, 'listen 80;', `listen 127.0.0.1:${ports.listen};`, DOC)
}

describe.skipIf(!nginx)('nginx auth_request in front of the binary', () => {
  let dataDir: string | undefined
  let server: RunningServer | undefined
  let backend: ReturnType<typeof Bun.serve> | undefined
  let proxy: RunningNginx | undefined
  let base = ''
  /** Every request the backend got, as "METHOD path?query". */
  const reached: string[] = []

  let adminKey = ''
  let userId = ''
  let readKey = ''
  let readKeyId = 0
  let uploadKey = ''
  let uploadKeyId = 0
  let appUploadKey = ''

  /** A request through nginx; `auth` is the raw authorization header value. */
  async function get(path: string, auth?: string, init: RequestInit = {}) {
    const headers = new Headers(init.headers)
    if (auth !== undefined) headers.set('authorization', auth)
    const response = await fetch(base + path, { ...init, headers })
    return { status: response.status, text: await response.text() }
  }

  /** A request straight to codepushgo with the bootstrap `all` key. */
  async function api(method: string, path: string, body?: unknown): Promise<any> {
    const response = await fetchChecked(server!.url + path, {
      method,
      headers: { authorization: adminKey, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    })
    const json = await response.json()
    if (!response.ok) throw new Error(`${method} ${path} → ${response.status} ${JSON.stringify(json)}`)
    return json
  }

  async function createKey(name: string, mode: string, extra: Record<string, unknown> = {}) {
    const { apikey } = await api('POST', '/apikey/', { name, mode, ...extra })
    return apikey as { id: number; key: string; user_id: string; mode: string }
  }

  /** What the backend echoes for a request that got through. */
  const echo = (path: string, keyId: number | string, mode: string, method = 'GET') =>
    `upstream ${method} ${path} user=${userId} key=${keyId} mode=${mode}`

  /** Asserts `path` never reached the backend (nginx stopped it). */
  const notReached = (path: string) => expect(reached.filter((line) => line.split(' ')[1] === path)).toEqual([])

  beforeAll(async () => {
    if (!existsSync(BINARY)) throw new Error(`${BINARY} is missing: run \`npm run build\` first (\`npm test\` builds it for you)`)

    server = await startServer(await testLocation(() => (dataDir = tempDir('codepushgo-nginx-data-'))))
    adminKey = (await server.waitForOutput(/ak_[0-9A-Za-z]{36}/))[0]

    const read = await createKey('nginx read', 'read')
    const upload = await createKey('nginx upload', 'upload')
    ;[readKey, readKeyId, uploadKey, uploadKeyId, userId] = [read.key, read.id, upload.key, upload.id, read.user_id]

    // Two apps in the bootstrap org, and an upload key limited to the first one.
    const orgId = (await api('GET', '/organization/')).data[0].id
    await api('POST', '/app/', { app_id: 'com.example.one', name: 'One', org_id: orgId })
    await api('POST', '/app/', { app_id: 'com.example.two', name: 'Two', org_id: orgId })
    appUploadKey = (await createKey('nginx app upload', 'upload', { limited_to_apps: ['com.example.one'] })).key

    backend = Bun.serve({
      hostname: '127.0.0.1',
      port: 0,
      async fetch(req) {
        const url = new URL(req.url)
        reached.push(`${req.method} ${url.pathname}${url.search}`)
        // Read the whole body before answering: answering first and closing would cut nginx off mid-upload.
        const body = await req.text()
        const h = req.headers
        return new Response(
          `upstream ${req.method} ${url.pathname} user=${h.get('x-user')} key=${h.get('x-key-id')} mode=${h.get('x-key-mode')}` +
            (body ? ` body=${body.length}` : ''),
        )
      },
    })

    const listen = freePort()
    base = `http://127.0.0.1:${listen}`
    // An internal location answers the probe: nginx's own 404, nothing else involved.
    proxy = await startNginx(nginx!, nginxBlock({ listen, codepushgo: Number(new URL(server.url).port), backend: backend.port! }), `${base}/_auth/read`)
  })

  /** Whatever happened, leave nothing running and nothing on disk. */
  afterAll(async () => {
    await proxy?.stop()
    backend?.stop(true)
    if (server && server.process.exitCode === null) server.process.kill('SIGKILL')
    if (dataDir) rmSync(dataDir, { recursive: true, force: true })
  })

  test('a read key passes /read/ with its identity forwarded, and gets 403 on /upload/', async () => {
    expect(await get('/read/x', readKey)).toEqual({ status: 200, text: echo('/read/x', readKeyId, 'read') })
    expect((await get('/upload/x', readKey)).status).toBe(403)
    notReached('/upload/x')
  })

  test('an upload key passes both, for GET and for POST with a body', async () => {
    expect(await get('/read/x', uploadKey)).toMatchObject({ status: 200, text: expect.stringContaining('mode=upload') })
    expect((await get('/upload/x', uploadKey)).status).toBe(200)
    // The check is a GET without the body; a large body (client_body_temp_path) still reaches the backend.
    const post = await get('/upload/bundle', `Bearer ${uploadKey}`, { method: 'POST', body: 'x'.repeat(200_000) })
    expect(post).toEqual({ status: 200, text: `${echo('/upload/bundle', uploadKeyId, 'upload', 'POST')} body=200000` })
  })

  test('the bootstrap `all` key passes both', async () => {
    expect((await get('/read/x', adminKey)).text).toContain('mode=all')
    expect((await get('/upload/x', adminKey)).text).toContain('mode=all')
  })

  test('a missing or garbage key gets 401 and never reaches the backend', async () => {
    for (const path of ['/read/nokey', '/upload/nokey']) expect((await get(path)).status).toBe(401)
    for (const garbage of ['garbage', 'Bearer ', `ak_${'0'.repeat(36)}`, `${readKey}x`]) {
      expect((await get('/read/garbage', garbage)).status).toBe(401)
      expect((await get('/upload/garbage', garbage)).status).toBe(401)
    }
    notReached('/read/nokey')
    notReached('/upload/nokey')
    notReached('/read/garbage')
    notReached('/upload/garbage')
  })

  test('the client cannot forge the forwarded identity headers', async () => {
    const res = await get('/read/forged', readKey, { headers: { 'x-user': 'usr_admin', 'x-key-mode': 'all' } })
    expect(res).toEqual({ status: 200, text: echo('/read/forged', readKeyId, 'read') })
  })

  test('the /_auth/ locations are internal', async () => {
    expect((await get('/_auth/read', adminKey)).status).toBe(404)
  })

  test('per app (?app_id= copied into the check): only the apps the key may upload to pass', async () => {
    const one = await get('/apps/x?app_id=com.example.one', appUploadKey)
    expect(one.status).toBe(200)
    expect(reached).toContain('GET /apps/x?app_id=com.example.one')
    expect((await get('/apps/x?app_id=com.example.two', appUploadKey)).status).toBe(403) // not in limited_to_apps
    expect((await get('/apps/x?app_id=com.example.none', adminKey)).status).toBe(403) // unknown app: 403, not 404
    expect((await get('/apps/x', adminKey)).status).toBe(403) // no app named
    expect((await get('/apps/x?app_id=com.example.one', readKey)).status).toBe(403) // mode too low
    expect((await get('/apps/x?app_id=com.example.two', uploadKey)).status).toBe(200)
  })

  test('a deleted key gets 401 through nginx right away', async () => {
    expect((await get('/read/x', readKey)).status).toBe(200)
    expect(await api('DELETE', `/apikey/${readKeyId}/`)).toEqual({ success: true })
    expect((await get('/read/x', readKey)).status).toBe(401)
    expect((await get('/read/x', uploadKey)).status).toBe(200) // the others still work
  })

  test('everything shuts down cleanly: nginx on SIGQUIT, codepushgo with exit 0', async () => {
    expect(await proxy!.stop()).toBe(0)
    backend!.stop(true)
    expect(await server!.stop()).toBe(0)
    const errors = proxy!.output().split('\n').filter((line) => /\[(emerg|alert|crit|error)\]/.test(line))
    expect(errors).toEqual([])
  })
})
