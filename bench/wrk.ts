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
