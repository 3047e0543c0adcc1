/** The OpenAPI document and the Swagger UI page (SPEC §7, §10). */
import { describe, expect, test } from 'bun:test'
import { testServer } from './helpers/app'
import { Contract, pointer } from './helpers/openapi-contract'
import { seededWorld } from './helpers/world'

type Json = Record<string, any>

const { request } = testServer()
const document: Json = (await request('GET', '/swagger/json')).json
const operations = Object.entries<Json>(document.paths).flatMap(([path, item]) =>
  Object.entries<Json>(item).map(([method, operation]) => ({ path, method, operation, name: `${method.toUpperCase()} ${path}` })),
)

/** Every schema of the document with its place, `$ref`s not followed. */
function schemas(): { at: string[]; schema: Json }[] {
  const found: { at: string[]; schema: Json }[] = []
  const visit = (schema: Json, at: string[]) => {
    found.push({ at, schema })
    for (const keyword of ['properties', 'patternProperties', '$defs'])
      for (const [name, child] of Object.entries<Json>(schema[keyword] ?? {})) visit(child, [...at, keyword, name])
    for (const keyword of ['anyOf', 'oneOf', 'allOf', 'prefixItems'])
      (schema[keyword] ?? []).forEach((child: Json, i: number) => visit(child, [...at, keyword, String(i)]))
    for (const keyword of ['items', 'additionalProperties', 'not', 'contains'])
      if (typeof schema[keyword] === 'object') visit(schema[keyword], [...at, keyword])
  }
  for (const [name, schema] of Object.entries<Json>(document.components.schemas)) visit(schema, ['components', 'schemas', name])
  for (const [name, header] of Object.entries<Json>(document.components.headers)) visit(header.schema, ['components', 'headers', name, 'schema'])
  for (const { path, method, operation } of operations) {
    const here = ['paths', path, method]
    ;(operation.parameters ?? []).forEach((parameter: Json, i: number) => visit(parameter.schema, [...here, 'parameters', String(i), 'schema']))
    for (const [type, media] of Object.entries<Json>(operation.requestBody?.content ?? {})) visit(media.schema, [...here, 'requestBody', 'content', type, 'schema'])
    for (const [status, response] of Object.entries<Json>(operation.responses))
      for (const [type, media] of Object.entries<Json>(response.content ?? {})) visit(media.schema, [...here, 'responses', status, 'content', type, 'schema'])
  }
  return found
}

