/**
 * `bun bench/cold-cache.ts`: what scenario (a)'s work costs when the CPU's caches are cold, as
 * they are between a loaded server's requests (wrk and the kernel's networking run on the same
 * two cores in between, and evict the server's code and data).
 *
 * In-process, over the bench's seed, it times two handlers per request:
 * - `app.handle` for GET /apikey/verify (the server's whole work);
 * - the replay's work (bench/baseline.ts): reading the URL and the `authorization` header, then
 *   answering the server's recorded answer.
 * Each runs hot (request after request) and cold (an 8 MB walk between requests). The walk
 * itself is not timed. It prints the median microseconds per request over the rounds
 * (docs/performance.md, "Cold caches").
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createApp } from '../src/app'
import { openCore } from '../src/cli/open'
import { jsonLogger } from '../src/http/logger'
import { asRecorded, replaying } from './answer'
import { median } from './report'
import { seed } from './seed'

const ROUNDS = 5
const REQUESTS = 3000
/** More than this machine's L2 and its share of L3: the walk leaves no request's line cached. */
const EVICT_BYTES = 8 * 1024 * 1024

type Handler = (request: Request) => Response | Promise<Response>

const evictionBuffer = new Uint8Array(EVICT_BYTES)
/** Touches every cache line of the buffer (written, so that no line can be shared clean). */
function evictCaches(): void {
  for (let i = 0; i < evictionBuffer.length; i += 64) evictionBuffer[i]!++
}

/** Mean microseconds per request of `handle` over `requests`, with the caches evicted before each when `cold`. */
async function timePerRequest(handle: Handler, requests: Request[], cold: boolean): Promise<number> {
  let spentMs = 0
  for (const request of requests) {
    if (cold) evictCaches()
    const started = performance.now()
    const answer = handle(request)
    if (answer instanceof Promise) await answer
    spentMs += performance.now() - started
  }
  return (spentMs * 1000) / requests.length
}

const dir = mkdtempSync(join(tmpdir(), 'codepushgo-cold-cache-'))
try {
  await (await openCore({ kind: 'sqlite', dir })).store.close() // migrated
  const seeded = seed(dir)
  const core = await openCore({ kind: 'sqlite', dir })
  const app = createApp({ ...core, log: jsonLogger(() => {}), version: 'bench', limits: { authFailureLimit: { requests: 999_999_999, per_seconds: 1 } } })
  const url = `http://localhost/apikey/verify?mode=read&app_id=${encodeURIComponent(seeded.verifyApp)}`
  const requests = () => Array.from({ length: REQUESTS }, (_, i) => new Request(url, { headers: { authorization: seeded.verifyKeys[i % seeded.verifyKeys.length]! } }))

  const replay = replaying(await asRecorded(await app.handle(requests()[0]!)))
  const handlers: [string, Handler][] = [['the server (app.handle)', (request) => app.handle(request)], ["the replay's work", replay]]

  // Warm-up: every key cached, every function compiled.
  for (let i = 0; i < 10; i++) for (const [, handle] of handlers) await timePerRequest(handle, requests(), false)
  const times = new Map<string, number[]>()
  for (let round = 0; round < ROUNDS; round++) {
    for (const [name, handle] of handlers) {
      for (const cold of [false, true]) {
        const label = `${name}, ${cold ? 'cold' : 'hot'}`
        times.set(label, [...(times.get(label) ?? []), await timePerRequest(handle, requests(), cold)])
      }
    }
  }
  for (const [label, values] of times) {
    console.log(`${label}: ${median(values).toFixed(1)} µs per request (rounds: ${values.map((v) => v.toFixed(1)).join(', ')})`)
  }
  await core.store.close()
} finally {
  rmSync(dir, { recursive: true, force: true })
}
