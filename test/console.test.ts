/**
 * /console over app.handle (the `bun run` path, where the page is bundled on the first
 * request): the page and its files with the console's strict CSP, relative URLs, and caching
 * by hash. The compiled binary's path is covered by test/e2e/console-browser.test.ts.
 */
import { describe, expect, test } from 'bun:test'
import { CONSOLE_HEADERS } from '../src/http/security-headers'
import { testServer } from './helpers/app'

/** The URLs the page refers to (src and href), in order. */
const references = (html: string) => [...html.matchAll(/(?:src|href)="([^"]*)"/g)].map((match) => match[1]!)

describe('GET /console', () => {
  const { request } = testServer()

  test.each([
    ['/console', 'console/'],
    ['/console/', './'],
  ])('%s: the page, no-cache, with the strict CSP and asset URLs relative to it (%s…)', async (path, prefix) => {
    const page = await request('GET', path)
    expect(page.status).toBe(200)
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8')
    expect(page.headers.get('cache-control')).toBe('no-cache')
    for (const [name, value] of Object.entries(CONSOLE_HEADERS)) expect(page.headers.get(name)).toBe(value)
    const csp = page.headers.get('content-security-policy')!
    expect(csp).toContain("default-src 'self'")
    expect(csp).toContain("script-src 'self';")
    expect(csp).toContain("style-src 'self';")
    expect(csp).toContain("frame-ancestors 'none'")
    expect(csp).not.toContain('unsafe')
    // No inline script or style: every script has a src, and no style element or attribute.
    expect(page.text.match(/<script\b[^>]*>/g)).toEqual([expect.stringMatching(/ src="/)])
    expect(page.text).not.toMatch(/<style\b| style=/)
    const assets = references(page.text).filter((url) => url !== '#main')
    expect(assets).toHaveLength(3) // icon, style sheet, script
    for (const url of assets) expect(url).toMatch(new RegExp(`^${prefix.replace('.', '\\.')}[\\w-]+-[a-z0-9]+\\.(js|css|svg)$`))
  })

  test('its files: hashed names, cached for good, with the same headers; anything else is a 404 envelope', async () => {
    const page = await request('GET', '/console/')
    const files = references(page.text).filter((url) => url.startsWith('./')).map((url) => `/console/${url.slice(2)}`)
    const types: string[] = []
    for (const path of files) {
      const file = await request('GET', path)
      expect(file.status).toBe(200)
      expect(file.headers.get('cache-control')).toBe('public, max-age=31536000, immutable')
      expect(file.headers.get('content-security-policy')).toBe(CONSOLE_HEADERS['content-security-policy'])
      expect(file.headers.get('x-content-type-options')).toBe('nosniff')
      types.push(file.headers.get('content-type')!.split(';')[0]!)
    }
    expect(types.sort()).toEqual(['image/svg+xml', 'text/css', 'text/javascript'])
    for (const path of ['/console/nope.js', '/console/..%2Fpackage.json', '/console/index.html']) {
      const missing = await request('GET', path)
      expect(missing.status).toBe(404)
      expect(missing.json).toEqual({ error: 'Not found', status: 'KO', code: 'not_found' })
    }
  })

  test('the script keeps the key in sessionStorage at most: never localStorage, never a cookie', async () => {
    const page = await request('GET', '/console/')
    const script = references(page.text).find((url) => url.endsWith('.js'))!
    const text = (await request('GET', `/console/${script.slice(2)}`)).text
    expect(text).toContain('sessionStorage')
    expect(text).not.toContain('localStorage')
    expect(text).not.toContain('document.cookie')
    // Relative API calls: no absolute path to the API in the script.
    expect(text).not.toMatch(/["'`]\/(apikey|organization|app|audit)\//)
  })

  test('needs no key, and is not in the OpenAPI document', async () => {
    expect((await request('GET', '/console')).status).toBe(200)
    const doc = (await request('GET', '/swagger/json')).json
    expect(Object.keys(doc.paths).filter((path) => path.startsWith('/console'))).toEqual([])
  })
})
