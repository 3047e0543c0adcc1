/**
 * Paging of GET /apikey/ and GET /audit/ (SPEC §7): newest first, `?limit=` per page, and
 * either `?page=` (0-based) or `?after=<the last id of the previous page>` (keyset), never both.
 * One table, run against both lists.
 */
import { describe, expect, test } from 'bun:test'
import { MAX_AUDIT_OFFSET } from '../src/modules/audit/service'
import { seededWorld } from './helpers/world'

type World = Awaited<ReturnType<typeof seededWorld>>
type Item = { id: number }

/** The index of an item followed by one whose id is not the next lower (ids left by deletions, or another user's). */
function gapAfter(all: Item[]): number {
  const i = all.findIndex((item, n) => n + 1 < all.length && item.id - all[n + 1]!.id > 1)
  if (i === -1) throw new Error('no gap in the ids')
  return i
}

/** Each list with a world holding at least 9 items in it, with a gap in their ids. */
const lists: Record<string, { path: string; world: () => Promise<World> }> = {
  'GET /apikey/': {
    path: '/apikey/',
    async world() {
      const w = await seededWorld()
      for (let i = 0; i < 10; i++) await w.aliceKey({ name: `k${i}`, mode: i % 2 === 0 ? 'read' : 'upload' })
      // A gap in the ids: a deleted key.
      const gone = await w.aliceKey({ name: 'gone', mode: 'read' })
      await w.request('DELETE', `/apikey/${gone.id}`, { key: w.alice.key })
      await w.aliceKey({ name: 'last', mode: 'read' })
      return w
    },
  },
  'GET /audit/': {
    path: '/audit/',
    async world() {
      const w = await seededWorld()
      for (let i = 0; i < 6; i++) await w.aliceKey({ name: `k${i}`, mode: 'read' })
      return w
    },
  },
}

for (const [name, list] of Object.entries(lists)) {
  describe(`${name} paging`, () => {
    async function setup() {
      const w = await list.world()
      const get = async (query: string) => w.request('GET', `${list.path}?${query}`, { key: w.alice.key })
      const all = (await get('limit=1000')).json.data as Item[]
      expect(all.length).toBeGreaterThanOrEqual(9)
      return { w, get, all }
    }
    const ids = (items: Item[]) => items.map((item) => item.id)

    // [what, query from the full list, the slice of it expected]
    const pages: [string, (all: Item[]) => string, (all: Item[]) => Item[]][] = [
      ['first page', () => 'limit=3', (all) => all.slice(0, 3)],
      ['middle page by number', () => 'limit=3&page=1', (all) => all.slice(3, 6)],
      ['middle page after the first', (all) => `limit=3&after=${all[2]!.id}`, (all) => all.slice(3, 6)],
      ['last page by number', (all) => `limit=3&page=${Math.ceil(all.length / 3) - 1}`, (all) => all.slice((Math.ceil(all.length / 3) - 1) * 3)],
      ['last page after the one before', (all) => `limit=3&after=${all[all.length - 4]!.id}`, (all) => all.slice(-3)],
      ['a page past the end', (all) => `limit=3&page=${Math.ceil(all.length / 3)}`, () => []],
      ['after the last item', (all) => `after=${all.at(-1)!.id}`, () => []],
      ['after an id above every item', (all) => `after=${all[0]!.id + 1000}`, (all) => all],
      ['after an id that is no item (between two)', (all) => `after=${all[gapAfter(all)]!.id - 1}`, (all) => all.slice(gapAfter(all) + 1)],
      ['the default limit, after', (all) => `after=${all[1]!.id}`, (all) => all.slice(2)],
    ]
    test.each(pages)('%s', async (_what, query, expected) => {
      const { get, all } = await setup()
      const res = await get(query(all))
      expect(res.status).toBe(200)
      expect(ids(res.json.data)).toEqual(ids(expected(all)))
    })

    test('following `after` from the first page to an empty one walks the whole list once', async () => {
      const { get, all } = await setup()
      const walked: Item[] = []
      let query = 'limit=2'
      for (let guard = 0; guard < 100; guard++) {
        const page = (await get(query)).json.data as Item[]
        if (page.length === 0) break
        walked.push(...page)
        query = `limit=2&after=${page.at(-1)!.id}`
      }
      expect(ids(walked)).toEqual(ids(all))
    })

    test.each([
      'after=0', 'after=-1', 'after=abc', 'after=1.5', 'after=', 'after=1e3', 'after=0x10', 'after=9999999999999999',
      'page=0&after=5', 'page=1&after=5', 'limit=0&after=5',
    ])('?%s → 400 validation_error, and nothing changes', async (query) => {
      const { w, get } = await setup()
      const before = (await w.snapshot())
      const res = await get(query)
      expect(res.status).toBe(400)
      expect(res.json).toMatchObject({ status: 'KO', code: 'validation_error' })
      expect((await w.snapshot())).toBe(before)
    })
  })
}

describe('list-specific paging', () => {
  test('GET /apikey/: filters apply before the page, with `after` as with `page`', async () => {
    const w = await lists['GET /apikey/']!.world()
    const get = async (query: string) => ((await w.request('GET', `/apikey/?${query}`, { key: w.alice.key })).json.data as { id: number; mode: string }[])
    const reads = await get('mode=read&limit=1000')
    expect(reads.length).toBeGreaterThan(3)
    expect((await get(`mode=read&limit=2&after=${reads[1]!.id}`)).map((k) => k.id)).toEqual(reads.slice(2, 4).map((k) => k.id))
    expect((await get('mode=read&limit=2&page=1')).map((k) => k.id)).toEqual(reads.slice(2, 4).map((k) => k.id))
  })

  test(`GET /audit/: a page may start at most ${MAX_AUDIT_OFFSET} events deep; \`after\` goes further`, async () => {
    const w = await seededWorld()
    const get = (query: string) => w.request('GET', `/audit/?${query}`, { key: w.alice.key })
    expect((await get(`limit=1000&page=${MAX_AUDIT_OFFSET / 1000}`)).status).toBe(200)
    const deep = await get(`limit=1000&page=${MAX_AUDIT_OFFSET / 1000 + 1}`)
    expect(deep.status).toBe(400)
    expect(deep.json.error).toContain("'after'")
    expect((await get(`limit=1&page=${MAX_AUDIT_OFFSET + 1}`)).status).toBe(400)
  })
})
