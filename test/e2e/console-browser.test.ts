/**
 * The operator console (SPEC §12, issue #21) in Debian's headless Chromium, served by the
 * compiled binary (which proves the embedded manifest path), with every request that leaves
 * 127.0.0.1 blocked and failing the test. A user signs in with the bootstrap key, manages
 * apps, members and keys (a limited key is created and copied once, rotated with grace,
 * disabled, deleted), sees the usage of requests made here, and reads the audit log; a limited
 * key's console sees only what the key can. Every screen is scanned with axe-core (no serious
 * or critical violation, light and dark) and photographed at 1280 and 360 px, light and dark
 * (CONSOLE_SCREENSHOTS=DIR keeps the pictures). A second part runs the console behind nginx
 * under a sub-path. Skips with a notice without chromium or nginx (fails when CI=true).
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { mkdirSync, readFileSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { chromium as playwright, type Browser, type BrowserContext, type Page } from 'playwright-core'
import { runCli, startServer, tempDir, type RunningServer } from '../helpers/binary'
import { CHROMIUM_ARGS, isLocal } from '../helpers/browser'
import { startNginx, type RunningNginx } from '../helpers/nginx'
import { freePort } from '../helpers/ports'
import { findProgram } from '../helpers/system-program'

const chromium = findProgram('chromium', ['/usr/bin/chromium'])
const nginx = chromium ? findProgram('nginx', ['/usr/sbin/nginx']) : null

const AXE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8')
const KEY = /ak_[0-9A-Za-z]{36}/
/** Generous: the machine may be busy. Waits are for events and selectors, never fixed sleeps. */
const WAIT = 20_000
const TEST_TIMEOUT = 120_000

const VARIANTS = [
  { name: 'desktop-light', width: 1280, height: 900, colorScheme: 'light' },
  { name: 'desktop-dark', width: 1280, height: 900, colorScheme: 'dark' },
  { name: 'mobile-light', width: 360, height: 740, colorScheme: 'light' },
  { name: 'mobile-dark', width: 360, height: 740, colorScheme: 'dark' },
] as const

/** What a page did that it must not: requests off loopback, errors, CSP violations. */
class Watch {
  blocked: string[] = []
  failed: string[] = []
  errors: string[] = []
  violations: string[] = []
  requests: string[] = []

  async attach(context: BrowserContext): Promise<void> {
    await context.route('**/*', async (route) => {
      const url = route.request().url()
      this.requests.push(url)
      if (isLocal(url)) return await route.continue()
      this.blocked.push(url)
      await route.abort('blockedbyclient')
    })
    // Injected by the browser, not the page: the CSP does not apply to it.
    await context.addInitScript({
      content: "document.addEventListener('securitypolicyviolation', (event) => console.error(`CSP violation: ${event.violatedDirective} ${event.blockedURI}`))",
    })
  }

  page(page: Page): Page {
    page.on('pageerror', (error) => this.errors.push(`page error: ${error}`))
    page.on('console', (message) => {
      if (message.type() !== 'error') return
      // Chromium logs every 4xx answer: the API's refusals, which the console shows in words and
      // the tests assert. A 4xx for one of the console's own files is caught below.
      if (/^Failed to load resource: the server responded with a status of 4\d\d/.test(message.text())) return
      ;(message.text().startsWith('CSP violation') ? this.violations : this.errors).push(message.text())
    })
    page.on('response', (response) => {
      if (response.status() >= 400 && new URL(response.url()).pathname.includes('/console')) this.failed.push(`${response.url()}: ${response.status()}`)
    })
    // A fetch cut short by leaving the screen is no failure.
    page.on('requestfailed', (request) => {
      if (request.failure()?.errorText !== 'net::ERR_ABORTED') this.failed.push(`${request.url()}: ${request.failure()?.errorText}`)
    })
    return page
  }

  expectClean(): void {
    expect({ blocked: this.blocked, failed: this.failed, errors: this.errors, violations: this.violations }).toEqual({ blocked: [], failed: [], errors: [], violations: [] })
  }
}

