/**
 * `npm run bench` (after `npm run build`; `npm run bench -- small`, `-- wide` or `-- cluster`
 * for one part; the cluster part runs only when asked for, `npm run bench:cluster`):
 * loads the built binary with wrk over loopback, beside a bare Bun.serve baseline in the same
 * run, prints the numbers against the targets and writes them into bench/RESULTS.md as its
 * latest run. Everything it starts is killed and every temporary directory removed, also on
 * failure; each wrk run stops by itself (`-d`).
 *
 * - small: a seeded 10,000-key database (bench/seed.ts); scenarios (a)-(e), each in rounds of
 *   the baseline, the scenario and (for the read scenarios) a bare Bun.serve replaying the
 *   server's answer; judged by the median of the rounds' ratios to their own baseline run.
 * - wide: the 1,000,000-key database of bench/seed-wide.ts (made once, then copied from a
 *   cache); startup and peak RSS, (a) on 1,000 hot keys and (f) over 100,000 keys interleaved
 *   with the event loop's delay, (g) paging deep, and 100,000 keys made through the API
 *   (bench/wide.ts).
 * - cluster: verify and key writes on SQLite and on PostgreSQL, one and two instances, in the
 *   same rounds (bench/cluster.ts). Not in the default run: it needs PostgreSQL, and would
 *   make a run of some 7 minutes one of 10; it writes its own section of RESULTS.md.
 *
 * Environment: BENCH_ROUNDS (odd, default 3), BENCH_SECONDS (per run, default 4),
 * BENCH_WARMUP_SECONDS (before a scenario's first round, default 1), BENCH_CONNECTIONS (32),
 * BENCH_THREADS (2), BENCH_WRK (path to wrk), BENCH_CACHE_DIR (where the wide database is
 * kept), BENCH_KEEP_TMP=1 (keep the temporary directory: data, Lua scripts, server logs),
 * BENCH_STRICT=1 (exit 1 when a target is missed), BENCH_COMPARE_BINARY (cluster part: another
 * build of the server to load on SQLite in the same rounds, e.g. the main branch's). With the
 * defaults the small part takes about 3 minutes, the wide part about 4 (plus 15 s to seed the
 * wide database the first time), the cluster part about 3 (4 with BENCH_COMPARE_BINARY).
 */
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs'
import { cpus, loadavg, tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { generateKey } from '../src/access/key-format'
import { typicalAnswer } from './answer'
import { machineCpu, processCpuUs, selfCpuUs } from './cpu'
import { runCluster, type ClusterResult, type Loaded } from './cluster'
import { clusterMarkdown, printCluster } from './cluster-report'
import { constantGet, createThenDelete, rotatingGet } from './lua'
import { children, cleanup, countChildCpu, exitedCpu, rssSampler, startServer, stopProcess, stopServer, tempDirs } from './processes'
import {
  cpuText, machineLine, pct, printSummary, printWide, runDate, runHeading, smallMarkdown, wideMarkdown, writeLatestRun, writeSection,
  type MeasuredRun, type ReplayRun, type Round, type ScenarioResult, type Target,
} from './report'
import { seed } from './seed'
import { runWide, type WideResult } from './wide'
import { findWrk, mergeRuns, requestsPerSecond, runWrk, WRK_INSTALL_HINT, wrkVersion } from './wrk'

const ROOT = resolve(import.meta.dir, '..')
const BINARY = join(ROOT, 'dist/codepushgo')
const RESULTS = join(import.meta.dir, 'RESULTS.md')
const PARTS = ['small', 'wide', 'cluster'] as const
type Part = (typeof PARTS)[number]
/** What `npm run bench` runs without arguments. */
const DEFAULT_PARTS: readonly Part[] = ['small', 'wide']
const COMPARE_BINARY = process.env.BENCH_COMPARE_BINARY || null

function envNumber(name: string, fallback: number, min: number, max: number): number {
  const raw = process.env[name]
  if (raw === undefined || raw === '') return fallback
  const n = Number(raw)
  if (!Number.isInteger(n) || n < min || n > max) {
    console.error(`${name} must be a whole number from ${min} to ${max}, got "${raw}"`)
    process.exit(2)
  }
  return n
}

const ROUNDS = envNumber('BENCH_ROUNDS', 3, 1, 99)
if (ROUNDS % 2 === 0) {
  // The median of an even count is a mean, which one disturbed run moves.
  console.error('BENCH_ROUNDS must be odd')
  process.exit(2)
}
const SECONDS = envNumber('BENCH_SECONDS', 4, 1, 600)
const WARMUP_SECONDS = envNumber('BENCH_WARMUP_SECONDS', 1, 0, 60)
const CONNECTIONS = envNumber('BENCH_CONNECTIONS', 32, 1, 10_000)
const THREADS = envNumber('BENCH_THREADS', 2, 1, 256)
if (CONNECTIONS < THREADS) {
  console.error('BENCH_CONNECTIONS must be at least BENCH_THREADS')
  process.exit(2)
}
/** So that (e) measures rejecting bad keys, not the per-address throttle (SPEC §5). */
const AUTH_FAILURE_LIMIT = '999999999/1' // the flag takes at most 9 digits
const SERVER_FLAGS = ['--auth-failure-limit', AUTH_FAILURE_LIMIT, '--usage-flush-seconds', '5']

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    console.error(`\n${signal}: stopping, cleaning up`)
    void cleanup().finally(() => process.exit(130))
  })
}

