/**
 * `npm run bench` (after `npm run build`): seeds a temporary data directory, starts the built
 * binary on it, loads it with wrk in five scenarios and a bare Bun.serve baseline in the same
 * run (and, after each read scenario, a bare Bun.serve replaying the server's answer), prints
 * the numbers against the targets and appends them to bench/RESULTS.md.
 * Everything it starts is killed and every temporary directory removed, also on failure.
 *
 * Each scenario runs in BENCH_ROUNDS rounds (the baseline, the scenario, the replay), and is
 * judged by the median of its rounds: a single pair of runs moved by more than 10 points from
 * one run to the next on these shared machines, and one disturbed baseline run (a third slower
 * than the others of the same run) once passed a scenario by 19 points.
 *
 * Environment: BENCH_ROUNDS (odd, default 3), BENCH_SECONDS (per run, default 4),
 * BENCH_WARMUP_SECONDS (before a scenario's first round, default 1), BENCH_CONNECTIONS (32),
 * BENCH_THREADS (2), BENCH_WRK (path to wrk), BENCH_KEEP_TMP=1 (keep the temporary directory:
 * data, Lua scripts, server log), BENCH_STRICT=1 (exit 1 when a target is missed), BENCH_PERF=1
 * (after the rounds, one more run of each scenario and of its replay, profiled with Linux perf:
 * bench/perf.ts; about 40 s more). With the defaults a run takes about 190 s including the build.
 */
import type { Subprocess } from 'bun'
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { cpus, loadavg, tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { generateKey } from '../src/access/key-format'
import { machineCpu, processCpuUs, selfCpuUs } from './cpu'
import { constantGet, createThenDelete, rotatingGet } from './lua'
import { typicalAnswer } from './answer'
import {
  appendResults, cpuText, pct, printSummary, profileLines, type MeasuredRun, type ProfiledRun, type ReplayRun, type Round, type ScenarioResult, type Target,
} from './report'
import { seed } from './seed'
import { breakdownOf, findPerf, jitDumpEnv, jitSymbolsOf, recordWhile, type Recording } from './perf'
import type { JitSymbols } from './profile'
import { findWrk, requestsPerSecond, runWrk, WRK_INSTALL_HINT, wrkVersion } from './wrk'

const ROOT = resolve(import.meta.dir, '..')
const BINARY = join(ROOT, 'dist/codepushgo')
const RESULTS = join(import.meta.dir, 'RESULTS.md')

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
const USAGE_FLUSH_SECONDS = '5'
const SERVER_FLAGS = ['--auth-failure-limit', AUTH_FAILURE_LIMIT, '--usage-flush-seconds', USAGE_FLUSH_SECONDS]
/** With BENCH_PERF=1, the server and the replays write their JIT dumps here (set in main). */
let jitDumpDir: string | null = null
/** The environment of the processes profiled: with a JIT dump when profiling. */
const profiledEnv = () => (jitDumpDir === null ? undefined : { ...process.env, ...jitDumpEnv(jitDumpDir) })

// ---- cleanup: everything started or created is registered here --------------------------------

const children = new Set<Subprocess>()
const tempDirs: string[] = []
let cleanedUp = false

async function cleanup(): Promise<void> {
  if (cleanedUp) return
  cleanedUp = true
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM')
  }
  await Promise.race([Promise.all([...children].map((c) => c.exited)), Bun.sleep(3000)])
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
  }
  children.clear()
  for (const dir of tempDirs) {
    if (process.env.BENCH_KEEP_TMP === '1') console.error(`bench: kept ${dir} (BENCH_KEEP_TMP=1)`)
    else rmSync(dir, { recursive: true, force: true })
  }
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    console.error(`\n${signal}: stopping, cleaning up`)
    void cleanup().finally(() => process.exit(130))
  })
}

// ---- processes -----------------------------------------------------------------------------

function freePort(): number {
  const listener = Bun.listen({ hostname: '127.0.0.1', port: 0, socket: { data() {} } })
  const port = listener.port
  listener.stop(true)
  return port
}

/** Peak resident memory so far (VmHWM) and current (VmRSS) of a process, in MB. */
function memoryMb(pid: number): { hwm: number; rss: number } | null {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8')
    const field = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? Number.NaN) / 1024
    return { hwm: field('VmHWM'), rss: field('VmRSS') }
  } catch {
    return null
  }
}