describe('the OpenAPI document', () => {
  test('documents every route with an operation id, one declared tag, a summary and a description for each response', () => {
    const names = operations.map((o) => o.name)
    expect(names).toEqual(expect.arrayContaining([
      'GET /apikey/', 'POST /apikey/', 'DELETE /apikey/{id}', 'GET /apikey/verify', 'GET /health',
      'GET /organization/', 'POST /organization/', 'GET /organization/{id}', 'PUT /organization/{id}', 'DELETE /organization/{id}',
      'GET /organization/{id}/members', 'POST /organization/{id}/members', 'PUT /organization/{id}/members/{user_id}',
      'DELETE /organization/{id}/members/{user_id}', 'GET /app/', 'POST /app/', 'GET /app/{app_id}', 'PUT /app/{app_id}', 'DELETE /app/{app_id}',
    ]))
    expect(names.some((n) => n.includes('swagger') || n.includes('metrics'))).toBe(false)
    const tags = document.tags.map((tag: Json) => tag.name)
    for (const { name, operation } of operations) {
      expect({ name, summary: operation.summary }).toEqual({ name, summary: expect.any(String) })
      expect({ name, tags: operation.tags.length, declared: tags.includes(operation.tags[0]) }).toEqual({ name, tags: 1, declared: true })
      for (const [status, response] of Object.entries<Json>(operation.responses))
        expect({ name, status, description: response.description }).toEqual({ name, status, description: expect.not.stringMatching(/^$|^Response for status/) })
    }
  })

  test('every route declares its operation id itself (Elysia would make one up from the path)', () => {
    const documented = testServer().app.routes.filter((route) => !(route.hooks.detail as Json | undefined)?.hide && !route.path.startsWith('/swagger'))
    expect(documented.length).toBe(operations.length)
    for (const route of documented) expect({ route: `${route.method} ${route.path}`, operationId: (route.hooks.detail as Json).operationId }).toEqual({ route: `${route.method} ${route.path}`, operationId: expect.stringMatching(/^[a-z]+[A-Za-z]*$/) })
    expect(new Set(operations.map((o) => o.operation.operationId)).size).toBe(operations.length)
  })

  test('operation ids are stable: generated clients name their methods after them', () => {
    const ids = Object.fromEntries(operations.map((o) => [o.name, o.operation.operationId]))
    expect(ids).toMatchObject({
      'GET /apikey/': 'listApiKeys', 'POST /apikey/': 'createApiKey', 'GET /apikey/{id}': 'getApiKey', 'PUT /apikey/{id}': 'updateApiKey',
      'DELETE /apikey/{id}': 'deleteApiKey', 'POST /apikey/{id}/rotate': 'rotateApiKey', 'GET /apikey/verify': 'verifyApiKey',
      'GET /organization/': 'listOrganizations', 'POST /organization/': 'createOrganization', 'GET /organization/{id}': 'getOrganization',
      'PUT /organization/{id}': 'updateOrganization', 'DELETE /organization/{id}': 'deleteOrganization',
      'GET /organization/{id}/members': 'listMembers', 'POST /organization/{id}/members': 'addMember',
      'PUT /organization/{id}/members/{user_id}': 'updateMember', 'DELETE /organization/{id}/members/{user_id}': 'removeMember',
      'GET /app/': 'listApps', 'POST /app/': 'createApp', 'GET /app/{app_id}': 'getApp', 'PUT /app/{app_id}': 'updateApp', 'DELETE /app/{app_id}': 'deleteApp',
      'GET /audit/': 'listAuditEvents', 'GET /health': 'getHealth',
    })
  })

  test('its servers entry is relative: the document describes the server that serves it', () => {
    expect(document.servers).toEqual([{ url: '/', description: expect.any(String) }])
  })

  test('the models are named components, used by $ref', () => {
    const named = ['ApiKey', 'ApiKeyCreated', 'Organization', 'Member', 'App', 'AuditEvent', 'Error']
    expect(Object.keys(document.components.schemas)).toEqual(expect.arrayContaining(named))
    const text = JSON.stringify(document.paths)
    for (const name of named) expect({ name, used: text.includes(`"#/components/schemas/${name}"`) }).toEqual({ name, used: true })
    expect(document.paths['/apikey/'].get.responses['200'].content['application/json'].schema.properties.data.items).toEqual({ $ref: '#/components/schemas/ApiKey' })
    expect(document.paths['/apikey/'].post.responses['201'].content['application/json'].schema).toEqual({ $ref: '#/components/schemas/ApiKeyCreated' })
    for (const { operation } of operations)
      for (const [status, response] of Object.entries<Json>(operation.responses))
        if (Number(status) >= 400 && operation.operationId !== 'getHealth') expect(response.content['application/json'].schema).toEqual({ $ref: '#/components/schemas/Error' })
  })

  test("Error's code is the catalogue of SPEC §8", () => {
    expect(document.components.schemas.Error.properties.code.enum).toEqual([
      'invalid_mode', 'validation_error', 'invalid_json', 'invalid_id', 'invalid_limited_to_apps', 'invalid_limited_to_orgs',
      'invalid_expires_at', 'missing_api_key', 'invalid_api_key', 'api_key_disabled', 'api_key_expired', 'insufficient_permissions',
      'not_found', 'conflict', 'already_rotated', 'payload_too_large', 'rate_limited', 'internal_error', 'database_unavailable',
    ])
  })

  test('schemas are standard JSON Schema: no keyword of Elysia or TypeBox', () => {
    for (const { at, schema } of schemas()) {
      expect({ at, noValidate: schema.noValidate }).toEqual({ at, noValidate: undefined })
      // TypeBox's `error` option; a property named `error` is under `properties`, not here.
      expect({ at, error: schema.error }).toEqual({ at, error: undefined })
    }
  })

  test('integers are integers, not "a string or an integer"', () => {
    for (const { at, schema } of schemas()) expect({ at, numberAsText: ['integer', 'numeric'].includes(schema.format) }).toEqual({ at, numberAsText: false })
    const listKeys = document.paths['/apikey/'].get
    const parameter = (name: string) => listKeys.parameters.find((p: Json) => p.name === name).schema
    expect(parameter('limit')).toMatchObject({ type: 'integer', minimum: 1, maximum: 1000 })
    expect(parameter('page')).toMatchObject({ type: 'integer', minimum: 0 })
    expect(document.components.schemas.ApiKey.properties.id).toMatchObject({ type: 'integer' })
    expect(document.paths['/apikey/{id}'].get.parameters[0].schema).toMatchObject({ type: 'integer', minimum: 1 })
    const rotate = document.paths['/apikey/{id}/rotate'].post
    expect(rotate.requestBody.content['application/json'].schema.properties.grace_period_seconds).toMatchObject({ type: 'integer', maximum: 604800 })
    const rateLimit = document.components.schemas.ApiKey.properties.rate_limit
    expect(rateLimit.properties.requests).toMatchObject({ type: 'integer' })
  })

  test('responses declare every field: their objects take no others', () => {
    for (const { at, schema } of schemas())
      if (at.includes('responses') || (at[1] === 'schemas' && at[2] !== undefined))
        if (schema.properties) expect({ at, additionalProperties: schema.additionalProperties }).toEqual({ at, additionalProperties: false })
  })

  test('response headers are components, referenced by every response that sends them', () => {
    expect(Object.keys(document.components.headers)).toEqual(expect.arrayContaining([
      'Retry-After', 'RateLimit-Limit', 'RateLimit-Remaining', 'RateLimit-Reset', 'x-codepushgo-user-id', 'x-codepushgo-key-id', 'x-codepushgo-key-mode',
    ]))
    const refs = (names: string[]) => Object.fromEntries(names.map((name) => [name, { $ref: `#/components/headers/${name}` }]))
    let limited = 0
    for (const { operation } of operations)
      if (operation.responses['429']) {
        expect(operation.responses['429'].headers).toEqual(refs(['Retry-After', 'RateLimit-Limit', 'RateLimit-Remaining', 'RateLimit-Reset']))
        limited++
      }
    expect(limited).toBe(operations.length - 1) // all but /health
    expect(document.paths['/apikey/verify'].get.responses['200'].headers).toEqual(refs(['x-codepushgo-user-id', 'x-codepushgo-key-id', 'x-codepushgo-key-mode']))
  })

  test('a request body is required except where the route takes none: rotate, and create from query parameters', () => {
    const required = Object.fromEntries(operations.filter((o) => o.operation.requestBody).map((o) => [o.name, o.operation.requestBody.required]))
    expect(required).toEqual({
      'POST /apikey/': false, 'PUT /apikey/{id}': true, 'POST /apikey/{id}/rotate': false,
      'POST /organization/': true, 'PUT /organization/{id}': true, 'POST /organization/{id}/members': true, 'PUT /organization/{id}/members/{user_id}': true,
      'POST /app/': true, 'PUT /app/{app_id}': true,
    })
  })

  test('every example is valid against its schema', () => {
    const contract = new Contract(document)
    let checked = 0
    const expectValid = (at: string[], example: unknown, where: string) => {
      const validate = contract.validator(pointer(...at))
      expect({ where: `${where} at ${at.join(' ')}`, valid: validate(example), errors: validate.errors ?? null }).toEqual({ where: `${where} at ${at.join(' ')}`, valid: true, errors: null })
      checked++
    }
    for (const { at, schema } of schemas()) for (const example of schema.examples ?? []) expectValid(at, example, JSON.stringify(example).slice(0, 80))
    for (const { path, method, operation } of operations)
      for (const [status, response] of Object.entries<Json>(operation.responses))
        for (const [type, media] of Object.entries<Json>(response.content ?? {}))
          if ('example' in media) expectValid(['paths', path, method, 'responses', status, 'content', type, 'schema'], media.example, `${method} ${path} ${status}`)
    expect(checked).toBeGreaterThan(100)
  })

  test('the documented examples and errors are in the document', () => {
    const post = document.paths['/apikey/'].post
    expect(post.requestBody.content['application/json'].schema.examples[0]).toEqual({ name: 'Limited Read Key', mode: 'read', limited_to_apps: ['com.demo.app'] })
    expect(document.components.schemas.ApiKeyCreated.examples[0].apikey.key).toBe('ak_789...')
    expect(post.responses['400'].content['application/json'].example.error).toBe('Invalid mode specified. Must be one of: read, write, upload, all')
    const del = document.paths['/apikey/{id}'].delete
    expect(del.responses['404'].content['application/json'].example.error).toBe('API key not found')
    expect(del.responses['403'].content['application/json'].example.error).toBe('Insufficient permissions to manage API keys')
    expect(document.paths['/apikey/'].get.responses['200'].content['application/json'].schema.examples[0].data[1].name).toBe('Deploy Bot')
  })

  test("an error example names only fields of its own operation, and says what that operation answers", () => {
    const fields = (operation: Json, where: string) =>
      where === 'body'
        ? Object.keys(operation.requestBody?.content['application/json'].schema.properties ?? {})
        : (operation.parameters ?? []).filter((p: Json) => p.in === (where === 'params' ? 'path' : where)).map((p: Json) => p.name)
    let named = 0
    for (const { name, operation } of operations)
      for (const response of Object.values<Json>(operation.responses)) {
        const message: string = response.content?.['application/json']?.example?.error ?? ''
        const field = /^Invalid (body|params|query) field '([^']+)'/.exec(message)
        if (!field) continue
        expect({ name, message, known: fields(operation, field[1]!).includes(field[2]) }).toEqual({ name, message, known: true })
        named++
      }
    expect(named).toBeGreaterThan(5)
    const addMember = document.paths['/organization/{id}/members'].post.responses
    expect(addMember['409'].content['application/json'].example.error).toBe('The user is already a member of this organization')
    expect(addMember['404'].content['application/json'].example.error).toBe('User not found')
    const removeMember = document.paths['/organization/{id}/members/{user_id}'].delete.responses
    expect(removeMember['409'].content['application/json'].example.error).toContain('last member with role "all"')
  })

  test('every documented path is served with and without its trailing slash', async () => {
    const w = await seededWorld()
    const ids: Record<string, string> = { '{id}': '', '{app_id}': w.apps.aliceOne, '{user_id}': w.bob.user.id }
    let checked = 0
    for (const [path, item] of Object.entries<Json>(document.paths)) {
      const method = 'get' in item ? 'GET' : Object.keys(item)[0]!.toUpperCase()
      const concrete = path.replace(/\{[a-z_]+\}/g, (name) => ids[name] || (path.startsWith('/apikey') ? String(w.alice.keyId) : w.orgs.aliceMain))
      const forms = concrete.endsWith('/') ? [concrete, concrete.slice(0, -1)] : [concrete, `${concrete}/`]
      // GET as it is; other methods with a body every route refuses (400), which still shows the route was found.
      const answers = await Promise.all(forms.map((form) => w.request(method, form, { key: w.alice.key, body: method === 'GET' ? undefined : [] })))
      expect({ path, statuses: answers.map((a) => a.status) }).toEqual({ path, statuses: method === 'GET' ? [200, 200] : [400, 400] })
      checked++
    }
    expect(checked).toBe(Object.keys(document.paths).length)
  })
})

describe('OpenAPI', () => {
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

  test('the Swagger page keeps the pasted key out of localStorage: persistAuthorization is false', async () => {
    const { request } = testServer()
    const page = await request('GET', '/swagger')
    const config = /SwaggerUIBundle\((\{.*\})\);/.exec(page.text)
    expect(config).not.toBeNull()
    expect(JSON.parse(config![1]!)).toMatchObject({ url: '/swagger/json', persistAuthorization: false })
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
    const { request, store } = testServer()
    await store.close()
    const res = await request('GET', '/health')
    expect(res.status).toBe(503)
    expect(res.json).toMatchObject({ status: 'error', db: 'error' })
  })
})
