/**
 * The read model, its targeted changes and the kept JSON texts, checked against the database
 * itself: random sequences of key writes, rotations, deletions, last-use flushes, clock jumps
 * and membership changes, and after each step the answers of verify, the key list and the app
 * list compared with the same computation by a read model that keeps nothing. Any entry that outlives its change shows up as a difference. Each seed runs once
 * with the default size and once with a read model too small to hold the world, so that
 * entries are evicted all along.
 */
import { expect, test } from 'bun:test'
import { keyHashFromHeader, refusalOf } from '../src/access/authenticate'
import { AppError } from '../src/errors'
import { listApiKeys } from '../src/modules/apikey/service'
import { toApiKeyView } from '../src/modules/apikey/view'
import { listApps } from '../src/modules/app/service'
import { seededWorld } from './helpers/world'

function rng(seed: number) {
  return () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff)
}

const SEEDS = 8
const STEPS = 150

/** A read model of 8 KiB holds a few keys and lists at a time. */
const TINY_CACHE_MB = 8 / 1024

for (const [seed, cacheMb] of Array.from({ length: SEEDS }, (_, i) => [i + 1, i % 2 === 0 ? undefined : TINY_CACHE_MB] as const)) {
  test(`cached answers equal the database's, seed ${seed}${cacheMb === undefined ? '' : ', a read model of 8 KiB'}`, async () => {
    const w = await seededWorld({ limits: { authFailureLimit: { requests: 1_000_000, per_seconds: 1 } }, cacheMb })
    const r = rng(seed)
    const pick = <T>(xs: T[]) => xs[Math.floor(r() * xs.length)]!
    const keys: { id: number; key: string }[] = [{ id: w.alice.keyId, key: w.alice.key }]
    const modes = ['read', 'upload', 'write', 'all']
    const orgLimits = [[], [w.orgs.aliceMain], [w.orgs.aliceSide]]
    const appLimits = [[], [w.apps.aliceOne], [w.apps.aliceSide]]
    // Fresh: a twin of the read model that keeps nothing, reading what is committed.
    const fresh = w.core.readModel.uncached(w.core.store)
    const freshAuth = async (key: string) => {
      const hash = keyHashFromHeader(key)
      const stored = hash instanceof AppError ? null : await fresh.keyByHash(hash)
      const refusal = hash instanceof AppError ? hash : refusalOf(w.core, stored)
      return refusal !== null ? { e: `${refusal.status}:${refusal.code}` } : { p: stored! }
    }
    for (let step = 0; step < STEPS; step++) {
      const op = r()
      const caller = pick(keys)
      if (op < 0.15) {
        const res = await w.request('POST', '/apikey/', { key: caller.key, body: { name: 'k' + step, mode: pick(modes), limited_to_orgs: pick(orgLimits), limited_to_apps: pick(appLimits) } })
        if (res.status === 201) keys.push({ id: res.json.apikey.id, key: res.json.apikey.key })
      } else if (op < 0.35) {
        const target = pick(keys)
        const body: Record<string, unknown> = pick([
          { mode: pick(modes) }, { enabled: r() < 0.5 }, { name: 'n' + step }, { limited_to_orgs: pick(orgLimits) },
          { limited_to_apps: pick(appLimits) }, { expires_at: new Date(w.clock.nowMs() + 3_600_000).toISOString() }, { expires_at: null },
          { rate_limit: r() < 0.5 ? null : { requests: 1_000_000, per_seconds: 1 } },
        ])
        await w.request('PUT', `/apikey/${target.id}`, { key: caller.key, body })
      } else if (op < 0.42) {
        const target = pick(keys)
        const res = await w.request('POST', `/apikey/${target.id}/rotate`, { key: caller.key, body: r() < 0.5 ? { grace_period_seconds: 60 } : undefined })
        if (res.status === 201) keys.push({ id: res.json.apikey.id, key: res.json.apikey.key })
      } else if (op < 0.47) {
        const target = pick(keys)
        await w.request('DELETE', `/apikey/${target.id}`, { key: caller.key })
      } else if (op < 0.52) {
        await w.core.usage.flush()
      } else if (op < 0.56) {
        w.clock.advance(pick([1000, 1_800_000, 7_200_000]))
      } else if (op < 0.6) {
        // Membership churn: a full-cache write between the key writes.
        await w.request('POST', `/organization/${w.orgs.aliceSide}/members`, { key: w.alice.key, body: { email: 'bob@example.com', role: pick(modes) } })
        await w.request('DELETE', `/organization/${w.orgs.aliceSide}/members/${w.bob.user.id}`, { key: w.alice.key })
      }
      // Check a few reads against fresh computation.
      for (let c = 0; c < 3; c++) {
        const k = pick(keys)
        const expected = await freshAuth(k.key)
        const verify = await w.request('GET', '/apikey/verify', { key: k.key })
        if ('e' in expected) {
          expect(`${verify.status}:${verify.json.code}`).toBe(expected.e!)
          continue
        }
        expect(verify.status).toBe(200)
        const row = (await w.core.store.apikeys.findById(k.id))!
        expect(verify.json.apikey).toEqual(JSON.parse(JSON.stringify(toApiKeyView(row, { expiresAt: await fresh.keyExpiry(row) }))))
        const filters: Record<string, unknown> = {}
        if (r() < 0.3) filters.mode = pick(modes)
        if (r() < 0.2) filters.org_id = pick([w.orgs.aliceMain, w.orgs.aliceSide])
        if (r() < 0.2) filters.app_id = pick([w.apps.aliceOne, w.apps.aliceSide])
        const paging = r()
        if (paging < 0.3) {
          filters.limit = pick([1, 2, 3])
          filters.page = pick([0, 1])
        } else if (paging < 0.5) {
          filters.limit = pick([1, 2, 3])
          filters.after = String(pick(keys).id + pick([0, 1]))
        }
        const qs = new URLSearchParams(filters as Record<string, string>).toString()
        const list = await w.request('GET', `/apikey/${qs ? '?' + qs : ''}`, { key: k.key })
        const p = expected.p!
        if (p.mode !== 'all') { expect(list.status).toBe(403); continue }
        const want = listApiKeys((await fresh.keyList(p.userId)).rows, p, filters as never).map((row) => JSON.parse(row.json))
        expect(list.status).toBe(200)
        expect(list.json.data).toEqual(JSON.parse(JSON.stringify(want)))
        const appFilter = r() < 0.3 ? { org_id: pick([w.orgs.aliceMain, w.orgs.aliceSide]) } : {}
        const apps = await w.request('GET', `/app/${appFilter.org_id ? `?org_id=${appFilter.org_id}` : ''}`, { key: k.key })
        const wantApps = (await listApps({ ...w.core, readModel: fresh }, p, appFilter)).map((app) => app.record)
        expect(apps.json.data).toEqual(JSON.parse(JSON.stringify(wantApps)))
      }
    }
  })
}
