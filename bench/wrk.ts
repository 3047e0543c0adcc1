/** Running wrk with one of the generated Lua scripts and reading its `BENCH_JSON` line. */
import type { Subprocess } from 'bun'
import { existsSync } from 'node:fs'
import { findProgram } from './program'

export interface WrkResult {
  requests: number
  duration_us: number
  bytes: number
  errors: { connect: number; read: number; write: number; status: number; timeout: number }
  latency_us: { p50: number; p90: number; p99: number; p999: number; max: number; mean: number }
  /** Response status → count. */
  statuses: Record<string, number>
}

export interface WrkOptions {
  threads: number
  connections: number
  seconds: number
  /** Processes to kill if the run is aborted (the caller's cleanup set). */
  track: Set<Subprocess>
  /** Told wrk's own CPU time (µs) once it has exited. */
  onExit?: (cpuUs: number) => void
}

export const WRK_INSTALL_HINT =
  'wrk not found (looked at $BENCH_WRK, then PATH, then /usr/bin/wrk): install it with `apt-get install wrk` (Debian/Ubuntu), then run `npm run bench` again.'

/** The wrk executable (BENCH_WRK, else from PATH, else /usr/bin/wrk), or null when there is none. */
export function findWrk(): string | null {
  const chosen = process.env.BENCH_WRK
  if (chosen) return existsSync(chosen) ? chosen : null
  return findProgram('wrk')
}

export function wrkVersion(wrk: string): string {
  const out = Bun.spawnSync([wrk, '-v'], { stdout: 'pipe', stderr: 'pipe' })
  const text = out.stdout.toString() + out.stderr.toString()
  return /wrk\s+(\S+)/.exec(text)?.[1] ?? 'unknown'
}

export async function runWrk(wrk: string, url: string, script: string, options: WrkOptions): Promise<WrkResult> {
  const args = [
    wrk,
    '-t', String(options.threads),
    '-c', String(options.connections),
    '-d', `${options.seconds}s`,
    '--timeout', '2s',
    '-s', script,
    url,
  ]
  const proc = Bun.spawn(args, { stdin: 'ignore', stdout: 'pipe', stderr: 'pipe' })
  options.track.add(proc)
  // wrk stops by itself after -d; this only guards against a hung run.
  const guard = setTimeout(() => proc.kill('SIGKILL'), (options.seconds + 20) * 1000)
  try {
    const [out, err, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited])
    const usage = proc.resourceUsage()
    if (usage) options.onExit?.(Number(usage.cpuTime.total))
    const line = out.split('\n').find((l) => l.startsWith('BENCH_JSON '))
    if (code !== 0 || !line) throw new Error(`wrk failed (exit ${code}): ${args.join(' ')}\n${out}${err}`)
    return JSON.parse(line.slice('BENCH_JSON '.length)) as WrkResult
  } finally {
    clearTimeout(guard)
    options.track.delete(proc)
  }
}

export const requestsPerSecond = (r: WrkResult) => r.requests / (r.duration_us / 1e6)

/**
 * Runs of wrk made at the same time (one per server of a cluster) as one: requests, bytes,
 * errors and statuses added up over the longest duration. Percentiles of separate runs do not
 * combine: each latency figure is the worse of the runs' (the mean is weighted by requests).
 */
export function mergeRuns(runs: readonly WrkResult[]): WrkResult {
  if (runs.length === 1) return runs[0]!
  const requests = runs.reduce((sum, r) => sum + r.requests, 0)
  const statuses: Record<string, number> = {}
  for (const r of runs) for (const [status, n] of Object.entries(r.statuses)) statuses[status] = (statuses[status] ?? 0) + n
  const errors = { connect: 0, read: 0, write: 0, status: 0, timeout: 0 }
  for (const r of runs) for (const kind of Object.keys(errors) as (keyof typeof errors)[]) errors[kind] += r.errors[kind]
  const worst = (of: keyof WrkResult['latency_us']) => Math.max(...runs.map((r) => r.latency_us[of]))
  return {
    requests,
    duration_us: Math.max(...runs.map((r) => r.duration_us)),
    bytes: runs.reduce((sum, r) => sum + r.bytes, 0),
    errors,
    latency_us: {
      p50: worst('p50'), p90: worst('p90'), p99: worst('p99'), p999: worst('p999'), max: worst('max'),
      mean: requests === 0 ? 0 : runs.reduce((sum, r) => sum + r.latency_us.mean * r.requests, 0) / requests,
    },
    statuses,
  }
}
