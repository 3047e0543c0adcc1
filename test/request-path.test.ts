/**
 * The path served is the path requested, whatever the host in the URL (issue #17): through
 * `app.handle`, which routes every request the way the server routes those Bun's router does
 * not know. test/e2e/request-path.test.ts sends the odd Host headers themselves to the binary.
 */
import { describe, expect, test } from 'bun:test'
import { seededWorld } from './helpers/world'

describe('the path after a short host is the path served', async () => {
  const world = await seededWorld({ metrics: true })
  const { app } = world
  const get = (url: string) => app.handle(new Request(url, { headers: { authorization: world.alice.key } }))

  test.each(['http://a', 'http://ab', 'http://abc', 'http://[::1]', 'http://ab:1'])('%s', async (origin) => {
    for (const path of ['/xx/metrics', '/xx/apikey/verify', '/xx/health', '/x/swagger', '/xx/apikey/1']) {
      const answer = await get(origin + path)
      expect([path, answer.status]).toEqual([path, 404])
    }
    expect((await get(`${origin}/metrics`)).status).toBe(200)
    expect((await get(`${origin}/apikey/verify`)).status).toBe(200)
    expect((await get(`${origin}/apikey/?mode=bogus/aaaaaaaaaa`)).status).toBe(400)
  })
})
