/**
 * The bench's wide part, on the 1,000,000-key database of bench/seed-wide.ts:
 * - startup (spawn → first 200 on /health) and the server's peak RSS over the whole part;
 * - (a) verify on 1,000 hot keys and (f) verify rotating over 100,000 others, interleaved in
 *   rounds, each after a run of the bare baseline, with the event loop's delay during each run
 *   (from /metrics: the server runs with --metrics);
 * - (g) GET /apikey/ and GET /audit/ of a user with 1,000 keys and 1,000,000 audit events:
 *   the first page, the last one by `after`, and the deepest a `page` may go, interleaved;
 * - the write path at size: 100,000 keys made through the API (125 writers, 32 at a time,
 *   from this process), then verify rotating over them, interleaved with (a).
 */
import type { Subprocess } from 'bun'
import { join } from 'node:path'
import { rotatingGet, constantGet } from './lua'
import { memoryMb, rssSampler, startServer, stopServer } from './processes'
import type { MeasuredRun } from './report'
import { planWide, KEYS_PER_WRITER, LISTED_KEYS, WIDE_VERIFY_APP, wideDatabase, wideKey, WRITERS } from './seed-wide'
import { requestsPerSecond } from './wrk'

/** How late the event loop ran a 10 ms timer during a run, from the server's /metrics. */
export interface LoopDelay {
  p99Ms: number
  maxMs: number
}

export type DelayedRun = MeasuredRun & { loopDelay: LoopDelay | null }

export interface WideRound {
  baseline: MeasuredRun
  /** (a): 1,000 hot keys. */
  hot: DelayedRun
  /** (f): 100,000 keys in turn. */
  wide: DelayedRun
}

export interface PagingCase {
  label: string
  path: string
  /** The case this one's cost is compared with (its list's first page), and the most it may cost, as a multiple. */
  comparedWith?: string
  maxCost?: number
  runs: MeasuredRun[]
}

export interface WriteRun {
  keys: number
  seconds: number
  p50Ms: number
  p99Ms: number
  /** Answers other than 201, by status (or `error` for a failed request). */
  failures: Record<string, number>
}

export interface WideResult {
  seededMs: number
  copiedMs: number
  dbMb: number
  startupMs: number
  rounds: WideRound[]
  paging: PagingCase[]
  writes: WriteRun
  /** Verify rotating over the keys made through the API, each after a run of (a). */
  madeRounds: { hot: MeasuredRun; made: MeasuredRun }[]
  /** The server's peak RSS through (a), (f) and (g): 100,000 keys in use. */
  peakRssInUseMb: number
  /** Through the whole part, the 100,000 keys made and then used too. */
  peakRssMb: number
  /** The server's read model at the end: what it held and how often keys were found in it. */
  readModel: { entries: number; mb: number; budgetMb: number; hits: number; misses: number }
  odd: string[]
}

/** What the wide part needs of the run: the binary, where to work, and how to run wrk. */
export interface WideContext {
  root: string
  binary: string
  work: string
  rounds: number
  serverFlags: readonly string[]
  baseline: { url: string; child: Subprocess }
  baselineScript: string
  /** A timed wrk run of `script` against `url`, measuring the CPU of `pid`; a warm-up first when asked. */
  timedRun(label: string, url: string, script: string, pid: number, warmUp: boolean): Promise<MeasuredRun>
  /** Writes a Lua script into the work directory; returns its path. */
  script(name: string, text: string): string
}

/** The server's metrics as name → value (only unlabelled lines, and the key lookups by result). */
async function scrape(url: string): Promise<Map<string, number>> {
  const text = await (await fetch(`${url}/metrics`)).text()
  const values = new Map<string, number>()
  for (const line of text.split('\n')) {
    const match = /^([a-z_0-9]+(?:\{result="[a-z]+"\})?) (\S+)$/.exec(line)
    if (match) values.set(match[1]!, Number(match[2]))
  }
  return values
}

