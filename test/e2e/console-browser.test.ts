/**
 * The operator console (SPEC §12, issue #21) in Debian's headless Chromium, served by the
 * compiled binary (which proves the embedded manifest path), with every request that leaves
 * 127.0.0.1 blocked and failing the test. A user signs in with the bootstrap key, manages
 * apps, members and keys (a limited key is created and copied once, rotated with grace,
 * disabled, deleted), sees the usage of requests made here, and reads the audit log; a limited
 * key's console sees only what the key can, and offers no button for what it may not do; org
 * key policies are set on the org's screen and bound the expiries the key forms offer; rotated
 * and expired keys say so and offer nothing the API refuses. Every screen is scanned with axe-core (no serious
 * or critical violation, light and dark) and photographed at 1280 and 360 px, light and dark
 * (CONSOLE_SCREENSHOTS=DIR keeps the pictures). A second part runs the console behind nginx
 * under a sub-path. Skips with a notice without chromium or nginx (fails when CI=true).
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { mkdirSync, readFileSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { chromium as playwright, type Browser, type BrowserContext, type Locator, type Page, type Request } from 'playwright-core'
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
const DAY = 24 * 60 * 60 * 1000

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
  async function call(method: string, path: string, key: string, body?: unknown) {
    const headers: Record<string, string> = { authorization: key }
    if (body !== undefined) headers['content-type'] = 'application/json'
    const response = await fetch(server.url + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) })
    return { status: response.status, json: (await response.json()) as any }
  }

  /** A new browser context signed in with `key`, watched like the main one. */
  async function signedIn(key: string, viewport = { width: 1280, height: 900 }): Promise<{ context: BrowserContext; page: Page }> {
    const other = await browser.newContext({ viewport })
    other.setDefaultTimeout(WAIT)
    await watch.attach(other)
    const signedInPage = watch.page(await other.newPage())
    await signedInPage.goto(url())
    await signedInPage.getByLabel('API key').fill(key)
    await signedInPage.getByRole('button', { name: 'Sign in' }).click()
    await signedInPage.getByRole('heading', { level: 1, name: /API keys|Your key/ }).waitFor()
    return { context: other, page: signedInPage }
  }

  /** The values of a select's options that can be chosen. */
  const enabledOptions = (select: Locator) => select.locator('option:not([disabled])').evaluateAll((options) => options.map((option) => option.getAttribute('value')))

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
    // A text field, so that password managers do not offer to save the key, masked all the same.
    const field = page.getByLabel('API key')
    const masked = page.evaluate("getComputedStyle(document.querySelector('input[name=key]')).getPropertyValue('-webkit-text-security')")
    expect({ type: await field.getAttribute('type'), autocomplete: await field.getAttribute('autocomplete'), masked: await masked })
      .toEqual({ type: 'text', autocomplete: 'off', masked: 'disc' })
    expect(await page.locator('input[type=password]').count()).toBe(0)
    await scan('sign-in')
    await field.fill('ak_not_a_key')
    await photograph('sign-in')
    await page.getByRole('button', { name: 'Sign in' }).click()
    await page.getByRole('alert').filter({ hasText: 'Invalid API key' }).waitFor()
    // Signed in, the keys screen is drawn once: one list, one total of usage.
    const reads: string[] = []
    const onRequest = (request: Request) => void (request.method() === 'GET' && reads.push(new URL(request.url()).pathname))
    page.on('request', onRequest)
    await field.fill(adminKey)
    await page.getByRole('button', { name: 'Sign in' }).click()
    await heading('API keys')
    await page.getByRole('link', { name: 'Admin key' }).waitFor()
    await page.locator('usage-chart svg').waitFor()
    await page.locator('usage-sparkline svg').first().waitFor()
    await page.waitForLoadState('networkidle')
    page.off('request', onRequest)
    expect(reads.filter((path) => path === '/apikey/' || path === '/apikey/usage').sort()).toEqual(['/apikey/', '/apikey/usage'])
    expect(new URL(page.url()).hash).toBe('#/keys')
    expect(await page.evaluate('({ session: sessionStorage.length, local: localStorage.length, cookie: document.cookie })')).toEqual({ session: 1, local: 0, cookie: '' })
    expect((await context.cookies()).length).toBe(0)
    watch.expectClean()
  }, TEST_TIMEOUT)

  test('organizations, members and apps', async () => {
    // A second user to add as a member (made offline, as an operator would).
    expect(runCli(['user', 'create', '--email', 'dev@example.com', '--dir', dir]).exitCode).toBe(0)
    await menu('Apps')
    await heading('Apps')
    for (const [appId, name] of [['com.console.one', 'Console one'], ['com.console.two', 'Console two'], ['com.console.three', 'Console three, a title long enough to wrap on a phone']]) {
      await page.getByLabel('App id').fill(appId!)
      await page.getByRole('form', { name: 'New app' }).getByLabel('Name').fill(name!)
      await page.getByRole('button', { name: 'Create app' }).click()
      await page.getByRole('rowheader', { name: appId }).waitFor()
    }
    // A taken id is refused in words.
    await page.getByLabel('App id').fill('com.console.one')
    await page.getByRole('form', { name: 'New app' }).getByLabel('Name').fill('again')
    await page.getByRole('button', { name: 'Create app' }).click()
    await page.getByRole('alert').filter({ hasText: '409' }).waitFor()
    await scan('apps')
    await photograph('apps')
    // On a phone, each app is a card whose actions sit side by side beside their label.
    await page.setViewportSize({ width: 360, height: 740 })
    const tops = async (appId: string) => {
      const boxes = await Promise.all(['Rename', 'Delete'].map((action) => page.getByRole('button', { name: `${action} ${appId}` }).boundingBox()))
      return boxes.map((box) => box!.y)
    }
    const [renameTop, deleteTop] = await tops('com.console.one')
    expect(deleteTop).toBe(renameTop!)
    await page.setViewportSize({ width: 1280, height: 900 })

    await menu('Organizations')
    await heading('Organizations')
    await page.getByRole('link', { name: 'Default' }).click()
    await heading('Default')
    await page.getByRole('rowheader', { name: 'admin@localhost' }).waitFor()
    await page.getByLabel('Email of an existing user').fill('dev@example.com')
    await page.getByRole('form', { name: 'Add a member' }).getByLabel('Role').selectOption('read')
    await page.getByRole('button', { name: 'Add member' }).click()
    await page.getByRole('rowheader', { name: 'dev@example.com' }).waitFor()
    // Walking through the roles with the arrow keys changes nothing until the role is saved.
    const puts: string[] = []
    const onRequest = (request: Request) => void (request.method() === 'PUT' && puts.push(request.url()))
    page.on('request', onRequest)
    const role = page.getByLabel('Role of dev@example.com', { exact: true })
    await role.focus()
    await page.keyboard.press('ArrowDown')
    const save = page.getByRole('button', { name: 'Save the role of dev@example.com' })
    await save.waitFor()
    expect(await role.inputValue()).toBe('upload')
    expect(puts).toEqual([])
    await save.click()
    await page.getByRole('status').filter({ hasText: 'dev@example.com is now upload.' }).waitFor()
    page.off('request', onRequest)
    expect(puts).toHaveLength(1)
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
    // On a phone, a label that wraps leaves its check box the size of the others.
    await page.setViewportSize({ width: 360, height: 740 })
    const widths = await page.locator('form .check > input[type=checkbox]').evaluateAll((boxes) => [...new Set(boxes.map((box) => box.getBoundingClientRect().width))])
    expect(widths).toHaveLength(1)
    await page.setViewportSize({ width: 1280, height: 900 })
    await page.getByRole('button', { name: 'Create key' }).click()

    const dialog = page.getByRole('dialog', { name: 'Copy the new key now' })
    await dialog.waitFor()
    await expect(dialog.getByText('This is the only time the key is shown.').isVisible()).resolves.toBe(true)
    await dialog.getByText('Key “Console limited” was created.').waitFor()
    // Escape does not close it: the key would be lost for good.
    await page.keyboard.press('Escape')
    await dialog.getByRole('alert').filter({ hasText: 'Store the key first' }).waitFor()
    expect(await dialog.isVisible()).toBe(true)
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
    // Each number of the daily table keeps its column's name, shown beside it on a phone.
    expect(await chart.locator('tbody td[data-label="Allowed"]').count()).toBeGreaterThan(0)
    await scan('key-detail')
    await photograph('key-detail')
    watch.expectClean()
  }, TEST_TIMEOUT)

  test("a limited key's console sees only what the key can", async () => {
    const { context: other, page: limitedPage } = await signedIn(limited.key)
    await heading('API keys', limitedPage)
    const names = async () => (await limitedPage.locator('tbody th a').allInnerTexts()).sort()
    await limitedPage.getByRole('link', { name: 'Console limited' }).waitFor()
    expect(await names()).toEqual(['Console limited'])
    // No audit log in the menu, nor organizations (a key limited to apps sees none); asked for
    // anyway, the API's refusal is shown in words.
    expect(await limitedPage.getByRole('navigation', { name: 'Main' }).getByRole('link').allInnerTexts()).toEqual(['Keys', 'Apps'])
    await menu('Apps', limitedPage)
    await heading('Apps', limitedPage)
    await limitedPage.getByRole('rowheader', { name: 'com.console.one' }).waitFor()
    expect(await limitedPage.getByRole('rowheader', { name: 'com.console.two' }).count()).toBe(0)
    await scan('limited-apps', limitedPage)
    await limitedPage.goto(url('#/audit'))
    await heading('Not available with this key', limitedPage)
    await limitedPage.getByText('The audit log takes an all key without limits. This key has mode all and limits.').waitFor()
    await limitedPage.getByRole('alert').filter({ hasText: 'This operation needs an API key without limits (403 insufficient_permissions)' }).waitFor()
    // No filter form for a log the key cannot read.
    expect(await limitedPage.getByRole('form', { name: 'Filter events' }).count()).toBe(0)
    await scan('limited-audit', limitedPage)
    await photograph('limited-audit', limitedPage)
    await limitedPage.goto(url('#/keys/new'))
    await heading('Create a key', limitedPage)
    await limitedPage.getByLabel(/Console one/).waitFor()
    expect(await limitedPage.getByLabel(/Console two/).count()).toBe(0)
    // Nothing to pick among organizations: the fieldset is left out.
    expect(await limitedPage.getByRole('group', { name: 'Limit to organizations' }).count()).toBe(0)
    await photograph('limited-create-key', limitedPage)
    // Nothing checked: the lists are left out, so the new key takes the signed-in key's limits
    // (empty lists would ask for a wider key: 403).
    await limitedPage.getByRole('textbox', { name: 'Name', exact: true }).fill('Made by the limited key')
    const [create] = await Promise.all([
      limitedPage.waitForRequest((request) => request.method() === 'POST' && new URL(request.url()).pathname === '/apikey/'),
      limitedPage.getByRole('button', { name: 'Create key' }).click(),
    ])
    expect(Object.keys(create.postDataJSON()).sort()).toEqual(['mode', 'name'])
    const dialog = limitedPage.getByRole('dialog', { name: 'Copy the new key now' })
    const made = await dialog.getByLabel('Your new API key').inputValue()
    await dialog.getByRole('button', { name: 'I have stored it' }).click()
    await heading('Made by the limited key', limitedPage)
    expect((await call('GET', '/apikey/verify', made)).json.apikey).toMatchObject({ limited_to_apps: ['com.console.one'], limited_to_orgs: [] })
    await other.close()
    watch.expectClean()
  }, TEST_TIMEOUT)

  // What each mode below `all` may do to apps and orgs (SPEC §6; the admin's user has role all):
  // the buttons the console offers on apps, the h2 sections of an org's screen and its buttons.
  const BELOW_ALL = [
    { mode: 'read', appActions: [], newApp: false, orgSections: ['Members'], orgButtons: [] },
    { mode: 'upload', appActions: [], newApp: false, orgSections: ['Members'], orgButtons: [] },
    { mode: 'write', appActions: ['Rename'], newApp: true, orgSections: ['Members', 'Rename'], orgButtons: ['Save name'] },
  ] as const

  test.each(BELOW_ALL)("a $mode key's console offers no action the key may not take, and says why a screen is refused", async ({ mode, appActions, newApp, orgSections, orgButtons }) => {
    const made = (await call('POST', '/apikey/', adminKey, { name: `Console ${mode}`, mode })).json.apikey
    const { context: other, page: modePage } = await signedIn(made.key)
    await heading('Your key', modePage)
    expect(await modePage.getByRole('navigation', { name: 'Main' }).getByRole('link').allInnerTexts()).toEqual(['Your key', 'Organizations', 'Apps'])
    // Creating or opening a key needs an all key, the audit log one without limits: reached by
    // URL, the screen says so, with the API's refusal in words.
    for (const [hash, refusal] of [
      ['#/keys/new', 'Insufficient permissions to manage API keys (403 insufficient_permissions)'],
      ['#/keys/1', 'Insufficient permissions to manage API keys (403 insufficient_permissions)'],
      ['#/audit', 'Insufficient permissions for this operation (403 insufficient_permissions)'],
    ] as const) {
      await modePage.goto(url(hash))
      await heading('Not available with this key', modePage)
      await modePage.getByRole('alert').filter({ hasText: refusal }).waitFor()
      expect(await modePage.locator('main p').first().innerText()).toContain(`This key has mode ${mode}.`)
      expect(await modePage.getByRole('main').getByRole('button').count()).toBe(0)
      if (mode === 'read' && hash === '#/keys/new') {
        await scan('refused', modePage)
        await photograph('refused', modePage)
      }
    }
    await modePage.getByRole('link', { name: '← Your key' }).click()
    await heading('Your key', modePage)

    await menu('Apps', modePage)
    await heading('Apps', modePage)
    await modePage.getByRole('rowheader', { name: 'com.console.one' }).waitFor()
    const actions = (await modePage.getByRole('main').getByRole('table').getByRole('button').allInnerTexts())
    expect([...new Set(actions)]).toEqual([...appActions])
    expect(await modePage.getByRole('columnheader', { name: 'Actions' }).count()).toBe(appActions.length > 0 ? 1 : 0)
    expect(await modePage.getByRole('heading', { name: 'New app' }).count()).toBe(newApp ? 1 : 0)
    await scan(`${mode}-apps`, modePage)
    if (mode === 'write') await photograph('write-apps', modePage)
    await menu('Organizations', modePage)
    await modePage.getByRole('link', { name: 'Default' }).click()
    await heading('Default', modePage)
    await modePage.getByRole('rowheader', { name: 'admin@localhost' }).waitFor()
    expect(await modePage.locator('.facts').innerText()).toContain(`This key here\n${mode}`)
    expect(await modePage.getByRole('columnheader', { name: 'Actions' }).count()).toBe(0)
    expect(await modePage.getByRole('heading', { level: 2 }).allInnerTexts()).toEqual([...orgSections])
    expect(await modePage.getByRole('main').getByRole('button').allInnerTexts()).toEqual([...orgButtons])
    await scan(`${mode}-organization`, modePage)
    await photograph(`${mode}-organization`, modePage)
    await other.close()
    watch.expectClean()
  }, TEST_TIMEOUT)

  test('editing a key sends only the limits changed, keeps ids the pickers do not list, and asks before lifting a limit', async () => {
    const orgs = (await call('GET', '/organization/', adminKey)).json.data as { id: string; name: string }[]
    const defaultOrg = orgs.find((org) => org.name === 'Default')!.id
    const goneOrg = (await call('POST', '/organization/', adminKey, { name: 'Gone org' })).json.organization.id as string
    for (const app_id of ['com.edit.kept', 'com.edit.gone']) expect((await call('POST', '/app/', adminKey, { app_id, name: app_id, org_id: defaultOrg })).status).toBe(201)
    // Limits in an order of their own, each naming something deleted since.
    const byApps = (await call('POST', '/apikey/', adminKey, { name: 'Edit by apps', mode: 'read', limited_to_apps: ['com.edit.gone', 'com.edit.kept'] })).json.apikey
    const byOrgs = (await call('POST', '/apikey/', adminKey, { name: 'Edit by orgs', mode: 'read', limited_to_orgs: [goneOrg, defaultOrg] })).json.apikey
    expect((await call('DELETE', '/app/com.edit.gone/', adminKey)).status).toBe(200)
    expect((await call('DELETE', `/organization/${goneOrg}/`, adminKey)).status).toBe(200)

    const edit = page.getByRole('form', { name: 'Edit key' })
    /** Saves the edit form; the body of the PUT it sent. */
    const save = async () => {
      const [request] = await Promise.all([
        page.waitForRequest((request) => request.method() === 'PUT'),
        edit.getByRole('button', { name: 'Save changes' }).click(),
      ])
      return request.postDataJSON() as Record<string, unknown>
    }
    for (const [key, deleted, name] of [[byApps, 'com.edit.gone', 'Edit by apps, renamed'], [byOrgs, goneOrg, 'Edit by orgs, renamed']] as const) {
      await page.goto(url(`#/keys/${key.id}`))
      await heading(key.name)
      // The box of what was deleted since is there, checked.
      const box = edit.getByRole('checkbox', { name: new RegExp(`^${deleted.replace(/\./g, '\\.')}\\b`) })
      expect(await box.isChecked()).toBe(true)
      if (key === byOrgs) await photograph('edit-unlisted')
      await edit.getByRole('textbox', { name: 'Name', exact: true }).fill(name)
      expect(await save()).toEqual({ name })
      await heading(name)
      const after = (await call('GET', `/apikey/${key.id}/`, adminKey)).json.apikey
      expect({ apps: after.limited_to_apps, orgs: after.limited_to_orgs }).toEqual({ apps: key.limited_to_apps, orgs: key.limited_to_orgs })
      // Saying why the pickers do not list it.
      expect(await box.locator('xpath=..').innerText()).toBe(`${deleted} · not listed: deleted, or out of reach`)
    }

    // Unchecking every app would make the key reach all apps: the console asks first.
    await page.goto(url(`#/keys/${byApps.id}`))
    await heading('Edit by apps, renamed')
    const checked = edit.getByRole('group', { name: 'Limit to apps' }).getByRole('checkbox', { checked: true })
    while ((await checked.count()) > 0) await checked.first().uncheck()
    const puts: string[] = []
    const onRequest = (request: Request) => void (request.method() === 'PUT' && puts.push(request.postData() ?? ''))
    page.on('request', onRequest)
    await edit.getByRole('button', { name: 'Save changes' }).click()
    const ask = page.getByRole('dialog', { name: 'Remove the limit to apps?' })
    await ask.getByText('now limited to com.edit.gone, com.edit.kept, would reach all the apps its user can').waitFor()
    await scan('edit-unlimit')
    await photograph('edit-unlimit')
    await ask.getByRole('button', { name: 'Cancel' }).click()
    await ask.waitFor({ state: 'detached' })
    page.off('request', onRequest)
    expect(puts).toEqual([])
    expect((await call('GET', `/apikey/${byApps.id}/`, adminKey)).json.apikey.limited_to_apps).toEqual(['com.edit.gone', 'com.edit.kept'])
    // Confirmed, the empty list is sent: the key is limited to apps no more.
    const [confirmed] = await Promise.all([
      page.waitForRequest((request) => request.method() === 'PUT'),
      (async () => {
        await edit.getByRole('button', { name: 'Save changes' }).click()
        await ask.getByRole('button', { name: 'Save without the limit' }).click()
      })(),
    ])
    expect(confirmed.postDataJSON()).toEqual({ limited_to_apps: [] })
    await page.locator('.facts').getByText('none (all it can reach)').waitFor()
    watch.expectClean()
  }, TEST_TIMEOUT)

  test('an address with no screen: "Not found", in place of the screen shown before', async () => {
    await menu('Apps')
    await heading('Apps')
    for (const hash of ['#/keys/abc', '#/nope', '#/keys/12/extra', '#/orgs/%E0%A4%A']) {
      await page.evaluate(`location.hash = ${JSON.stringify(hash)}`)
      await heading('Not found')
      expect(await page.getByRole('main').innerText()).toContain(`The console has no screen at ${hash}.`)
      expect(await page.getByRole('heading', { level: 1, name: 'Apps' }).count()).toBe(0)
      expect(await page.title()).toBe('Not found · CodePushGo console')
    }
    // No menu entry is the current one.
    expect(await page.getByRole('navigation', { name: 'Main' }).locator('[aria-current]').count()).toBe(0)
    await scan('not-found')
    await photograph('not-found')
    await page.getByRole('link', { name: '← Keys' }).click()
    await heading('API keys')
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
    const dialog = page.getByRole('dialog', { name: 'Copy the new key now' })
    await dialog.getByText('Key “Console limited” was rotated: this new key replaces it.').waitFor()
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
    // The old key's page names its successor and offers no second rotation (409 already_rotated).
    await page.goto(url(`#/keys/${limited.id}`))
    await heading('Console limited')
    await page.locator('.notice').filter({ hasText: `Rotated: key ${rotated.id} (“Console limited”) replaces it.` }).waitFor()
    expect(await page.getByRole('button', { name: 'Rotate…' }).count()).toBe(0)
    // Nor can its expiry move past the grace end: keep it, or pick an earlier day.
    expect(await enabledOptions(page.getByRole('form', { name: 'Edit key' }).getByLabel('Expires', { exact: true }))).toEqual(['keep', 'date'])
    await scan('rotated-away')
    await photograph('rotated-away')
    await menu('Keys')
    await page.getByText(`replaced by key ${rotated.id}`).waitFor()
    await page.getByText(`replaces key ${limited.id}`).waitFor()
    await page.goto(url(`#/keys/${rotated.id}`))
    await heading('Console limited')
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

  test("an org's key policy: set on its screen; the key forms offer only the expiries it allows", async () => {
    await menu('Organizations')
    await heading('Organizations')
    await page.getByRole('form', { name: 'New organization' }).getByLabel('Name').fill('Policy org')
    await page.getByRole('button', { name: 'Create organization' }).click()
    await heading('Policy org')
    const orgId = decodeURIComponent(new URL(page.url()).hash.split('/')[2]!)
    const policy = page.getByRole('form', { name: 'Key policy' })
    await policy.getByLabel('Limit how long keys live').check()
    await policy.getByLabel('Longest life of a key, in days').fill('30')
    // A maximum implies an expiry.
    expect(await policy.getByLabel('Every key must have an expiry').isChecked()).toBe(true)
    await policy.getByRole('button', { name: 'Save key policy' }).click()
    await page.getByRole('status').filter({ hasText: 'Key policy saved: keys live at most 30 days.' }).waitFor()
    await page.locator('.facts').getByText('keys live at most 30 days').waitFor()
    expect((await call('GET', `/organization/${orgId}/`, adminKey)).json.organization.key_policy).toEqual({ max_key_lifetime_days: 30, require_expiry: true })
    await scan('organization-policy')
    await photograph('organization-policy')
    // An app of the org: the policy governs the keys limited to it too.
    await page.getByRole('link', { name: 'Apps of this organization →' }).click()
    await heading('Apps')
    await page.getByLabel('App id').fill('com.policy.app')
    await page.getByRole('form', { name: 'New app' }).getByLabel('Name').fill('Policy app')
    await page.getByRole('button', { name: 'Create app' }).click()
    await page.getByRole('rowheader', { name: 'com.policy.app' }).waitFor()

    await page.goto(url('#/keys/new'))
    await heading('Create a key')
    const expiry = page.getByLabel('Expires', { exact: true })
    const hint = page.locator(`#${await expiry.getAttribute('aria-describedby')}`)
    expect(await enabledOptions(expiry)).toEqual(['default', '7', '30', '90', '365', 'date'])
    await page.getByLabel(/^Policy org/).check()
    expect(await enabledOptions(expiry)).toEqual(['7', '30', 'date'])
    expect(await expiry.inputValue()).toBe('30')
    expect(await hint.innerText()).toContain('Policy org’s key policy: at most 30 days')
    await scan('create-key-policy')
    await photograph('create-key-policy')
    await page.getByLabel(/^Policy org/).uncheck()
    expect(await enabledOptions(expiry)).toEqual(['default', '7', '30', '90', '365', 'date'])
    // Limited to an app of the org, the key is governed through it.
    await page.getByLabel(/^Policy app \(com\.policy\.app/).check()
    expect(await enabledOptions(expiry)).toEqual(['7', '30', 'date'])
    await page.getByRole('textbox', { name: 'Name', exact: true }).fill('Under the policy')
    await page.getByRole('button', { name: 'Create key' }).click()
    const dialog = page.getByRole('dialog', { name: 'Copy the new key now' })
    const made = await dialog.getByLabel('Your new API key').inputValue()
    await dialog.getByRole('button', { name: 'I have stored it' }).click()
    await heading('Under the policy')
    const life = Date.parse((await call('GET', '/apikey/verify', made)).json.apikey.expires_at) - Date.now()
    expect(life).toBeGreaterThan(29 * DAY)
    expect(life).toBeLessThanOrEqual(30 * DAY)
    // Editing it: no "never", nothing later than 30 days after its creation.
    expect(await enabledOptions(page.getByRole('form', { name: 'Edit key' }).getByLabel('Expires', { exact: true }))).toEqual(['keep', '7', 'date'])

    // The list of keys names the org, and the list of orgs its policy.
    await call('POST', '/apikey/', adminKey, { name: 'Policy org key', mode: 'read', limited_to_orgs: [orgId], expires_at: new Date(Date.now() + 10 * DAY).toISOString() })
    await menu('Keys')
    await page.getByRole('row').filter({ hasText: 'Policy org key' }).getByText('orgs: Policy org').waitFor()
    await menu('Organizations')
    await page.getByRole('row').filter({ hasText: 'Policy org' }).getByText('keys live at most 30 days').waitFor()
    // Deleting the org names the apps that go with it.
    await page.getByRole('link', { name: 'Policy org' }).click()
    await heading('Policy org')
    await page.getByRole('button', { name: 'Delete organization…' }).click()
    const confirm = page.getByRole('dialog', { name: 'Delete Policy org?' })
    await confirm.getByText('Its app (com.policy.app) is deleted with it').waitFor()
    await confirm.getByRole('button', { name: 'Cancel' }).click()
    await confirm.waitFor({ state: 'detached' })

    // A signed-in key that expires caps the keys it makes.
    const expiring = (await call('POST', '/apikey/', adminKey, { name: 'Expires in 10 days', mode: 'all', expires_at: new Date(Date.now() + 10 * DAY).toISOString() })).json.apikey
    const { context: other, page: expiringPage } = await signedIn(expiring.key)
    await expiringPage.goto(url('#/keys/new'))
    await heading('Create a key', expiringPage)
    const capped = expiringPage.getByLabel('Expires', { exact: true })
    // The heading comes first, the form once the pickers are loaded.
    await capped.waitFor()
    expect(await enabledOptions(capped)).toEqual(['default', '7', 'date'])
    expect(await capped.locator('option[value=default]').innerText()).toMatch(/^When the signed-in key expires/)
    await other.close()
    watch.expectClean()
  }, TEST_TIMEOUT)

  test("a key rotated behind the console's back: the 409 is shown in words, and the page names its successor", async () => {
    const key = (await call('POST', '/apikey/', adminKey, { name: 'Rotated elsewhere', mode: 'read' })).json.apikey
    await page.goto(url(`#/keys/${key.id}`))
    await heading('Rotated elsewhere')
    const successor = (await call('POST', `/apikey/${key.id}/rotate`, adminKey, { grace_period_seconds: 60 })).json.apikey
    await page.getByRole('button', { name: 'Rotate…' }).click()
    await page.getByRole('dialog', { name: 'Rotate this key?' }).getByRole('button', { name: 'Rotate' }).click()
    await page.getByRole('alert').filter({ hasText: `API key was already rotated (successor: ${successor.id}) (409 already_rotated)` }).waitFor()
    await page.locator('.notice').getByRole('link', { name: `key ${successor.id} (“Rotated elsewhere”)` }).waitFor()
    expect(await page.getByRole('button', { name: 'Rotate…' }).count()).toBe(0)
    await scan('rotated-elsewhere')
    watch.expectClean()
  }, TEST_TIMEOUT)

  test('an expired key: no rotation, no enabling, and its expiry cannot be moved', async () => {
    const key = (await call('POST', '/apikey/', adminKey, { name: 'About to expire', mode: 'read', expires_at: new Date(Date.now() + 1500).toISOString() })).json.apikey
    // The binary keeps real time: wait for the expiry to pass (on the browser's clock).
    await page.waitForFunction((at) => Date.now() > at, Date.parse(key.expires_at) + 100, { timeout: WAIT })
    await page.goto(url(`#/keys/${key.id}`))
    await heading('About to expire')
    await page.locator('.notice').filter({ hasText: 'Expired: it gets 401 and cannot be brought back.' }).waitFor()
    for (const action of ['Rotate…', 'Disable', 'Enable']) expect(await page.getByRole('button', { name: action, exact: true }).count()).toBe(0)
    expect(await enabledOptions(page.getByRole('form', { name: 'Edit key' }).getByLabel('Expires', { exact: true }))).toEqual(['keep'])
    await scan('expired')
    await photograph('expired')
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
    // The heading takes the focus for screen readers; it is no control, and draws no focus ring.
    expect(await page.evaluate('getComputedStyle(document.activeElement).outlineStyle')).toBe('none')
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