/** The parts asked for on the command line (`small`, `wide`, `cluster`); DEFAULT_PARTS without any. */
function partsAsked(argv: string[]): Part[] | null {
  if (argv.length === 0) return [...DEFAULT_PARTS]
  const unknown = argv.filter((arg) => !(PARTS as readonly string[]).includes(arg))
  if (unknown.length > 0) {
    console.error(`bench: unknown part ${unknown.map((u) => `"${u}"`).join(', ')}: expected any of ${PARTS.join(', ')}`)
    return null
  }
  return PARTS.filter((part) => argv.includes(part))
}

function sh(cmd: string[]): string {
  try {
    const r = Bun.spawnSync(cmd, { cwd: ROOT, stdout: 'pipe', stderr: 'pipe' })
    return r.exitCode === 0 ? r.stdout.toString().trim() : ''
  } catch {
    return ''
  }
}

function commitDescription(): string {
  const hash = sh(['git', 'rev-parse', '--short', 'HEAD']) || 'unknown'
  const dirty = sh(['git', 'status', '--porcelain', '--', 'src', 'migrations', 'package.json']) !== ''
  return dirty ? `${hash} + uncommitted changes in src/` : hash
}

interface ScenarioDef {
  id: string
  title: string
  path: string
  script: string
  expected: number[]
  target: Target
  /** `authorization`s of some of the script's requests, whose typical answer is replayed; none: no replay. */
  samples?: readonly string[]
}

/** How many of a scenario's requests are asked, to replay the answer of median size. */
const REPLAY_SAMPLES = 25

/** What both parts share: wrk, the work directory, the baseline. */
interface Run {
  wrk: string
  work: string
  script(name: string, text: string): string
  timedRun(label: string, url: string, script: string, pid: number, warmUp: boolean): Promise<MeasuredRun>
  startBaseline(answerFile?: string): Promise<{ child: import('bun').Subprocess<'ignore', 'pipe', 'pipe'>; url: string }>
  baseline: { child: import('bun').Subprocess<'ignore', 'pipe', 'pipe'>; url: string }
  baselineScript: string
}