/** Makes `WRITERS × KEYS_PER_WRITER` keys through the API, `concurrency` requests at a time. */
async function makeKeys(url: string, concurrency: number): Promise<{ run: WriteRun; keys: string[] }> {
  const jobs = Array.from({ length: WRITERS * KEYS_PER_WRITER }, (_, n) => ({ writer: wideKey(1 + (n % WRITERS)), n }))
  const keys: string[] = []
  const latencies: number[] = []
  const failures: Record<string, number> = {}
  let next = 0
  const started = performance.now()
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < jobs.length) {
        const { writer, n } = jobs[next++]!
        const sent = performance.now()
        try {
          const response = await fetch(`${url}/apikey/`, {
            method: 'POST',
            headers: { authorization: writer, 'content-type': 'application/json' },
            body: JSON.stringify({ name: `made ${n}`, mode: 'read' }),
          })
          const body = (await response.json()) as { apikey?: { key: string } }
          latencies.push(performance.now() - sent)
          if (response.status === 201 && body.apikey) keys.push(body.apikey.key)
          else failures[response.status] = (failures[response.status] ?? 0) + 1
        } catch {
          failures.error = (failures.error ?? 0) + 1
        }
      }
    }),
  )
  const seconds = (performance.now() - started) / 1000
  latencies.sort((a, b) => a - b)
  const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? Number.NaN
  return { run: { keys: keys.length, seconds, p50Ms: at(0.5), p99Ms: at(0.99), failures }, keys }
}

