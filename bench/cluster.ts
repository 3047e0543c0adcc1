/**
 * The bench's cluster part (`npm run bench:cluster`, or `npm run bench -- cluster`): the same
 * two loads on SQLite and on PostgreSQL, one and two instances, interleaved in rounds of one
 * run each, after a run of the bare baseline:
 *
 * - verify: GET /apikey/verify?mode=read&app_id=… rotating over VERIFY_KEYS keys, which the
 *   read model holds after the first round's warm-up (the hot path);
 * - writes: POST /apikey/ then DELETE /apikey/:id/, alternating (bench/lua.ts).
 *
 * PostgreSQL is a throwaway cluster (test/helpers/postgres.ts) with fsync on, as in
 * production; the instances reach it over loopback TCP. Two instances share one database and
 * are loaded at once, each by its own wrk with half the connections and threads (no proxy in
 * between, which would take CPU from the servers on this two-core machine). With
 * BENCH_COMPARE_BINARY (another build of the server, e.g. the main branch's), that binary on
 * SQLite is loaded in the same rounds, to compare builds.
 *
 * Every store is set up the same way, through the binary's own interfaces: `user create`
 * (a user, an org, an `all` key that makes the writes), then an app and VERIFY_KEYS `read`
 * keys through the API.
 */
import { basename, join } from 'node:path'
import { findPostgres, PostgresCluster } from '../test/helpers/postgres'
import { createThenDelete, rotatingGet } from './lua'
import { rssSampler, startServer, stopServer, type Server } from './processes'
import type { MeasuredRun } from './report'

/** How many keys verify rotates over: a few hundred, all in the read model. */
export const VERIFY_KEYS = 300
const VERIFY_APP = 'com.bench.cluster'

/** A server of a target, as loaded: its URL and process id. */
export interface Loaded {
  url: string
  pid: number
}

export interface ClusterContext {
  binary: string
  /** Another build to load on SQLite beside this one (BENCH_COMPARE_BINARY), or null. */
  compareBinary: string | null
  work: string
  rounds: number
  serverFlags: readonly string[]
  baselineScript: string
  baseline: Loaded
  script(name: string, text: string): string
  /** A run of `script` against every server at once (the connections split between them), after a warm-up when asked. */
  loadRun(label: string, servers: readonly Loaded[], script: string, warmUp: boolean): Promise<MeasuredRun>
}

export type Scenario = 'verify' | 'writes'
export const SCENARIOS: Record<Scenario, { title: string; expected: number[] }> = {
  verify: { title: `GET /apikey/verify?mode=read&app_id=…, rotating over ${VERIFY_KEYS} keys`, expected: [200] },
  writes: { title: 'POST /apikey/ then DELETE /apikey/:id/, alternating', expected: [200, 201] },
}

/** One configuration loaded: SQLite, PostgreSQL with one or two instances, or another build. */
export interface TargetResult {
  id: 'sqlite' | 'compare' | 'pg1' | 'pg2'
  name: string
  /** Spawn → first 200 on /health, per server. */
  startupMs: number[]
  /** Peak RSS per server (MB), over the whole part. */
  peakRssMb: number[]
  /** Per round. */
  runs: Record<Scenario, MeasuredRun[]>
}

export interface ClusterResult {
  postgresVersion: string
  baselines: MeasuredRun[]
  targets: TargetResult[]
  odd: string[]
}

/** `user create` through `binary`: the `all` key (which makes the writes) and its org. */
function createUser(binary: string, storage: readonly string[]): { key: string; orgId: string } {
  const made = Bun.spawnSync([binary, 'user', 'create', '--email', 'bench@example.com', '--org', 'Bench', ...storage], { stdout: 'pipe', stderr: 'pipe' })
  if (made.exitCode !== 0) throw new Error(`user create failed: ${made.stdout}${made.stderr}`)
  const out = JSON.parse(made.stdout.toString()) as { organization: { id: string }; apikey: { key: string } }
  return { key: out.apikey.key, orgId: out.organization.id }
}

/** Through the API: the app verify asks about, and VERIFY_KEYS `read` keys (every third limited to the app). */
async function seedThroughApi(url: string, admin: string, orgId: string): Promise<string[]> {
  const post = async (path: string, body: unknown) => {
    const response = await fetch(url + path, { method: 'POST', headers: { authorization: admin, 'content-type': 'application/json' }, body: JSON.stringify(body) })
    const text = await response.text()
    if (response.status !== 201) throw new Error(`POST ${path} answered ${response.status}: ${text.slice(0, 300)}`)
    return JSON.parse(text)
  }
  await post('/app/', { app_id: VERIFY_APP, name: 'Bench app', org_id: orgId })
  const keys: string[] = []
  for (let i = 0; i < VERIFY_KEYS; i++) {
    const limited = i % 3 === 0 ? { limited_to_apps: [VERIFY_APP] } : {}
    keys.push((await post('/apikey/', { name: `verify ${i}`, mode: 'read', ...limited })).apikey.key)
  }
  return keys
}