/** The small part: (a)-(e) on a 10,000-key database. */
async function runSmall(run: Run) {
  const dataDir = join(run.work, 'data')
  let t = performance.now()
  const migrated = Bun.spawnSync([BINARY, 'migrate', '--dir', dataDir], { stdout: 'pipe', stderr: 'pipe' })
  if (migrated.exitCode !== 0) throw new Error(`migrate failed: ${migrated.stdout}${migrated.stderr}`)
  const seeded = seed(dataDir)
  const c = seeded.counts
  const seedText = `${c.users} users, ${c.orgs} orgs, ${c.apps} apps, ${c.members} memberships, ${c.keys} keys (${c.disabled} disabled, ${c.expiring} with a future expiry)`
  console.log(`bench: seeded ${seedText} in ${Math.round(performance.now() - t)} ms; (a) rotates over ${seeded.verifyKeys.length} keys, (c) over ${seeded.validKeys.length}`)

  const unknownKeys = Array.from({ length: 500 }, () => generateKey())
  const garbage = [
    'garbage',
    'ak_short',
    `ak_${'A'.repeat(36)}`, // the right shape, a wrong checksum
    `Bearer ak_${'z'.repeat(36)}`,
    'Bearer',
    'x'.repeat(200),
    'ak_0123456789abcdefghijklmnopqrstuvwxyz!',
  ]
  const invalid = unknownKeys.flatMap((k, i) => [k, garbage[i % garbage.length]!])
  const verifyPath = `/apikey/verify?mode=read&app_id=${encodeURIComponent(seeded.verifyApp)}`
  const scenarios: ScenarioDef[] = [
    {
      id: 'a', title: 'GET /apikey/verify?mode=read&app_id=…, rotating valid keys', path: verifyPath,
      script: run.script('a.lua', rotatingGet(verifyPath, seeded.verifyKeys)), expected: [200], target: { ratio: 0.6, p99Ms: 5, p99TimesBaseline: 2 },
      samples: seeded.verifyKeys.slice(0, REPLAY_SAMPLES),
    },
    {
      id: 'b', title: 'GET /apikey/ (user with 20 keys)', path: '/apikey/',
      script: run.script('b.lua', constantGet('/apikey/', { authorization: seeded.listKey })), expected: [200], target: { ratio: 0.4, p99Ms: 5 },
      samples: [seeded.listKey],
    },
    {
      id: 'c', title: 'GET /app/, rotating valid keys', path: '/app/',
      script: run.script('c.lua', rotatingGet('/app/', seeded.validKeys)), expected: [200], target: { ratio: 0.4, p99Ms: 5 },
      samples: seeded.validKeys.slice(0, REPLAY_SAMPLES),
    },
    {
      id: 'd', title: 'POST /apikey/ then DELETE /apikey/:id/, alternating', path: '/apikey/',
      script: run.script('d.lua', createThenDelete(seeded.manageKey)), expected: [200, 201], target: { ratio: 0.1 },
    },
    {
      id: 'e', title: 'invalid keys (unknown well-formed + garbage) → 401', path: '/apikey/verify',
      script: run.script('e.lua', rotatingGet('/apikey/verify', invalid)), expected: [401], target: { ratio: 0.5 },
      samples: invalid.slice(0, REPLAY_SAMPLES),
    },
  ]

  /**
   * The server's typical answer to the scenario's requests, replayed by a bare Bun.serve under
   * the scenario's load: the cost of the answer itself, without the work. Recorded once the
   * scenario has run, so that the answer is the one it got (with the keys' last use filled in).
   */
  const startReplay = async (s: ScenarioDef, url: string, samples: readonly string[]) => {
    const answer = await typicalAnswer(url, samples, s.expected)
    const replay = await run.startBaseline(run.script(`${s.id}.answer.json`, JSON.stringify(answer)))
    return {
      run: async (round: number): Promise<ReplayRun> => ({
        ...(await run.timedRun(`(${s.id})'s answer (${answer.body.length} bytes) from a bare Bun.serve, round ${round}:`, replay.url + s.path, s.script, replay.child.pid, round === 1)),
        bodyBytes: answer.body.length,
      }),
      stop: () => stopProcess(replay.child),
    }
  }

  const server = await startServer(BINARY, ['--dir', dataDir], run.work, 'small', SERVER_FLAGS)
  console.log(`bench: server up in ${Math.round(server.startupMs)} ms (spawn → first 200 on /health) at ${server.url}`)
  const serverRss = rssSampler(server.child.pid)
  const results: ScenarioResult[] = []
  let peakRssMb = 0
  const odd: string[] = []
  try {
    for (const s of scenarios) {
      const url = server.url + s.path
      let replay: Awaited<ReturnType<typeof startReplay>> | null = null
      try {
        const rounds: Round[] = []
        for (let round = 1; round <= ROUNDS; round++) {
          const first = round === 1
          const baselineRun = await run.timedRun(`baseline for (${s.id}), round ${round}:`, run.baseline.url, run.baselineScript, run.baseline.child.pid, first)
          const scenarioRun = await run.timedRun(`(${s.id}), round ${round}:`, url, s.script, server.child.pid, first)
          console.log(`bench: (${s.id}), round ${round}: ${pct(requestsPerSecond(scenarioRun) / requestsPerSecond(baselineRun))} of the baseline`)
          if (first && s.samples !== undefined) replay = await startReplay(s, url, s.samples)
          rounds.push({ baseline: baselineRun, scenario: scenarioRun, replay: replay === null ? null : await replay.run(round) })
        }
        results.push({ id: s.id, title: s.title, expected: s.expected, target: s.target, rounds })
      } finally {
        await replay?.stop()
      }
    }
  } finally {
    peakRssMb = serverRss.stop()
    odd.push(...(await stopServer(server, 'small')))
  }
  return { seedText, scenarios: results, startupMs: server.startupMs, peakRssMb, odd }
}