export async function runWide(context: WideContext): Promise<WideResult> {
  const { root, binary, work, rounds } = context
  const dataDir = join(work, 'wide-data')
  console.log('bench: wide part: a copy of the 1,000,000-key database (seeded once, then cached)')
  const db = wideDatabase(root, dataDir, (dir) => {
    const migrated = Bun.spawnSync([binary, 'migrate', '--dir', dir], { stdout: 'pipe', stderr: 'pipe' })
    if (migrated.exitCode !== 0) throw new Error(`migrate failed: ${migrated.stdout}${migrated.stderr}`)
  })
  console.log(
    `bench: ${db.seededMs > 0 ? `seeded ${db.cached} in ${(db.seededMs / 1000).toFixed(1)} s; ` : `cached: ${db.cached}; `}` +
      `copied ${(db.bytes / 1e6).toFixed(0)} MB in ${Math.round(db.copiedMs)} ms`,
  )
  const plan = planWide()
  const verifyPath = `/apikey/verify?mode=read&app_id=${encodeURIComponent(WIDE_VERIFY_APP)}`
  const hotScript = context.script('wide-a.lua', rotatingGet(verifyPath, plan.hot.map(wideKey)))
  const wideScript = context.script('wide-f.lua', rotatingGet(verifyPath, plan.rotation.map(wideKey)))

  const server = await startServer(binary, ['--dir', dataDir], work, 'wide', [...context.serverFlags, '--metrics'])
  console.log(`bench: wide server up in ${Math.round(server.startupMs)} ms (spawn → first 200 on /health), RSS ${memoryMb(server.child.pid)?.rss.toFixed(1)} MB`)
  const rss = rssSampler(server.child.pid)
  const pid = server.child.pid
  const odd: string[] = []
  let peakRssMb = 0
  try {
    /** A run with the event loop's delay over it: /metrics starts its window afresh at each scrape. */
    const delayedRun = async (label: string, script: string, warmUp: boolean): Promise<DelayedRun> => {
      await scrape(server.url)
      const run = await context.timedRun(label, server.url + verifyPath, script, pid, warmUp)
      const after = await scrape(server.url)
      const p99 = after.get('codepushgo_event_loop_delay_p99_seconds')
      const max = after.get('codepushgo_event_loop_delay_max_seconds')
      const loopDelay = p99 === undefined || max === undefined ? null : { p99Ms: p99 * 1000, maxMs: max * 1000 }
      const memory = memoryMb(pid)
      console.log(
        `bench: ${label} event-loop delay p99 ${loopDelay?.p99Ms.toFixed(2)} ms, max ${loopDelay?.maxMs.toFixed(1)} ms; ` +
          `server RSS ${memory?.rss.toFixed(1)} MB (peak so far ${memory?.hwm.toFixed(1)} MB)`,
      )
      return { ...run, loopDelay }
    }

    const wideRounds: WideRound[] = []
    for (let round = 1; round <= rounds; round++) {
      const first = round === 1
      const baseline = await context.timedRun(`baseline for (a)/(f), round ${round}:`, context.baseline.url, context.baselineScript, context.baseline.child.pid, first)
      const hot = await delayedRun(`(a) on 1,000 hot keys of 1,000,000, round ${round}:`, hotScript, first)
      const wide = await delayedRun(`(f) rotating over 100,000 keys of 1,000,000, round ${round}:`, wideScript, first)
      console.log(`bench: round ${round}: (f) at ${Math.round((100 * requestsPerSecond(wide)) / requestsPerSecond(hot))}% of (a)`)
      wideRounds.push({ baseline, hot, wide })
    }

    // (g): the listed user's first page, last page by `after`, and deepest `page`.
    const listKey = wideKey(plan.listed.at(-1)!) // key 0: the listed user's unlimited `all` key
    const lastKeysPage = LISTED_KEYS - 100
    const beforeLastKeysPage = plan.listed[lastKeysPage - 1]! + 1 // ids are indices + 1
    const paging: PagingCase[] = [
      { label: 'GET /apikey/, first page (100 of 1,000 keys)', path: '/apikey/?limit=100', runs: [] },
      { label: 'GET /apikey/, last page by ?after=', path: `/apikey/?limit=100&after=${beforeLastKeysPage}`, comparedWith: 'GET /apikey/, first page (100 of 1,000 keys)', maxCost: 2, runs: [] },
      { label: 'GET /apikey/, last page by ?page=9', path: '/apikey/?limit=100&page=9', comparedWith: 'GET /apikey/, first page (100 of 1,000 keys)', runs: [] },
      { label: 'GET /audit/, first page (100 of 1,000,000 events)', path: '/audit/?limit=100', runs: [] },
      { label: 'GET /audit/, last page by ?after=', path: '/audit/?limit=100&after=101', comparedWith: 'GET /audit/, first page (100 of 1,000,000 events)', maxCost: 2, runs: [] },
      { label: 'GET /audit/, the deepest ?page= (1,000: 100,000 events deep)', path: '/audit/?limit=100&page=1000', comparedWith: 'GET /audit/, first page (100 of 1,000,000 events)', runs: [] },
    ]
    const pagingScripts = paging.map((c, i) => context.script(`wide-g${i}.lua`, constantGet(c.path, { authorization: listKey })))
    for (let round = 1; round <= rounds; round++) {
      for (const [i, c] of paging.entries()) c.runs.push(await context.timedRun(`(g) ${c.label}, round ${round}:`, server.url + c.path, pagingScripts[i]!, pid, round === 1))
    }

    const peakRssInUseMb = memoryMb(pid)?.hwm ?? Number.NaN

    // The write path at size, then verify over what it made.
    console.log(`bench: making ${(WRITERS * KEYS_PER_WRITER).toLocaleString('en-US')} keys through the API (POST /apikey/, 32 at a time)…`)
    const made = await makeKeys(server.url, 32)
    console.log(
      `bench: made ${made.run.keys} keys in ${made.run.seconds.toFixed(1)} s (${Math.round(made.run.keys / made.run.seconds)}/s), ` +
        `p50 ${made.run.p50Ms.toFixed(1)} ms, p99 ${made.run.p99Ms.toFixed(1)} ms, failures ${JSON.stringify(made.run.failures)}`,
    )
    const madeScript = context.script('wide-made.lua', rotatingGet(verifyPath, made.keys))
    const madeRounds: WideResult['madeRounds'] = []
    for (let round = 1; round <= rounds; round++) {
      const hot = await delayedRun(`(a) again, round ${round}:`, hotScript, false)
      const madeRun = await delayedRun(`verify rotating over the ${made.keys.length} keys made through the API, round ${round}:`, madeScript, round === 1)
      madeRounds.push({ hot, made: madeRun })
    }

    const end = await scrape(server.url)
    const readModel = {
      entries: end.get('codepushgo_read_model_entries') ?? Number.NaN,
      mb: (end.get('codepushgo_read_model_bytes') ?? Number.NaN) / 1048576,
      budgetMb: (end.get('codepushgo_read_model_budget_bytes') ?? Number.NaN) / 1048576,
      hits: end.get('codepushgo_read_model_key_lookups_total{result="hit"}') ?? Number.NaN,
      misses: end.get('codepushgo_read_model_key_lookups_total{result="miss"}') ?? Number.NaN,
    }
    peakRssMb = rss.stop()
    return {
      seededMs: db.seededMs,
      copiedMs: db.copiedMs,
      dbMb: db.bytes / 1e6,
      startupMs: server.startupMs,
      rounds: wideRounds,
      paging,
      writes: made.run,
      madeRounds,
      peakRssInUseMb,
      peakRssMb,
      readModel,
      odd,
    }
  } finally {
    if (peakRssMb === 0) rss.stop()
    odd.push(...(await stopServer(server, 'wide')))
  }
}
