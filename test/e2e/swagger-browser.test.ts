/**
 * The Swagger page in a real headless Chromium with the network off (SPEC §10): the compiled
 * binary serves the page and its assets, every request that leaves loopback is blocked and
 * recorded, and the page must still render the API key operations and work end to end.
 * Skips with a notice when chromium is missing (fails instead when CI=true).
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { rmSync } from 'node:fs'
import { chromium as playwright, type Browser, type Page } from 'playwright-core'
import { startServer, tempDir, type RunningServer } from '../helpers/binary'
import { CHROMIUM_ARGS, isLocal } from '../helpers/browser'
import { findProgram } from '../helpers/system-program'

const chromium = findProgram('chromium', ['/usr/bin/chromium'])

describe.skipIf(!chromium)('Swagger UI in headless Chromium, network off', () => {
  let dir: string
  let server: RunningServer
  let browser: Browser
  let page: Page
  let bootstrapKey: string
  const blocked: string[] = []
  const failedRequests: string[] = []
  const pageErrors: string[] = []
  const consoleErrors: string[] = []

  beforeAll(async () => {
    dir = tempDir('codepushgo-swagger-')
    server = await startServer(dir)
    // The first-run banner (stderr) shows the bootstrap `all` key once.
    bootstrapKey = (await server.waitForOutput(/ak_[0-9A-Za-z]{36}/))[0]

    // No deadlines of Playwright's own (0): on a loaded machine Chromium may take long to start
    // or to render; every wait below is for an event, and the test's timeout bounds them all.
    browser = await playwright.launch({ executablePath: chromium!, args: CHROMIUM_ARGS, timeout: 0 })
    const context = await browser.newContext({ viewport: { width: 1280, height: 1000 } })
    context.setDefaultTimeout(0)
    context.setDefaultNavigationTimeout(0)
    await context.route('**/*', async (route) => {
      const url = route.request().url()
      if (isLocal(url)) return await route.continue()
      blocked.push(url)
      await route.abort('blockedbyclient')
    })
    page = await context.newPage()
    page.on('pageerror', (error) => pageErrors.push(String(error)))
    page.on('console', (message) => {
      if (message.type() === 'error') consoleErrors.push(message.text())
    })
    page.on('requestfailed', (request) => failedRequests.push(`${request.url()}: ${request.failure()?.errorText}`))
  })

  afterAll(async () => {
    await browser?.close()
    if (server) expect(await server.stop()).toBe(0)
    if (dir) rmSync(dir, { recursive: true, force: true })
  })

  test('the page loads from the binary alone and renders the /apikey/ operations', async () => {
    const response = await page.goto(`${server.url}/swagger`, { waitUntil: 'load' })
    expect(response?.status()).toBe(200)

    // The UI fetches /swagger/json after load, then renders the operations.
    await page.locator('.swagger-ui .opblock').first().waitFor({ state: 'visible' })
    await page.waitForLoadState('networkidle')

    const operations = await page.locator('.opblock').evaluateAll((blocks) =>
      blocks.map((block) => {
        const method = block.querySelector('.opblock-summary-method')?.textContent?.trim() ?? ''
        const path = block.querySelector('.opblock-summary-path')?.textContent?.replace(/\u200b/g, '').trim() ?? ''
        return `${method} ${path}`
      }),
    )
    expect(operations).toEqual(expect.arrayContaining(['GET /apikey/', 'POST /apikey/', 'DELETE /apikey/{id}']))
    expect(await page.locator('.swagger-ui .info .title').innerText()).toContain('CodePushGo API keys')
    expect(await page.locator('button.authorize').count()).toBeGreaterThan(0)
    await expect(page.locator('button.authorize').first().isVisible()).resolves.toBe(true)

    await page.screenshot({ path: '/tmp/swagger.png', fullPage: false })

    expect(blocked).toEqual([])
    expect(failedRequests).toEqual([])
    expect(pageErrors).toEqual([])
    expect(consoleErrors).toEqual([])
  })

  let authorized = false

  /** Authorizes the page with the bootstrap key (loading the page when a test runs alone). */
  async function authorize() {
    if (new URL(page.url()).pathname !== '/swagger') {
      await page.goto(`${server.url}/swagger`, { waitUntil: 'load' })
      await page.locator('.swagger-ui .opblock').first().waitFor({ state: 'visible' })
    }
    await page.locator('button.authorize').first().click()
    const dialog = page.locator('.dialog-ux .modal-ux')
    await dialog.locator('input[type=text], input[type=password]').first().fill(bootstrapKey)
    await dialog.locator('button.authorize[type=submit], button.modal-btn.auth.authorize').first().click()
    await dialog.locator('button.btn-done, button.close-modal').first().click()
    await dialog.waitFor({ state: 'detached' })
    authorized = true
  }

  test('Authorize with the bootstrap key, then GET /apikey/ answers 200 with masked keys', async () => {
    await authorize()
    // The key stays in the page's memory: nothing in localStorage (persistAuthorization is off).
    expect(await page.evaluate('JSON.stringify(localStorage)')).toBe('{}')

    const list = page.locator('.opblock.opblock-get', {
      has: page.locator('.opblock-summary-path', { hasText: /^\/apikey\/$/ }),
    })
    await list.locator('.opblock-summary').first().click()
    await list.locator('button.try-out__btn').click()
    const [request] = await Promise.all([
      page.waitForRequest((r) => new URL(r.url()).pathname === '/apikey/' && r.method() === 'GET'),
      list.locator('button.execute').click(),
    ])
    expect(request.headers().authorization).toBe(bootstrapKey)

    const status = list.locator('.live-responses-table .response .response-col_status')
    await status.waitFor({ state: 'visible' })
    expect((await status.innerText()).trim()).toBe('200')

    const body = await list.locator('.live-responses-table .response-col_description pre.microlight').first().innerText()
    const json = JSON.parse(body) as { data: { key: string }[] }
    expect(json.data.length).toBeGreaterThanOrEqual(1)
    for (const item of json.data) expect(item.key).toMatch(/^ak_[0-9A-Za-z]{5}\.\.\.$/)
    expect(json.data.map((item) => item.key)).toContain(`${bootstrapKey.slice(0, 8)}...`)
    expect(body).not.toContain(bootstrapKey)

    // The server logged the authenticated call by key id, never the key (outside the first-run banner).
    await server.waitForOutput(/"method":"GET","route":"\/apikey\/","status":200,[^\n]*"key_id":[1-9]/)
    expect(server.output().split(bootstrapKey).length - 1).toBe(1)

    expect(blocked).toEqual([])
    expect(failedRequests).toEqual([])
    expect(pageErrors).toEqual([])
    expect(consoleErrors).toEqual([])
  })

  /** The operation block of `method path`, opened, in "Try it out" mode. */
  async function tryOut(method: 'post' | 'get' | 'put' | 'delete', path: string) {
    const block = page.locator(`.opblock.opblock-${method}`, {
      has: page.locator('.opblock-summary-path', { hasText: new RegExp(`^${path.replace(/[{}/]/g, '\\$&')}$`) }),
    })
    if ((await block.locator('button.try-out__btn').count()) === 0) await block.locator('.opblock-summary').first().click()
    const tryOutButton = block.locator('button.try-out__btn')
    if (!(await tryOutButton.innerText()).includes('Cancel')) await tryOutButton.click()
    return block
  }

  /** Executes the block's request; the request as sent, and the status and body shown on the page. */
  async function execute(block: ReturnType<typeof page.locator>, pathname: RegExp, method: string) {
    const [request] = await Promise.all([
      page.waitForRequest((r) => pathname.test(new URL(r.url()).pathname) && r.method() === method),
      block.locator('button.execute').click(),
    ])
    const status = block.locator('.live-responses-table .response .response-col_status')
    await status.waitFor({ state: 'visible' })
    const body = await block.locator('.live-responses-table .response-col_description pre.microlight').first().innerText()
    return { request, status: (await status.innerText()).trim(), body }
  }

  test('Try it out: create a key from a JSON body, then rotate it without a body', async () => {
    if (!authorized) await authorize()
    const create = await tryOut('post', '/apikey/')
    const editor = create.locator('.body-param textarea')
    await editor.fill('{"name": "From Swagger UI", "mode": "read"}')
    const created = await execute(create, /^\/apikey\/$/, 'POST')
    // The relative server ('/') sends the request to the server the page came from.
    expect(new URL(created.request.url()).origin).toBe(new URL(server.url).origin)
    expect(created.request.headers().authorization).toBe(bootstrapKey)
    expect(created.status).toBe('201')
    const { apikey } = JSON.parse(created.body) as { apikey: { id: number; key: string; name: string } }
    expect(apikey).toMatchObject({ name: 'From Swagger UI', key: expect.stringMatching(/^ak_[0-9A-Za-z]{36}$/) })

    const rotate = await tryOut('post', '/apikey/{id}/rotate')
    await rotate.locator('tr[data-param-name="id"] input').fill(String(apikey.id))
    // The body is optional: left empty, none is sent.
    const body = rotate.locator('.body-param textarea')
    if ((await body.count()) > 0) await body.fill('')
    const rotated = await execute(rotate, new RegExp(`^/apikey/${apikey.id}/rotate$`), 'POST')
    expect(rotated.request.postData() ?? '').toBe('')
    expect(rotated.status).toBe('201')
    const answer = JSON.parse(rotated.body) as { apikey: { id: number; rotated_from: number }; previous: { id: number } }
    expect(answer.apikey.rotated_from).toBe(apikey.id)
    expect(answer.previous.id).toBe(apikey.id)

    expect(blocked).toEqual([])
    expect(failedRequests).toEqual([])
    expect(pageErrors).toEqual([])
    expect(consoleErrors).toEqual([])
  })
})