/** Polls VmRSS while a process runs, as a fallback should VmHWM be unavailable. */
function rssSampler(pid: number) {
  let peak = 0
  const timer = setInterval(() => {
    const m = memoryMb(pid)
    if (m && Number.isFinite(m.rss)) peak = Math.max(peak, m.rss)
  }, 250)
  return {
    /** max(VmHWM, sampled VmRSS), read now: call before the process exits. */
    stop(): number {
      clearInterval(timer)
      const m = memoryMb(pid)
      return Math.max(peak, m && Number.isFinite(m.hwm) ? m.hwm : 0, m && Number.isFinite(m.rss) ? m.rss : 0)
    },
  }
}

/** CPU time (µs) used by the processes this run started and that have exited. */
let childrenCpuUs = 0
const countChildCpu = (us: number) => {
  childrenCpuUs += us
}

async function stopProcess(child: Subprocess): Promise<number | null> {
  if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM')
  const exited = await Promise.race([child.exited.then(() => true), Bun.sleep(5000).then(() => false)])
  if (!exited) child.kill('SIGKILL')
  await child.exited
  children.delete(child)
  const usage = child.resourceUsage()
  if (usage) countChildCpu(Number(usage.cpuTime.total))
  return child.exitCode
}

/** A bare Bun.serve (bench/baseline.ts): the constant `{"ok":true}`, or the answer in `answerFile`. */
async function startBaseline(answerFile?: string): Promise<{ child: Subprocess<'ignore', 'pipe', 'pipe'>; url: string }> {
  const args = [process.execPath, join(import.meta.dir, 'baseline.ts'), ...(answerFile === undefined ? [] : [answerFile])]
  // Only replays are profiled: the constant baseline runs as it always does.
  const child = Bun.spawn(args, { stdin: 'ignore', stdout: 'pipe', stderr: 'pipe', env: answerFile === undefined ? undefined : profiledEnv() })
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

interface Server {
  child: Subprocess
  url: string
  startupMs: number
  logPath: string
  errPath: string
  closeLogs(): void
}

/** Spawns `serve` and times spawn → first 200 on /health, polling every millisecond or so. */
async function startServer(dir: string, work: string): Promise<Server> {
  const port = freePort()
  const url = `http://127.0.0.1:${port}`
  const logPath = join(work, 'server.log')
  const errPath = join(work, 'server.err')
  // The request log (one JSON line per request) goes to a file: no reader in this process
  // competes with the server for the CPU.
  const out = openSync(logPath, 'w')
  const err = openSync(errPath, 'w')
  const closeLogs = () => {
    closeSync(out)
    closeSync(err)
  }
  const started = performance.now()
  const child = Bun.spawn([BINARY, 'serve', '--http', `127.0.0.1:${port}`, '--dir', dir, ...SERVER_FLAGS], {
    stdin: 'ignore', stdout: out, stderr: err, env: profiledEnv(),
  })
  children.add(child)
  const deadline = Date.now() + 15_000
  for (;;) {
    try {
      const response = await fetch(`${url}/health`)
      await response.arrayBuffer()
      if (response.status === 200) break
    } catch {
      // not listening yet
    }
    if (child.exitCode !== null || child.signalCode !== null || Date.now() > deadline) {
      closeLogs()
      throw new Error(`server did not answer /health with 200:\n${readFileSync(logPath, 'utf8')}${readFileSync(errPath, 'utf8')}`)
    }
    await Bun.sleep(1)
  }
  return { child, url, startupMs: performance.now() - started, logPath, errPath, closeLogs }
}

/** Reads the server's request log: how many lines, 5xx answers and error-level lines. */
async function analyseLog(path: string) {
  let lines = 0
  let serverErrors = 0
  let errorLines = 0
  const samples: string[] = []
  let rest = ''
  const decoder = new TextDecoder()
  const consume = (line: string) => {
    if (line === '') return
    lines++
    const is5xx = /"status":5\d\d\b/.test(line)
    const isError = line.includes('"level":"error"')
    if (is5xx) serverErrors++
    if (isError) errorLines++
    if ((is5xx || isError) && samples.length < 5) samples.push(line.slice(0, 500))
  }
  for await (const chunk of Bun.file(path).stream()) {
    const text = rest + decoder.decode(chunk, { stream: true })
    const parts = text.split('\n')
    rest = parts.pop()!
    for (const line of parts) consume(line)
  }
  consume(rest)
  return { lines, serverErrors, errorLines, samples }
}

// ---- the run ---------------------------------------------------------------------------------

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

async function main(): Promise<number> {
  const wrk = findWrk()
  if (!wrk) {
    console.error(WRK_INSTALL_HINT)
    return 2
  }
  let perf: string | null = null
  if (process.env.BENCH_PERF === '1') {
    const found = findPerf()
    if ('problem' in found) {
      console.error(found.problem)
      return 2
    }
    perf = found.perf
  }
  if (!existsSync(BINARY)) {
    console.error(`${BINARY} is missing: run \`npm run build\` first (or use \`npm run bench\`, which builds).`)
    return 2
  }
  const runStarted = performance.now()
  const loadBefore = loadavg()[0]!
  if (loadBefore > 1) {
    console.log(`bench: note: the 1-minute load average is ${loadBefore.toFixed(2)}: the machine has been busy recently`)
  }
  const work = mkdtempSync(join(tmpdir(), 'codepushgo-bench-'))
  tempDirs.push(work)
  const dataDir = join(work, 'data')
  const luaDir = join(work, 'lua')
  mkdirSync(luaDir)
  if (perf !== null) {
    jitDumpDir = join(work, 'jit')
    mkdirSync(jitDumpDir)
  }
  const recordings: Array<{ label: string; recording: Recording }> = []
  const wrkOptions = (seconds: number) => ({ threads: THREADS, connections: CONNECTIONS, seconds, track: children, onExit: countChildCpu })
  /** Runs wrk and measures the CPU `pid` used meanwhile, as a fraction of one core. */
  const measured = async (url: string, script: string, pid: number) => {
    const cpuBefore = processCpuUs(pid)
    const started = performance.now()
    const result = await runWrk(wrk, url, script, wrkOptions(SECONDS))
    const cpuAfter = processCpuUs(pid)
    const cpu = cpuBefore === null || cpuAfter === null ? null : (cpuAfter - cpuBefore) / ((performance.now() - started) * 1000)
    return { result, cpu }
  }

  console.log(
    `bench: wrk ${wrkVersion(wrk)}, ${CONNECTIONS} connections, ${THREADS} threads, ${ROUNDS} rounds of ${SECONDS} s runs per scenario ` +
      `(+${WARMUP_SECONDS} s warm-up)`,
  )
  console.log(`bench: server flags ${SERVER_FLAGS.join(' ')}; (e) runs with the failed-authentication throttle raised to ${AUTH_FAILURE_LIMIT} so it measures the rejection path, not 429s`)

  // 1. Seed.
  let t = performance.now()
  const migrated = Bun.spawnSync([BINARY, 'migrate', '--dir', dataDir], { stdout: 'pipe', stderr: 'pipe' })
  if (migrated.exitCode !== 0) throw new Error(`migrate failed: ${migrated.stdout}${migrated.stderr}`)
  const seeded = seed(dataDir)
  const c = seeded.counts
  const seedText = `${c.users} users, ${c.orgs} orgs, ${c.apps} apps, ${c.members} memberships, ${c.keys} keys (${c.disabled} disabled, ${c.expiring} with a future expiry)`
  console.log(`bench: seeded ${seedText} in ${Math.round(performance.now() - t)} ms; (a) rotates over ${seeded.verifyKeys.length} keys, (c) over ${seeded.validKeys.length}`)

  // 2. Scripts.
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
  const write = (name: string, text: string) => {
    const path = join(luaDir, name)
    writeFileSync(path, text)
    return path
  }
  const verifyPath = `/apikey/verify?mode=read&app_id=${encodeURIComponent(seeded.verifyApp)}`
  const scenarios: ScenarioDef[] = [
    {
      id: 'a', title: 'GET /apikey/verify?mode=read&app_id=…, rotating valid keys', path: verifyPath,
      script: write('a.lua', rotatingGet(verifyPath, seeded.verifyKeys)), expected: [200], target: { ratio: 0.6, p99Ms: 5 },
      samples: seeded.verifyKeys.slice(0, REPLAY_SAMPLES),
    },
    {
      id: 'b', title: 'GET /apikey/ (user with 20 keys)', path: '/apikey/',
      script: write('b.lua', constantGet('/apikey/', { authorization: seeded.listKey })), expected: [200], target: { ratio: 0.4, p99Ms: 5 },
      samples: [seeded.listKey],
    },
    {
      id: 'c', title: 'GET /app/, rotating valid keys', path: '/app/',
      script: write('c.lua', rotatingGet('/app/', seeded.validKeys)), expected: [200], target: { ratio: 0.4, p99Ms: 5 },
      samples: seeded.validKeys.slice(0, REPLAY_SAMPLES),
    },
    {
      id: 'd', title: 'POST /apikey/ then DELETE /apikey/:id/, alternating', path: '/apikey/',
      script: write('d.lua', createThenDelete(seeded.manageKey)), expected: [200, 201], target: { ratio: 0.1 },
    },
    {
      id: 'e', title: 'invalid keys (unknown well-formed + garbage) → 401', path: '/apikey/verify',
      script: write('e.lua', rotatingGet('/apikey/verify', invalid)), expected: [401], target: { ratio: 0.5 },
      samples: invalid.slice(0, REPLAY_SAMPLES),
    },
  ]

  // 3. Baseline, in its own process, by the same wrk settings: measured in each round right
  // before the scenario (it idles meanwhile), and each round's ratio is to that run.
  const baselineScript = write('baseline.lua', constantGet('/'))
  // The CPU window: from here until both the baseline and the server have exited.
  const windowStart = { machine: machineCpu(), self: selfCpuUs(), at: performance.now() }
  const baseline = await startBaseline()
  const baselineRss = rssSampler(baseline.child.pid)
  /** A run of `script` against `url`, after a warm-up when asked; `label` names it on the console. */
  const timedRun = async (label: string, url: string, script: string, pid: number, warmUp: boolean): Promise<MeasuredRun> => {
    if (warmUp && WARMUP_SECONDS > 0) await runWrk(wrk, url, script, wrkOptions(WARMUP_SECONDS))
    const { result, cpu } = await measured(url, script, pid)
    console.log(
      `bench: ${label} ${Math.round(requestsPerSecond(result))} req/s, p50 ${(result.latency_us.p50 / 1000).toFixed(2)} ms, ` +
        `p99 ${(result.latency_us.p99 / 1000).toFixed(2)} ms, statuses ${JSON.stringify(result.statuses)}, CPU ${cpuText(cpu)}`,
    )
    return { ...result, cpu }
  }
  /**
   * With BENCH_PERF=1, one more run of `script` against process `pid`, recorded by perf: apart
   * from the measured rounds, as sampling slows what it samples.
   */
  const profiledRun = async (label: string, url: string, script: string, pid: number): Promise<void> => {
    if (perf === null) return
    console.log(`bench: ${label}: a run under perf`)
    const recording = await recordWhile(perf, pid, work, children, countChildCpu, async () => (await runWrk(wrk, url, script, wrkOptions(SECONDS))).requests)
    recordings.push({ label, recording })
  }
  /**
   * The server's typical answer to the scenario's requests, replayed by a bare Bun.serve under
   * the scenario's load: the cost of the answer itself, without the work. Recorded once the
   * scenario has run, so that the answer is the one it got (with the keys' last use filled in).
   */
  const startReplay = async (s: ScenarioDef, url: string, samples: readonly string[]) => {
    const answer = await typicalAnswer(url, samples, s.expected)
    const replay = await startBaseline(write(`${s.id}.answer.json`, JSON.stringify(answer)))
    return {
      run: async (round: number): Promise<ReplayRun> => ({
        ...(await timedRun(`(${s.id})'s answer (${answer.body.length} bytes) from a bare Bun.serve, round ${round}:`, replay.url + s.path, s.script, replay.child.pid, round === 1)),
        bodyBytes: answer.body.length,
      }),
      profile: () => profiledRun(`(${s.id})'s answer from a bare Bun.serve`, replay.url + s.path, s.script, replay.child.pid),
      stop: () => stopProcess(replay.child),
    }
  }
  // 4. The server.
  const server = await startServer(dataDir, work)
  console.log(`bench: server up in ${Math.round(server.startupMs)} ms (spawn → first 200 on /health) at ${server.url}`)
  const serverRss = rssSampler(server.child.pid)
  const results: ScenarioResult[] = []
  let peakRssMb = 0
  let logReport: Awaited<ReturnType<typeof analyseLog>> | null = null
  let serverExit: number | null = null
  let serverStderr = ''
  try {
    for (const s of scenarios) {
      const url = server.url + s.path
      let replay: Awaited<ReturnType<typeof startReplay>> | null = null
      try {
        const rounds: Round[] = []
        for (let round = 1; round <= ROUNDS; round++) {
          const first = round === 1
          const baselineRun = await timedRun(`baseline for (${s.id}), round ${round}:`, baseline.url, baselineScript, baseline.child.pid, first)
          const scenarioRun = await timedRun(`(${s.id}), round ${round}:`, url, s.script, server.child.pid, first)
          const memory = memoryMb(server.child.pid)
          console.log(
            `bench: (${s.id}), round ${round}: ${pct(requestsPerSecond(scenarioRun) / requestsPerSecond(baselineRun))} of the baseline; ` +
              `server RSS ${memory?.rss.toFixed(1) ?? '?'} MB (peak so far ${memory?.hwm.toFixed(1) ?? '?'} MB)`,
          )
          if (first && s.samples !== undefined) replay = await startReplay(s, url, s.samples)
          rounds.push({ baseline: baselineRun, scenario: scenarioRun, replay: replay === null ? null : await replay.run(round) })
        }
        results.push({ id: s.id, title: s.title, expected: s.expected, target: s.target, rounds })
        await profiledRun(`(${s.id}) server`, url, s.script, server.child.pid)
        await replay?.profile()
      } finally {
        await replay?.stop()
      }
    }
  } finally {
    peakRssMb = serverRss.stop()
    serverExit = await stopProcess(server.child)
    server.closeLogs()
    serverStderr = readFileSync(server.errPath, 'utf8').trim()
    logReport = await analyseLog(server.logPath)
  }

  // 5. The report.
  const baselineRssMb = baselineRss.stop()
  await stopProcess(baseline.child)
  const windowEnd = { machine: machineCpu(), self: selfCpuUs(), at: performance.now() }
  const nproc = sh(['nproc']) || String(navigator.hardwareConcurrency)
  let otherCpu = 'unknown'
  if (windowStart.machine && windowEnd.machine) {
    const capacityUs = (windowEnd.at - windowStart.at) * 1000 * Number(nproc)
    const ours = childrenCpuUs + (windowEnd.self - windowStart.self)
    const others = Math.max(0, windowEnd.machine.busyUs - windowStart.machine.busyUs - ours)
    const steal = windowEnd.machine.stealUs - windowStart.machine.stealUs
    otherCpu = `${pct(others / capacityUs)} of the machine's CPU (steal ${pct(steal / capacityUs)})`
    console.log(`bench: during the measurements other processes used ${otherCpu}`)
    if (others / capacityUs > 0.1) console.log('bench: WARNING the machine was shared: treat these numbers as noisy')
  }
  const profiles = jitDumpDir === null ? [] : splitRecordings(recordings, jitDumpDir)
  const failures = printSummary({
    scenarios: results, startupMs: server.startupMs, peakRssMb, baselineRssMb,
  })
  if (profiles.length > 0) console.log(`\n${profileLines(profiles).join('\n')}`)
  const odd: string[] = []
  if (serverExit !== 0) odd.push(`the server exited with ${serverExit} on SIGTERM`)
  if (serverStderr !== '') odd.push(`the server wrote to stderr:\n${serverStderr.slice(0, 2000)}`)
  if (logReport.serverErrors > 0 || logReport.errorLines > 0) {
    odd.push(`the server log has ${logReport.serverErrors} 5xx responses and ${logReport.errorLines} error lines, e.g.:\n${logReport.samples.join('\n')}`)
  }
  console.log(`bench: server log: ${logReport.lines} lines`)
  for (const o of odd) console.log(`bench: NOTE ${o}`)

  appendResults(RESULTS, {
    info: {
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
      seed: seedText,
      load: loadBefore.toFixed(2),
      otherCpu,
    },
    scenarios: results,
    startupMs: server.startupMs,
    peakRssMb,
    baselineRssMb,
    profiles,
  })
  console.log(`bench: appended to ${RESULTS} (total ${((performance.now() - runStarted) / 1000).toFixed(1)} s)`)
  if (failures.length > 0 && process.env.BENCH_STRICT === '1') return 1
  return 0
}

/**
 * The recordings' breakdowns, once every process profiled has exited (their JIT dumps are
 * complete only then). A recording that cannot be read is reported and left out: the run's
 * measurements still go to RESULTS.md.
 */
function splitRecordings(recordings: ReadonlyArray<{ label: string; recording: Recording }>, jitDir: string): ProfiledRun[] {
  const symbolsByPid = new Map<number, JitSymbols>()
  const profiles: ProfiledRun[] = []
  for (const { label, recording } of recordings) {
    try {
      let symbols = symbolsByPid.get(recording.pid)
      if (symbols === undefined) {
        symbols = jitSymbolsOf(recording.pid, jitDir)
        symbolsByPid.set(recording.pid, symbols)
      }
      const { breakdown, coverage } = breakdownOf(recording, symbols)
      if (coverage !== null && Math.abs(coverage - 1) > MAX_UNSAMPLED) {
        console.log(`bench: NOTE perf's samples of ${label} cover ${pct(coverage)} of the CPU time the process used: samples were lost or the run was disturbed`)
      }
      profiles.push({ label, breakdown })
    } catch (error) {
      console.log(`bench: NOTE the profile of ${label} could not be read: ${error instanceof Error ? error.message : String(error)}`)
    }
  }
  return profiles
}

/** How far perf's samples may be from the process's measured CPU time before the run says so. */
const MAX_UNSAMPLED = 0.15

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