/** The servers of a target, with the scripts that load them. */
interface Target {
  result: TargetResult
  servers: Server[]
  scripts: Record<Scenario, string>
}

export async function runCluster(context: ClusterContext): Promise<ClusterResult> {
  const bin = findPostgres()
  if (!bin) throw new Error('the cluster part needs PostgreSQL (apt-get install postgresql); run the other parts without it')
  const { binary, work, serverFlags } = context
  const verifyPath = `/apikey/verify?mode=read&app_id=${encodeURIComponent(VERIFY_APP)}`
  const started = performance.now()
  // `postgres (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)`: the first version number.
  const postgresVersion = /\d+(\.\d+)*/.exec(Bun.spawnSync([join(bin, 'postgres'), '--version'], { stdout: 'pipe' }).stdout.toString())?.[0] ?? '?'
  const cluster = await PostgresCluster.start(bin, { fsync: true })
  const targets: Target[] = []
  const servers: Server[] = []
  const peaks = new Map<Server, () => number>()
  const odd: string[] = []
  const start = async (serverBinary: string, storage: readonly string[], name: string) => {
    const server = await startServer(serverBinary, storage, work, name, serverFlags)
    servers.push(server)
    peaks.set(server, rssSampler(server.child.pid).stop)
    return server
  }
  /** A target on `storage`, set up through its first server (the user must exist before serve starts, or serve makes one). */
  const setUp = async (id: TargetResult['id'], name: string, serverBinary: string, storage: readonly string[], more: Server[] = []): Promise<Target> => {
    const admin = createUser(serverBinary, storage)
    const first = await start(serverBinary, storage, `${id}-1`)
    const keys = await seedThroughApi(first.url, admin.key, admin.orgId)
    const scripts = {
      verify: context.script(`cluster-${id}-verify.lua`, rotatingGet(verifyPath, keys)),
      writes: context.script(`cluster-${id}-writes.lua`, createThenDelete(admin.key)),
    }
    return withServers(id, name, [first, ...more], scripts)
  }
  const withServers = (id: TargetResult['id'], name: string, loaded: Server[], scripts: Record<Scenario, string>): Target => {
    const target = { result: { id, name, startupMs: loaded.map((s) => s.startupMs), peakRssMb: [], runs: { verify: [], writes: [] } }, servers: loaded, scripts }
    console.log(`bench: ${name}: ${loaded.map((s) => `${s.url} up in ${Math.round(s.startupMs)} ms`).join(', ')}`)
    targets.push(target)
    return target
  }
  try {
    const databaseUrl = await cluster.createDatabase()
    await setUp('sqlite', 'SQLite', binary, ['--dir', join(work, 'cluster-sqlite')])
    if (context.compareBinary !== null) await setUp('compare', 'SQLite, the other build', context.compareBinary, ['--dir', join(work, 'cluster-compare')])
    const postgres = ['--database-url', databaseUrl]
    const one = await setUp('pg1', 'PostgreSQL, one instance', binary, postgres)
    withServers('pg2', 'PostgreSQL, two instances', [one.servers[0]!, await start(binary, postgres, 'pg2-2')], one.scripts)
    console.log(`bench: cluster part set up in ${((performance.now() - started) / 1000).toFixed(1)} s (PostgreSQL ${postgresVersion}, fsync on)`)

    const baselines: MeasuredRun[] = []
    for (let round = 1; round <= context.rounds; round++) {
      const first = round === 1
      baselines.push(await context.loadRun(`cluster: baseline, round ${round}:`, [context.baseline], context.baselineScript, first))
      for (const scenario of ['verify', 'writes'] as const) {
        for (const target of targets) {
          const loaded = target.servers.map((s) => ({ url: s.url, pid: s.child.pid }))
          target.result.runs[scenario].push(await context.loadRun(`cluster: ${target.result.name}, ${scenario}, round ${round}:`, loaded, target.scripts[scenario], first))
        }
      }
    }
    return { postgresVersion, baselines, targets: targets.map((t) => t.result), odd }
  } finally {
    const peak = new Map([...peaks].map(([server, stop]) => [server, stop()]))
    for (const target of targets) target.result.peakRssMb = target.servers.map((s) => peak.get(s)!)
    for (const server of servers) odd.push(...(await stopServer(server, `cluster part's ${basename(server.logPath, '.log')}`)))
    await cluster.destroy()
  }
}