describe.skipIf(!chromium)('the console in headless Chromium, on the compiled binary', () => {
  let dir: string
  let shots: string
  let server: RunningServer
  let browser: Browser
  let context: BrowserContext
  let page: Page
  let adminKey = ''
  const watch = new Watch()
  /** The limited key this test creates, whole, as the copy-once dialog gave it. */
  let limited = { id: 0, key: '' }
  let rotated = { id: 0, key: '' }

  const url = (hash = '') => `${server.url}/console/${hash}`

  /** A request straight to the server (not through the console). */
  async function call(method: string, path: string, key: string) {
    const response = await fetch(server.url + path, { method, headers: { authorization: key } })
    return { status: response.status, json: (await response.json()) as any }
  }

  /** Photographs the page in every variant, then puts it back as it was (desktop, light). */
  async function photograph(name: string, target: Page = page): Promise<void> {
    for (const variant of VARIANTS) {
      await target.setViewportSize({ width: variant.width, height: variant.height })
      await target.emulateMedia({ colorScheme: variant.colorScheme })
      await target.screenshot({ path: join(shots, `${name}-${variant.name}.png`), fullPage: true })
    }
    await target.setViewportSize({ width: 1280, height: 900 })
    await target.emulateMedia({ colorScheme: 'light' })
  }

  /** axe-core over the page as it is, light and dark: no serious or critical violation. */
  async function scan(name: string, target: Page = page): Promise<void> {
    // Evaluated by the browser for the test, like the init script: the page itself loads nothing external.
    if (!(await target.evaluate("'axe' in window"))) await target.evaluate(AXE)
    for (const colorScheme of ['light', 'dark'] as const) {
      await target.emulateMedia({ colorScheme })
      // Page code as text: it runs in the browser, with the DOM's types, not the test's.
      const found = (await target.evaluate(`axe.run(document, { resultTypes: ['violations'] }).then((result) => result.violations
        .filter((v) => v.impact === 'serious' || v.impact === 'critical')
        .map((v) => v.id + ': ' + v.nodes.map((n) => n.target.join(' ')).join(', ')))`)) as string[]
      expect({ screen: name, colorScheme, violations: found }).toEqual({ screen: name, colorScheme, violations: [] })
    }
    await target.emulateMedia({ colorScheme: 'light' })
  }

  /** Follows a link of the main menu. */
  const menu = (name: string, target: Page = page) => target.getByRole('navigation', { name: 'Main' }).getByRole('link', { name }).click()
  const heading = (name: string | RegExp, target: Page = page) => target.getByRole('heading', { level: 1, name }).waitFor()

  beforeAll(async () => {
    dir = tempDir('codepushgo-console-')
    shots = process.env.CONSOLE_SCREENSHOTS ?? join(dir, 'screenshots')
    mkdirSync(shots, { recursive: true })
    server = await startServer(dir)
    adminKey = KEY.exec(server.stderr())?.[0] ?? ''
    if (!adminKey) throw new Error(`no bootstrap key in the server output:\n${server.output()}`)
    browser = await playwright.launch({ executablePath: chromium!, args: CHROMIUM_ARGS, timeout: WAIT })
    context = await browser.newContext({ viewport: { width: 1280, height: 900 }, permissions: ['clipboard-read', 'clipboard-write'] })
    context.setDefaultTimeout(WAIT)
    await watch.attach(context)
    page = watch.page(await context.newPage())
  }, TEST_TIMEOUT)

  afterAll(async () => {
    await browser?.close()
    if (server) expect(await server.stop()).toBe(0)
    if (dir) rmSync(dir, { recursive: true, force: true })
  })

  test('sign in by pasting the key: kept in sessionStorage, never in localStorage or a cookie', async () => {
    const response = await page.goto(url(), { waitUntil: 'load' })
    expect(response?.status()).toBe(200)
    await heading('Sign in')
    await scan('sign-in')
    await photograph('sign-in')
    await page.getByLabel('API key').fill('ak_not_a_key')
    await page.getByRole('button', { name: 'Sign in' }).click()
    await page.getByRole('alert').filter({ hasText: 'Invalid API key' }).waitFor()
    await page.getByLabel('API key').fill(adminKey)
    await page.getByRole('button', { name: 'Sign in' }).click()
    await heading('API keys')
    expect(await page.evaluate('({ session: sessionStorage.length, local: localStorage.length, cookie: document.cookie })')).toEqual({ session: 1, local: 0, cookie: '' })
    expect((await context.cookies()).length).toBe(0)
    watch.expectClean()
  }, TEST_TIMEOUT)

  test('organizations, members and apps', async () => {
    // A second user to add as a member (made offline, as an operator would).
    expect(runCli(['user', 'create', '--email', 'dev@example.com', '--dir', dir]).exitCode).toBe(0)
    await menu('Apps')
    await heading('Apps')
    for (const [appId, name] of [['com.console.one', 'Console one'], ['com.console.two', 'Console two']]) {
      await page.getByLabel('App id').fill(appId!)
      await page.getByRole('form', { name: 'New app' }).getByLabel('Name').fill(name!)
      await page.getByRole('button', { name: 'Create app' }).click()
      await page.getByRole('cell', { name: appId }).waitFor()
    }
    // A taken id is refused in words.
    await page.getByLabel('App id').fill('com.console.one')
    await page.getByRole('form', { name: 'New app' }).getByLabel('Name').fill('again')
    await page.getByRole('button', { name: 'Create app' }).click()
    await page.getByRole('alert').filter({ hasText: '409' }).waitFor()
    await scan('apps')
    await photograph('apps')

    await menu('Organizations')
    await heading('Organizations')
    await page.getByRole('link', { name: 'Default' }).click()
    await heading('Default')
    await page.getByRole('rowheader', { name: 'admin@localhost' }).waitFor()
    await page.getByLabel('Email of an existing user').fill('dev@example.com')
    await page.getByRole('form', { name: 'Add a member' }).getByLabel('Role').selectOption('read')
    await page.getByRole('button', { name: 'Add member' }).click()
    await page.getByRole('rowheader', { name: 'dev@example.com' }).waitFor()
    await page.getByLabel('Role of dev@example.com').selectOption('upload')
    await page.getByRole('status').filter({ hasText: 'dev@example.com is now upload.' }).waitFor()
    await scan('organization')
    await photograph('organization')
    await menu('Organizations')
    await heading('Organizations')
    await page.getByRole('link', { name: 'Default' }).waitFor()
    await scan('organizations')
    await photograph('organizations')
    watch.expectClean()
  }, TEST_TIMEOUT)

  test('create a limited key, copy it once, and see it in the list', async () => {
    await menu('Keys')
    await heading('API keys')
    await page.getByRole('link', { name: 'Create a key' }).click()
    await heading('Create a key')
    await page.getByLabel('Name').fill('Console limited')
    await page.getByLabel('Mode').selectOption('all')
    await page.getByLabel(/Console one \(com\.console\.one/).check()
    await scan('create-key')
    await photograph('create-key')
    await page.getByRole('button', { name: 'Create key' }).click()

    const dialog = page.getByRole('dialog', { name: /created/ })
    await dialog.waitFor()
    await expect(dialog.getByText('It will not be shown again').isVisible()).resolves.toBe(true)
    const shown = await dialog.getByLabel('Your new API key').inputValue()
    expect(shown).toMatch(new RegExp(`^${KEY.source}$`))
    expect(await dialog.locator('pre.curl').innerText()).toBe(`curl -H "authorization: ${shown}" ${server.url}/apikey/verify`)
    await dialog.getByRole('button', { name: 'Copy' }).click()
    await dialog.getByText('Copied to the clipboard.').waitFor()
    expect(await page.evaluate('navigator.clipboard.readText()')).toBe(shown)
    await scan('key-once')
    await photograph('key-once')
    await dialog.getByRole('button', { name: 'I have stored it' }).click()
    await dialog.waitFor({ state: 'detached' })
    await heading('Console limited')
    // Shown once: gone from the page, and every answer since shows it masked.
    expect(await page.content()).not.toContain(shown)
    limited = { id: Number(new URL(page.url()).hash.split('/')[2]), key: shown }
    expect((await call('GET', '/apikey/verify', shown)).json.apikey).toMatchObject({ id: limited.id, limited_to_apps: ['com.console.one'] })

    await page.getByRole('link', { name: '← All keys' }).click()
    await heading('API keys')
    const row = page.getByRole('row').filter({ has: page.getByRole('link', { name: 'Console limited' }) })
    await row.waitFor()
    expect(await row.innerText()).toContain(`${shown.slice(0, 8)}...`)
    expect(await row.innerText()).toContain('apps: com.console.one')
    await page.locator('usage-sparkline svg').first().waitFor()
    await page.locator('usage-chart svg').waitFor()
    await scan('keys')
    await photograph('keys')
    watch.expectClean()
  }, TEST_TIMEOUT)

  test('the usage chart shows the requests made in this test, by outcome', async () => {
    // With the verify of the test before: 5 allowed, 1 forbidden.
    for (let i = 0; i < 3; i++) expect((await call('GET', '/apikey/verify', limited.key)).status).toBe(200)
    // A limited key may not read the audit log (403), nor see the admin key (404: still allowed in).
    expect((await call('GET', '/audit/', limited.key)).status).toBe(403)
    expect((await call('GET', '/apikey/1/', limited.key)).status).toBe(404)
    await page.goto(url(`#/keys/${limited.id}`))
    await heading('Console limited')
    const chart = page.locator('usage-chart')
    await chart.locator('[data-outcome=allowed]').filter({ hasText: /^5$/ }).waitFor()
    expect(await chart.locator('[data-outcome=forbidden]').innerText()).toBe('1')
    expect(await chart.locator('svg title').first().textContent()).toContain('5 allowed, 1 forbidden (403), 0 rate limited (429)')
    // The bars are there: one stacked bar (allowed and forbidden) in the current hour.
    expect(await chart.locator('rect.u-allowed').count()).toBe(1)
    expect(await chart.locator('rect.u-forbidden').count()).toBe(1)
    await page.getByLabel('30 days').check()
    await chart.locator('[data-outcome=allowed]').filter({ hasText: /^5$/ }).waitFor()
    expect(await chart.locator('svg').getAttribute('viewBox')).toBe('0 0 720 100')
    await page.getByText('Daily totals as a table').click()
    await scan('key-detail')
    await photograph('key-detail')
    watch.expectClean()
  }, TEST_TIMEOUT)

  test("a limited key's console sees only what the key can", async () => {
    const other = await browser.newContext({ viewport: { width: 1280, height: 900 } })
    other.setDefaultTimeout(WAIT)
    await watch.attach(other)
    const limitedPage = watch.page(await other.newPage())
    await limitedPage.goto(url())
    await limitedPage.getByLabel('API key').fill(limited.key)
    await limitedPage.getByRole('button', { name: 'Sign in' }).click()
    await heading('API keys', limitedPage)
    const names = async () => (await limitedPage.locator('tbody th a').allInnerTexts()).sort()
    await limitedPage.getByRole('link', { name: 'Console limited' }).waitFor()
    expect(await names()).toEqual(['Console limited'])
    // No audit log in the menu; asked for anyway, the API's refusal is shown in words.
    expect(await limitedPage.getByRole('navigation', { name: 'Main' }).getByRole('link').allInnerTexts()).toEqual(['Keys', 'Organizations', 'Apps'])
    await menu('Apps', limitedPage)
    await heading('Apps', limitedPage)
    await limitedPage.getByRole('cell', { name: 'com.console.one' }).waitFor()
    expect(await limitedPage.getByRole('cell', { name: 'com.console.two' }).count()).toBe(0)
    await scan('limited-apps', limitedPage)
    await limitedPage.goto(url('#/audit'))
    await limitedPage.getByRole('alert').filter({ hasText: 'This operation needs an API key without limits (403 insufficient_permissions)' }).waitFor()
    await scan('limited-audit', limitedPage)
    await photograph('limited-audit', limitedPage)
    await limitedPage.goto(url('#/keys/new'))
    await heading('Create a key', limitedPage)
    await limitedPage.getByLabel(/Console one/).waitFor()
    expect(await limitedPage.getByLabel(/Console two/).count()).toBe(0)
    await photograph('limited-create-key', limitedPage)
    await other.close()
    watch.expectClean()
  }, TEST_TIMEOUT)

  test('rotate with a grace period: the new key is shown once, the old one works until the grace ends', async () => {
    await page.goto(url(`#/keys/${limited.id}`))
    await heading('Console limited')
    await page.getByRole('button', { name: 'Rotate…' }).click()
    const ask = page.getByRole('dialog', { name: 'Rotate this key?' })
    await ask.getByLabel('Grace period for the old key').selectOption('3600')
    await scan('rotate')
    await photograph('rotate')
    await ask.getByRole('button', { name: 'Rotate' }).click()
    const dialog = page.getByRole('dialog', { name: /rotated/ })
    const shown = await dialog.getByLabel('Your new API key').inputValue()
    expect(shown).toMatch(KEY)
    expect(shown).not.toBe(limited.key)
    await dialog.getByRole('button', { name: 'I have stored it' }).click()
    await page.getByRole('link', { name: `key ${limited.id}` }).waitFor()
    rotated = { id: Number(new URL(page.url()).hash.split('/')[2]), key: shown }
    expect(rotated.id).toBeGreaterThan(limited.id)
    const old = (await call('GET', '/apikey/verify', limited.key)).json.apikey
    expect(Date.parse(old.expires_at) - Date.now()).toBeGreaterThan(3500_000)
    expect(Date.parse(old.expires_at) - Date.now()).toBeLessThanOrEqual(3600_000)
    expect((await call('GET', '/apikey/verify', rotated.key)).status).toBe(200)
    watch.expectClean()
  }, TEST_TIMEOUT)

  test('disable and enable', async () => {
    await page.getByRole('button', { name: 'Disable' }).click()
    await page.getByRole('button', { name: 'Enable' }).waitFor()
    expect(await page.locator('.facts .state').innerText()).toBe('Disabled')
    expect((await call('GET', '/apikey/verify', rotated.key)).json.code).toBe('api_key_disabled')
    await page.getByRole('button', { name: 'Enable' }).click()
    await page.getByRole('button', { name: 'Disable' }).waitFor()
    expect((await call('GET', '/apikey/verify', rotated.key)).status).toBe(200)
    watch.expectClean()
  }, TEST_TIMEOUT)

  test('delete, after a confirmation', async () => {
    await page.getByRole('button', { name: 'Delete…' }).click()
    let confirm = page.getByRole('dialog', { name: /^Delete/ })
    await scan('delete')
    await photograph('delete')
    await confirm.getByRole('button', { name: 'Cancel' }).click()
    await confirm.waitFor({ state: 'detached' })
    expect((await call('GET', '/apikey/verify', rotated.key)).status).toBe(200)
    await page.getByRole('button', { name: 'Delete…' }).click()
    confirm = page.getByRole('dialog', { name: /^Delete/ })
    await confirm.getByRole('button', { name: 'Delete key' }).click()
    await heading('API keys')
    await page.getByRole('link', { name: 'Admin key' }).waitFor()
    expect(await page.getByRole('table', { name: 'Keys within reach, newest first' }).innerText()).not.toContain(`${rotated.key.slice(0, 8)}...`)
    expect((await call('GET', '/apikey/verify', rotated.key)).json.code).toBe('invalid_api_key')
    watch.expectClean()
  }, TEST_TIMEOUT)

  test('the audit log, paged and filtered by the API', async () => {
    await menu('Audit log')
    await heading('Audit log')
    await page.getByRole('rowheader', { name: 'apikey.delete' }).waitFor()
    await page.getByLabel('Action').selectOption('apikey.rotate')
    await page.getByRole('button', { name: 'Filter' }).click()
    await page.waitForURL(/action=apikey\.rotate/)
    // Only the rotation is left, once the screen is drawn anew with the API's answer.
    await page.locator('tbody th', { hasNotText: 'apikey.rotate' }).first().waitFor({ state: 'detached' })
    await page.getByRole('rowheader', { name: 'apikey.rotate' }).waitFor()
    expect(await page.locator('tbody th').allInnerTexts()).toEqual(['apikey.rotate'])
    await scan('audit')
    await photograph('audit')
    watch.expectClean()
  }, TEST_TIMEOUT)

  test('keyboard alone: the skip link, the menu, a dialog opened and closed with Escape, focus where it belongs', async () => {
    await page.goto(url('#/keys'))
    await heading('API keys')
    const focused = () => page.evaluate('document.activeElement?.textContent?.trim() ?? ""')
    // The screen's heading has the focus. Before it: the skip link, first of all, back to it.
    for (let i = 0; i < 12 && (await focused()) !== 'Skip to content'; i++) await page.keyboard.press('Shift+Tab')
    expect(await focused()).toBe('Skip to content')
    await page.keyboard.press('Enter')
    expect(await focused()).toBe('API keys')
    expect(new URL(page.url()).hash).toBe('#/keys')
    // The menu's links are reachable with the keyboard and followed with Enter.
    for (let i = 0; i < 10 && (await focused()) !== 'Apps'; i++) await page.keyboard.press('Shift+Tab')
    expect(await focused()).toBe('Apps')
    await page.keyboard.press('Enter')
    await heading('Apps')
    expect(await focused()).toBe('Apps') // the new screen's heading has the focus
    await page.goto(url(`#/keys/1`))
    await heading('Admin key')
    for (let i = 0; i < 20 && (await focused()) !== 'Delete…'; i++) await page.keyboard.press('Tab')
    expect(await focused()).toBe('Delete…')
    await page.keyboard.press('Enter')
    const confirm = page.getByRole('dialog', { name: /^Delete/ })
    await confirm.waitFor()
    expect(await focused()).toBe('Cancel') // a stray Enter cancels
    await page.keyboard.press('Escape')
    await confirm.waitFor({ state: 'detached' })
    expect(await focused()).toBe('Delete…') // back to the button that opened it
    watch.expectClean()
  }, TEST_TIMEOUT)

  test('sign out forgets the key', async () => {
    await page.getByRole('button', { name: 'Sign out' }).click()
    await heading('Sign in')
    expect(await page.evaluate('sessionStorage.length')).toBe(0)
    await page.reload()
    await heading('Sign in')
    // Nothing the console loaded came from anywhere but this server.
    expect(watch.requests.every((request) => request.startsWith(server.url))).toBe(true)
    watch.expectClean()
  }, TEST_TIMEOUT)
})

describe.skipIf(!chromium || !nginx)('the console behind nginx, under a sub-path', () => {
  let dir: string
  let server: RunningServer
  let proxy: RunningNginx
  let browser: Browser
  let base = ''
  const watch = new Watch()

  beforeAll(async () => {
    dir = tempDir('codepushgo-console-proxy-')
    server = await startServer(dir)
    const listen = freePort()
    base = `http://127.0.0.1:${listen}`
    proxy = await startNginx(
      nginx!,
      `server {
        listen 127.0.0.1:${listen};
        location /keys/ { proxy_pass http://127.0.0.1:${new URL(server.url).port}/; }
      }`,
      `${base}/`,
    )
    browser = await playwright.launch({ executablePath: chromium!, args: CHROMIUM_ARGS, timeout: WAIT })
  }, TEST_TIMEOUT)

  afterAll(async () => {
    await browser?.close()
    await proxy?.stop()
    if (server) expect(await server.stop()).toBe(0)
    if (dir) rmSync(dir, { recursive: true, force: true })
  })

  test.each(['/keys/console', '/keys/console/'])('%s: the page, its files and its API calls all stay under /keys/', async (path) => {
    const adminKey = KEY.exec(server.stderr())![0]
    const context = await browser.newContext()
    context.setDefaultTimeout(WAIT)
    await watch.attach(context)
    const page = watch.page(await context.newPage())
    const response = await page.goto(base + path)
    expect(response?.status()).toBe(200)
    await page.getByLabel('API key').fill(adminKey)
    await page.getByRole('button', { name: 'Sign in' }).click()
    await page.getByRole('heading', { level: 1, name: 'API keys' }).waitFor()
    await page.getByRole('link', { name: 'Admin key' }).waitFor()
    await page.locator('usage-chart svg').waitFor()
    await context.close()
    const paths = watch.requests.filter((request) => request.startsWith(base)).map((request) => new URL(request).pathname)
    expect(paths.length).toBeGreaterThan(4)
    expect(paths.filter((p) => !p.startsWith('/keys/'))).toEqual([])
    expect(paths).toEqual(expect.arrayContaining(['/keys/apikey/verify', '/keys/apikey/', '/keys/apikey/usage']))
    watch.requests = []
    watch.expectClean()
  }, TEST_TIMEOUT)
})
