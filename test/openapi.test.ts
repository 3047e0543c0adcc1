/** The OpenAPI document and the Swagger UI page (SPEC §7, §10). */
import { describe, expect, test } from 'bun:test'
import { testServer } from './helpers/app'

describe('OpenAPI', () => {
  test('/swagger/json documents every route with summary, tag, responses and examples', async () => {
    const { request } = testServer()
    const res = await request('GET', '/swagger/json')
    expect(res.status).toBe(200)
    const doc = res.json
    expect(doc.openapi).toMatch(/^3\./)
    expect(doc.components.securitySchemes.apiKey).toEqual(expect.objectContaining({ type: 'apiKey', in: 'header', name: 'authorization' }))
    const operations = Object.entries(doc.paths as Record<string, Record<string, any>>).flatMap(([path, ops]) =>
      Object.entries(ops).map(([method, op]) => ({ path, method, op })),
    )
    const names = operations.map((o) => `${o.method.toUpperCase()} ${o.path}`)
    expect(names).toEqual(expect.arrayContaining([
      'GET /apikey/', 'POST /apikey/', 'DELETE /apikey/{id}', 'GET /apikey/verify', 'GET /health',
      'GET /organization/', 'POST /organization/', 'GET /organization/{id}', 'PUT /organization/{id}', 'DELETE /organization/{id}',
      'GET /organization/{id}/members', 'POST /organization/{id}/members', 'PUT /organization/{id}/members/{user_id}',
      'DELETE /organization/{id}/members/{user_id}', 'GET /app/', 'POST /app/', 'GET /app/{app_id}', 'PUT /app/{app_id}', 'DELETE /app/{app_id}',
    ]))
    expect(names.some((n) => n.includes('swagger'))).toBe(false)
    for (const { op } of operations) {
      expect(op.summary).toBeString()
      expect(op.tags).toHaveLength(1)
      for (const response of Object.values(op.responses as Record<string, any>)) {
        expect(response.content['application/json'].schema).toBeObject()
      }
      if (op.requestBody) expect(op.requestBody.content['application/json'].schema).toBeObject()
    }
  })

  test('the documented examples and errors are in the document', async () => {
    const { request } = testServer()
    const { json: doc } = await request('GET', '/swagger/json')
    const post = doc.paths['/apikey/'].post
    expect(post.requestBody.content['application/json'].schema.examples[0]).toEqual({ name: 'Limited Read Key', mode: 'read', limited_to_apps: ['com.demo.app'] })
    expect(post.responses['201'].content['application/json'].schema.examples[0].apikey.key).toBe('ak_789...')
    expect(post.responses['400'].content['application/json'].schema.examples[0].error).toBe('Invalid mode specified. Must be one of: read, write, upload, all')
    const del = doc.paths['/apikey/{id}'].delete
    expect(del.responses['404'].content['application/json'].schema.examples[0].error).toBe('API key not found')
    expect(del.responses['403'].content['application/json'].schema.examples[0].error).toBe('Insufficient permissions to manage API keys')
    expect(doc.paths['/apikey/'].get.responses['200'].content['application/json'].schema.examples[0].data[1].name).toBe('Deploy Bot')
  })

  test('the Swagger page loads nothing from outside, and its assets are served', async () => {
    const { request } = testServer()
    for (const path of ['/swagger', '/swagger/']) {
      const page = await request('GET', path)
      expect(page.status).toBe(200)
      expect(page.headers.get('content-type')).toContain('text/html')
      expect(page.text).not.toMatch(/(src|href)="(https?:)?\/\//)
      expect(page.text).toContain('"url":"/swagger/json"')
    }
    const js = await request('GET', '/swagger/assets/swagger-ui-bundle.js')
    expect(js.status).toBe(200)
    expect(js.headers.get('content-type')).toContain('javascript')
    expect(js.text).toContain('SwaggerUIBundle')
    const css = await request('GET', '/swagger/assets/swagger-ui.css')
    expect(css.status).toBe(200)
    expect(css.headers.get('content-type')).toContain('text/css')
  })

  test('the document says which routes need a key: all but /health', async () => {
    const { request } = testServer()
    const { json: doc } = await request('GET', '/swagger/json')
    expect(doc.security).toEqual([{ apiKey: [] }])
    expect(doc.paths['/health'].get.security).toEqual([])
    for (const [path, item] of Object.entries(doc.paths as Record<string, Record<string, { security?: unknown }>>))
      if (path !== '/health') for (const op of Object.values(item)) expect(op.security).toBeUndefined()
  })

  test('every route that needs a key documents 401 and 429; every route with a body, 400 and 413', async () => {
    const { request } = testServer()
    const { json: doc } = await request('GET', '/swagger/json')
    type Op = { responses: Record<string, unknown>; requestBody?: unknown }
    let checked = 0
    for (const [path, item] of Object.entries(doc.paths as Record<string, Record<string, Op>>)) {
      if (path === '/health') continue
      for (const [method, op] of Object.entries(item)) {
        const statuses = Object.keys(op.responses)
        expect({ route: `${method} ${path}`, statuses }).toEqual({ route: `${method} ${path}`, statuses: expect.arrayContaining(['401', '429']) })
        if (op.requestBody) expect({ route: `${method} ${path}`, statuses }).toEqual({ route: `${method} ${path}`, statuses: expect.arrayContaining(['400', '413']) })
        checked++
      }
    }
    expect(checked).toBeGreaterThan(20)
  })

  test("the page's meta description is one well-formed attribute holding the document's description", async () => {
    const { request } = testServer()
    const { json: doc } = await request('GET', '/swagger/json')
    const page = await request('GET', '/swagger')
    const meta = /<meta\s+name="description"\s+content="([^"]*)"\s*\/?>/.exec(page.text)
    expect(meta).not.toBeNull()
    const unescaped = meta![1]!.replaceAll('&quot;', '"').replaceAll('&lt;', '<').replaceAll('&gt;', '>').replaceAll('&amp;', '&')
    expect(unescaped).toBe(doc.info.description)
    expect(doc.info.description).toContain('"status": "KO"')
  })

  test('GET /health answers without a key', async () => {
    const { request } = testServer()
    const res = await request('GET', '/health')
    expect(res.status).toBe(200)
    expect(res.json).toEqual({ status: 'ok', version: 'test', db: 'ok' })
  })

  test('GET /health is 503 when the database is unusable', async () => {
    const { request, db } = testServer()
    db.close()
    const res = await request('GET', '/health')
    expect(res.status).toBe(503)
    expect(res.json).toMatchObject({ status: 'error', db: 'error' })
  })
})
