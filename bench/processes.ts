/**
 * The processes a bench run starts (servers, baselines, wrk) and the temporary directories it
 * makes, all registered here so that `cleanup` kills and removes them, also on failure; their
 * memory and CPU time.
 */
import type { Subprocess } from 'bun'
import { closeSync, existsSync, openSync, readFileSync, rmSync } from 'node:fs'
import { join } from 'node:path'

export const children = new Set<Subprocess>()
export const tempDirs: string[] = []
let cleanedUp = false

/** CPU time (µs) used by the processes this run started and that have exited. */
export const exitedCpu = { us: 0 }
export const countChildCpu = (us: number) => {
  exitedCpu.us += us
}

/**
 * Whatever ends the process (a signal handler of another module calling `process.exit` while
 * `cleanup` still waits): what is left is killed and removed at once.
 */
process.on('exit', () => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
  if (process.env.BENCH_KEEP_TMP !== '1') for (const dir of tempDirs) if (existsSync(dir)) rmSync(dir, { recursive: true, force: true })
})

export async function cleanup(): Promise<void> {
  if (cleanedUp) return
  cleanedUp = true
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM')
  await Promise.race([Promise.all([...children].map((c) => c.exited)), Bun.sleep(3000)])
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
  children.clear()
  for (const dir of tempDirs) {
    if (process.env.BENCH_KEEP_TMP === '1') console.error(`bench: kept ${dir} (BENCH_KEEP_TMP=1)`)
    else rmSync(dir, { recursive: true, force: true })
  }
}

export function freePort(): number {
  const listener = Bun.listen({ hostname: '127.0.0.1', port: 0, socket: { data() {} } })
  const port = listener.port
  listener.stop(true)
  return port
}

/** Peak resident memory so far (VmHWM) and current (VmRSS) of a process, in MB. */
export function memoryMb(pid: number): { hwm: number; rss: number } | null {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8')
    const field = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? Number.NaN) / 1024
    return { hwm: field('VmHWM'), rss: field('VmRSS') }
  } catch {
    return null
  }
}

/** Polls VmRSS while a process runs, as a fallback should VmHWM be unavailable. */
export function rssSampler(pid: number) {
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

export async function stopProcess(child: Subprocess): Promise<number | null> {
  if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM')
  const exited = await Promise.race([child.exited.then(() => true), Bun.sleep(5000).then(() => false)])
  if (!exited) child.kill('SIGKILL')
  await child.exited
  children.delete(child)
  const usage = child.resourceUsage()
  if (usage) countChildCpu(Number(usage.cpuTime.total))
  return child.exitCode
}

export interface Server {
  child: Subprocess
  url: string
  /** Spawn → first 200 on /health. */
  startupMs: number
  logPath: string
  errPath: string
  closeLogs(): void
}

/**
 * Spawns `serve` on a free port and times spawn → first 200 on /health, polling every
 * millisecond or so. `storage` says where the data is: `['--dir', DIR]` or
 * `['--database-url', URL]`. The request log goes to a file: no reader in this process
 * competes with the server for the CPU.
 */
export async function startServer(binary: string, storage: readonly string[], work: string, name: string, flags: readonly string[]): Promise<Server> {
  const port = freePort()
  const url = `http://127.0.0.1:${port}`
  const logPath = join(work, `${name}.log`)
  const errPath = join(work, `${name}.err`)
  const out = openSync(logPath, 'w')
  const err = openSync(errPath, 'w')
  const closeLogs = () => {
    closeSync(out)
    closeSync(err)
  }
  const started = performance.now()
  const child = Bun.spawn([binary, 'serve', '--http', `127.0.0.1:${port}`, ...storage, ...flags], { stdin: 'ignore', stdout: out, stderr: err })
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

/** What a server's request log holds: how many lines, 5xx answers and error-level lines, with a few of them. */
export async function analyseLog(path: string) {
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

/** Stops a server and says what was odd about it: its exit, its stderr, errors in its log. */
export async function stopServer(server: Server, name: string): Promise<string[]> {
  const code = await stopProcess(server.child)
  server.closeLogs()
  const stderr = readFileSync(server.errPath, 'utf8').trim()
  const log = await analyseLog(server.logPath)
  const odd: string[] = []
  if (code !== 0) odd.push(`the ${name} server exited with ${code} on SIGTERM`)
  if (stderr !== '') odd.push(`the ${name} server wrote to stderr:\n${stderr.slice(0, 2000)}`)
  if (log.serverErrors > 0 || log.errorLines > 0) odd.push(`the ${name} server's log has ${log.serverErrors} 5xx responses and ${log.errorLines} error lines, e.g.:\n${log.samples.join('\n')}`)
  console.log(`bench: ${name} server log: ${log.lines} lines`)
  return odd
}