async function main(): Promise<number> {
  const parts = partsAsked(process.argv.slice(2))
  if (parts === null) return 2
  const wrk = findWrk()
  if (!wrk) {
    console.error(WRK_INSTALL_HINT)
    return 2
  }
  if (!existsSync(BINARY)) {
    console.error(`${BINARY} is missing: run \`npm run build\` first (or use \`npm run bench\`, which builds).`)
    return 2
  }
  const runStarted = performance.now()
  const loadBefore = loadavg()[0]!
  if (loadBefore > 1) console.log(`bench: note: the 1-minute load average is ${loadBefore.toFixed(2)}: the machine has been busy recently`)
  const work = mkdtempSync(join(tmpdir(), 'codepushgo-bench-'))
  tempDirs.push(work)
  const luaDir = join(work, 'lua')
  mkdirSync(luaDir)
  const script = (name: string, text: string) => {
    const path = join(luaDir, name)
    writeFileSync(path, text)
    return path
  }
  /** wrk's options for one of `of` servers loaded at once: an equal share of the threads and connections. */
  const wrkOptions = (seconds: number, of: number) => {
    const threads = Math.max(1, Math.floor(THREADS / of))
    return { threads, connections: Math.max(threads, Math.floor(CONNECTIONS / of)), seconds, track: children, onExit: countChildCpu }
  }
  /**
   * A run of `script` against every one of `servers` at once, after a warm-up when asked, with
   * the CPU their processes used meanwhile (a fraction of one core, added up).
   */
  const loadRun = async (label: string, servers: readonly Loaded[], scriptPath: string, warmUp: boolean): Promise<MeasuredRun> => {
    const load = (seconds: number) => Promise.all(servers.map((s) => runWrk(wrk, s.url, scriptPath, wrkOptions(seconds, servers.length))))
    if (warmUp && WARMUP_SECONDS > 0) await load(WARMUP_SECONDS)
    const cpuOf = () => servers.reduce<number | null>((sum, s) => { const us = processCpuUs(s.pid); return sum === null || us === null ? null : sum + us }, 0)
    const cpuBefore = cpuOf()
    const started = performance.now()
    const result = mergeRuns(await load(SECONDS))
    const cpuAfter = cpuOf()
    const cpu = cpuBefore === null || cpuAfter === null ? null : (cpuAfter - cpuBefore) / ((performance.now() - started) * 1000)
    console.log(
      `bench: ${label} ${Math.round(requestsPerSecond(result))} req/s, p50 ${(result.latency_us.p50 / 1000).toFixed(2)} ms, ` +
        `p99 ${(result.latency_us.p99 / 1000).toFixed(2)} ms, statuses ${JSON.stringify(result.statuses)}, CPU ${cpuText(cpu)}`,
    )
    return { ...result, cpu }
  }
  /** A run of `script` against `url`, after a warm-up when asked, with the CPU `pid` used meanwhile (a fraction of one core). */
  const timedRun = (label: string, url: string, scriptPath: string, pid: number, warmUp: boolean) => loadRun(label, [{ url, pid }], scriptPath, warmUp)
  /** A bare Bun.serve (bench/baseline.ts): the constant `{"ok":true}`, or the answer in `answerFile`. */
  const startBaseline = async (answerFile?: string) => {
    const args = [process.execPath, join(import.meta.dir, 'baseline.ts'), ...(answerFile === undefined ? [] : [answerFile])]
    const child = Bun.spawn(args, { stdin: 'ignore', stdout: 'pipe', stderr: 'pipe' })
    children.add(child)
    const reader = child.stdout.getReader()
    let text = ''
    const deadline = Date.now() + 10_000
    while (!text.includes('\n')) {
      const chunk = await Promise.race([reader.read(), Bun.sleep(Math.max(0, deadline - Date.now())).then(() => null)])
      if (!chunk || chunk.done) throw new Error(`baseline did not start: ${text}${await new Response(child.stderr).text()}`)
      text += new TextDecoder().decode(chunk.value)
    }
    reader.releaseLock()
    const port = (JSON.parse(text.split('\n')[0]!) as { port: number }).port
    return { child, url: `http://127.0.0.1:${port}` }
  }

  console.log(
    `bench: parts ${parts.join(', ')}; wrk ${wrkVersion(wrk)}, ${CONNECTIONS} connections, ${THREADS} threads, ${ROUNDS} rounds of ${SECONDS} s runs ` +
      `per scenario (+${WARMUP_SECONDS} s warm-up)`,
  )
  console.log(`bench: server flags ${SERVER_FLAGS.join(' ')}: (e) measures the rejection path, not the per-address throttle's 429s`)

  // The CPU window: from here until the baseline and the servers have exited.
  const windowStart = { machine: machineCpu(), self: selfCpuUs(), at: performance.now() }
  const baseline = await startBaseline()
  const baselineRss = rssSampler(baseline.child.pid)
  const run: Run = { wrk, work, script, timedRun, startBaseline, baseline, baselineScript: script('baseline.lua', constantGet('/')) }
  const small = parts.includes('small') ? await runSmall(run) : null
  const wide: WideResult | null = parts.includes('wide')
    ? await runWide({ root: ROOT, binary: BINARY, work, rounds: ROUNDS, serverFlags: SERVER_FLAGS, baseline, baselineScript: run.baselineScript, timedRun, script })
    : null
  const cluster: ClusterResult | null = parts.includes('cluster')
    ? await runCluster({
        binary: BINARY, compareBinary: COMPARE_BINARY, work, rounds: ROUNDS, serverFlags: SERVER_FLAGS,
        baseline: { url: baseline.url, pid: baseline.child.pid }, baselineScript: run.baselineScript, script, loadRun,
      })
    : null
  const baselineRssMb = baselineRss.stop()
  await stopProcess(baseline.child)

  const windowEnd = { machine: machineCpu(), self: selfCpuUs(), at: performance.now() }
  const nproc = sh(['nproc']) || String(navigator.hardwareConcurrency)
  let otherCpu = 'unknown'
  if (windowStart.machine && windowEnd.machine) {
    const capacityUs = (windowEnd.at - windowStart.at) * 1000 * Number(nproc)
    const ours = exitedCpu.us + (windowEnd.self - windowStart.self)
    const others = Math.max(0, windowEnd.machine.busyUs - windowStart.machine.busyUs - ours)
    const steal = windowEnd.machine.stealUs - windowStart.machine.stealUs
    otherCpu = `${pct(others / capacityUs)} of the machine's CPU (steal ${pct(steal / capacityUs)})`
    console.log(`bench: during the measurements other processes used ${otherCpu}`)
    if (others / capacityUs > 0.1) console.log('bench: WARNING the machine was shared: treat these numbers as noisy')
  }

  const failures: string[] = []
  const info = {
    date: new Date(),
    commit: commitDescription(),
    nproc,
    cpu: cpus()[0]?.model.trim() || 'unknown CPU',
    bunVersion: Bun.version,
    wrkVersion: wrkVersion(wrk),
    connections: CONNECTIONS,
    threads: THREADS,
    seconds: SECONDS,
    rounds: ROUNDS,
    warmupSeconds: WARMUP_SECONDS,
    serverFlags: SERVER_FLAGS.join(' '),
    seed: [small && `small seed: ${small.seedText}`, wide && `wide database: 1,000,000 keys of 10,000 users, 1,000,000 audit events (${wide.dbMb.toFixed(0)} MB)`].filter(Boolean).join('; '),
    load: loadBefore.toFixed(2),
    otherCpu,
  }
  const lines = runHeading(info)
  if (small) {
    const summary = { scenarios: small.scenarios, startupMs: small.startupMs, peakRssMb: small.peakRssMb, baselineRssMb }
    failures.push(...printSummary(summary))
    lines.push('### Small part: 10,000 keys', '', ...smallMarkdown(summary), '')
  }
  if (wide) {
    failures.push(...printWide(wide))
    lines.push('### Wide part: 1,000,000 keys (server with `--metrics`; the event-loop delay is its view of the run)', '', ...wideMarkdown(wide), '')
  }
  const notes = (odd: readonly string[]) => (odd.length === 0 ? [] : [...odd.map((o) => `Note: ${o.split('\n')[0]}`), ''])
  const odd = [...(small?.odd ?? []), ...(wide?.odd ?? [])]
  for (const o of [...odd, ...(cluster?.odd ?? [])]) console.log(`bench: NOTE ${o}`)
  lines.push(...notes(odd))
  if (cluster) failures.push(...printCluster(cluster))
  console.log()
  console.log(failures.length === 0 ? 'All targets met.' : `Targets missed:\n${failures.map((f) => `  - ${f}`).join('\n')}`)
  if (small || wide) {
    writeLatestRun(RESULTS, lines)
    console.log(`bench: wrote the latest run into ${RESULTS}`)
  }
  if (cluster) {
    const heading = [`Run: ${runDate(info)} UTC, commit ${info.commit}. ${machineLine(info)}`, '']
    writeSection(RESULTS, 'cluster part', [...clusterMarkdown(cluster, heading, COMPARE_BINARY), '', ...notes(cluster.odd)])
    console.log(`bench: wrote the cluster part into ${RESULTS}`)
  }
  console.log(`bench: total ${((performance.now() - runStarted) / 1000).toFixed(1)} s`)
  if (failures.length > 0 && process.env.BENCH_STRICT === '1') return 1
  return 0
}

let code = 1
try {
  code = await main()
} catch (error) {
  console.error(`bench failed: ${error instanceof Error ? error.stack ?? error.message : String(error)}`)
  code = 1
} finally {
  await cleanup()
}
process.exit(code)
