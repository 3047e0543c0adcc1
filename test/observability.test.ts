/** Metrics, security headers and the request log (issue #6). */
import { describe, expect, test } from 'bun:test'
import { hashKey } from '../src/access/key-format'
import { jsonLogger } from '../src/http/logger'
import { seededWorld } from './helpers/world'

describe('GET /metrics', () => {
  test('off by default', async () => {
    const w = await seededWorld()
    expect((await w.request('GET', '/metrics')).status).toBe(404)
  })

  test('Prometheus text: requests by route and status, auth failures by reason, latency, keys', async () => {
    const w = await seededWorld({ metrics: true })
    await w.request('GET', '/apikey/', { key: w.alice.key })
    await w.request('GET', '/apikey/', { key: w.alice.key })
    await w.request('DELETE', '/apikey/999', { key: w.alice.key })
    await w.request('GET', '/apikey/', { key: 'nonsense' })
    await w.request('GET', '/apikey/')
    await w.request('GET', '/no/such/route')
    const res = await w.request('GET', '/metrics')
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toStartWith('text/plain; version=0.0.4')
    const text = res.text
    expect(text).toContain('codepushgo_http_requests_total{method="GET",route="/apikey/",status="200"} 2')
    expect(text).toContain('codepushgo_http_requests_total{method="DELETE",route="/apikey/:id",status="404"} 1')
    expect(text).toContain('codepushgo_http_requests_total{method="GET",route="unmatched",status="404"} 1')
    expect(text).toContain('codepushgo_auth_failures_total{reason="invalid_api_key"} 1')
    expect(text).toContain('codepushgo_auth_failures_total{reason="missing_api_key"} 1')
    expect(text).toMatch(/codepushgo_http_request_duration_seconds_bucket\{le="\+Inf"\} 6\n/)
    expect(text).toContain('codepushgo_http_request_duration_seconds_count 6')
    const keys = (await w.query('SELECT CAST(count(*) AS integer) AS n FROM apikeys'))[0]!.n
    expect(text).toContain(`codepushgo_api_keys ${keys}\n`)
    // The read model: alice's key was looked up three times, found in memory twice (a malformed key is looked up nowhere).
    expect(text).toContain('codepushgo_read_model_key_lookups_total{result="hit"} 2\n')
    expect(text).toContain('codepushgo_read_model_key_lookups_total{result="miss"} 1\n')
    expect(text).toMatch(/^codepushgo_read_model_bytes [1-9]\d*$/m)
    expect(text).toContain('codepushgo_read_model_budget_bytes 134217728\n')
    for (const gauge of ['p50', 'p99', 'max']) expect(text).toMatch(new RegExp(`^codepushgo_event_loop_delay_${gauge}_seconds [0-9.e-]+$`, 'm'))
    // Every line is a comment or `name{labels} value`.
    for (const line of text.trimEnd().split('\n')) expect(line).toMatch(/^(# (HELP|TYPE) .+|[a-z_][a-z0-9_]*(\{[^}]*\})? [0-9.e+-]+)$/)
    for (const secret of [w.alice.key, hashKey(w.alice.key)]) expect(text).not.toContain(secret)
  })
})

describe('security headers', () => {
  test.each([
    ['GET', '/apikey/', true, 200],
    ['GET', '/apikey/', false, 401],
    ['POST', '/apikey/', true, 400],
    ['GET', '/nope', false, 404],
    ['GET', '/health', false, 200],
  ] as const)('%s %s (status %#) carries them', async (method, path, withKey, status) => {
    const w = await seededWorld()
    const res = await w.request(method, path, { key: withKey ? w.alice.key : null, body: method === 'POST' ? '{' : undefined })
    expect(res.status).toBe(status)
    expect(res.headers.get('x-content-type-options')).toBe('nosniff')
    expect(res.headers.get('x-frame-options')).toBe('DENY')
    expect(res.headers.get('content-security-policy')).toBe("default-src 'none'; frame-ancestors 'none'")
    expect(res.headers.get('cache-control')).toBe('no-store')
  })

  test('the Swagger page may run its own script, and nothing from elsewhere', async () => {
    const w = await seededWorld()
    const res = await w.request('GET', '/swagger')
    expect(res.headers.get('content-security-policy')).toStartWith("default-src 'self'; script-src 'self' 'unsafe-inline'")
    expect(res.headers.get('x-content-type-options')).toBe('nosniff')
  })
})

describe('jsonLogger', () => {
  test('one JSON object per line: time and level first, then the fields', () => {
    const lines: string[] = []
    const log = jsonLogger((line) => lines.push(line))
    log.info({ method: 'GET', route: '/apikey/', status: 200, note: 'a "quoted"\nline' })
    log.error({})
    expect(lines).toHaveLength(2)
    for (const line of lines) expect(line.endsWith('\n') && !line.slice(0, -1).includes('\n')).toBe(true)
    const [first, second] = lines.map((line) => JSON.parse(line) as Record<string, unknown>)
    expect(Object.keys(first!)).toEqual(['time', 'level', 'method', 'route', 'status', 'note'])
    expect(first).toMatchObject({ level: 'info', method: 'GET', status: 200, note: 'a "quoted"\nline' })
    expect(new Date(first!.time as string).toISOString()).toBe(first!.time as string)
    expect(second).toEqual({ time: expect.any(String), level: 'error' })
  })

  test('a request line is the line `info` writes of the same fields, whatever the strings hold', () => {
    const lines: string[] = []
    const log = jsonLogger((line) => lines.push(line))
    const cases = [
      { method: 'GET', route: '/apikey/verify', status: 200, duration_ms: 0.123, key_id: 7 },
      { method: 'DELETE', route: null, status: 404, duration_ms: 0, key_id: null },
      { method: 'WEIRD"\\\n', route: '/a"b\\c\u0001', status: 500, duration_ms: 12.5, key_id: null },
    ]
    for (const fields of cases) {
      // Twice: the second line comes from the kept literals.
      log.request(fields)
      log.request(fields)
      log.info(fields)
    }
    const withoutTime = (line: string) => line.replace(/^\{"time":"[^"]*",/, '{')
    for (let i = 0; i < cases.length; i++) {
      const [first, again, info] = lines.slice(3 * i, 3 * i + 3).map(withoutTime)
      expect(first).toBe(info!)
      expect(again).toBe(info!)
      expect(JSON.parse(lines[3 * i]!)).toMatchObject({ level: 'info', ...cases[i] })
    }
  })
})
