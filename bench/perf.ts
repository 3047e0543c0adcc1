/**
 * Linux `perf` for BENCH_PERF=1: samples a process's threads with their stacks while a run
 * loads it, and names its compiled JavaScript from the JIT dump JSC writes when started with
 * `jitDumpEnv`. Summarised by bench/profile.ts.
 */
import type { Subprocess } from 'bun'
import { readdirSync, readFileSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { processCpuUs } from './cpu'
import { findProgram } from './program'
import { attribute, JitSymbols, parseJitDump, parsePerfScript, type Breakdown } from './profile'

export const PERF_INSTALL_HINT =
  'BENCH_PERF=1 needs perf (`apt-get install linux-perf` on Debian) and the right to sample other processes with ' +
  'their kernel stacks: root, or kernel.perf_event_paranoid ≤ 1 (`sysctl kernel.perf_event_paranoid=1`).'

/** One sample per this much CPU time of a thread (perf's cpu-clock, a fixed period rather than a rate). */
const SAMPLE_US = 500

/**
 * The perf executable, or why it cannot be used. Without the right to, perf samples only
 * user space (`cpu-clock:u`) and says nothing: the kernel's columns would read 0.
 */
export function findPerf(): { perf: string } | { problem: string } {
  const perf = findProgram('perf')
  if (perf === null) return { problem: `perf not found. ${PERF_INSTALL_HINT}` }
  if (process.getuid?.() === 0) return { perf }
  let paranoid = Number.NaN
  try {
    paranoid = Number(readFileSync('/proc/sys/kernel/perf_event_paranoid', 'utf8').trim())
  } catch {
    // not Linux, or no /proc: perf will not work either
  }
  if (!(paranoid <= 1)) return { problem: `kernel.perf_event_paranoid is ${Number.isNaN(paranoid) ? 'unknown' : paranoid}. ${PERF_INSTALL_HINT}` }
  return { perf }
}

/** The environment under which a Bun process writes its JIT dump into `dir`. */
export function jitDumpEnv(dir: string): Record<string, string> {
  return { BUN_JSC_useJITDump: '1', BUN_JSC_jitDumpDirectory: dir }
}

/** A recorded run, to be split once its process has exited (see `breakdownOf`). */
export interface Recording {
  pid: number
  /** `perf script` of the samples. */
  scriptPath: string
  /** Requests answered while recording. */
  requests: number
  /** CPU time the process used meanwhile, µs (null: unknown), to tell whether samples were lost. */
  cpuUs: number | null
}

/**
 * Samples process `pid` while `load` runs (`load` returns how many requests were answered
 * meanwhile), and keeps the stacks in `work`. perf's own CPU time goes to `onExit`, so that
 * the run's report does not count it as another process's.
 */
export async function recordWhile(
  perf: string,
  pid: number,
  work: string,
  track: Set<Subprocess>,
  onExit: (cpuUs: number) => void,
  load: () => Promise<number>,
): Promise<Recording> {
  const data = join(work, `perf-${pid}-${Date.now()}.data`)
  const recorder = Bun.spawn(
    // The JIT dump's clock, so that a sample is named after the code that was there at the time.
    [perf, 'record', '-q', '-g', '-k', 'CLOCK_MONOTONIC', '-e', 'cpu-clock', '-c', String(SAMPLE_US * 1000), '-p', String(pid), '-o', data],
    { stdin: 'ignore', stdout: 'ignore', stderr: 'pipe' },
  )
  track.add(recorder)
  try {
    await Bun.sleep(200) // perf attaches to every thread before the load starts
    if (recorder.exitCode !== null) throw new Error(`perf record exited at once: ${await new Response(recorder.stderr).text()}\n${PERF_INSTALL_HINT}`)
    const cpuBefore = processCpuUs(pid)
    const requests = await load()
    const cpuAfter = processCpuUs(pid)
    recorder.kill('SIGINT')
    await recorder.exited
    const scriptPath = `${data}.txt`
    const script = Bun.spawnSync([perf, 'script', '-i', data, '-F', 'tid,time,ip,sym,dso'], { stdout: Bun.file(scriptPath), stderr: 'pipe' })
    if (script.resourceUsage) onExit(Number(script.resourceUsage.cpuTime.total))
    if (script.exitCode !== 0) throw new Error(`perf script failed: ${script.stderr.toString().slice(0, 500)}`)
    return { pid, scriptPath, requests, cpuUs: cpuBefore === null || cpuAfter === null ? null : cpuAfter - cpuBefore }
  } finally {
    if (recorder.exitCode === null) recorder.kill('SIGKILL')
    await recorder.exited
    const usage = recorder.resourceUsage()
    if (usage) onExit(Number(usage.cpuTime.total))
    track.delete(recorder)
    rmSync(data, { force: true })
  }
}

/**
 * The compiled code of process `pid`, from its JIT dump in `jitDir` (named jit-<tid>-<pid>.dump
 * by the thread that writes it). Only once the process has exited: JSC writes the dump in full
 * only then.
 */
export function jitSymbolsOf(pid: number, jitDir: string): JitSymbols {
  const dump = readdirSync(jitDir).find((name) => name.startsWith('jit-') && name.endsWith(`-${pid}.dump`))
  return new JitSymbols(dump === undefined ? [] : parseJitDump(readFileSync(join(jitDir, dump))))
}

/** Where a recorded run's CPU time went, per request, and the share of the process's CPU time the samples cover. */
export function breakdownOf(recording: Recording, symbols: JitSymbols): { breakdown: Breakdown; coverage: number | null } {
  const samples = parsePerfScript(readFileSync(recording.scriptPath, 'utf8'))
  const breakdown = attribute(samples, symbols, recording.pid, SAMPLE_US, recording.requests)
  const coverage = recording.cpuUs === null || recording.cpuUs === 0 ? null : (samples.length * SAMPLE_US) / recording.cpuUs
  return { breakdown, coverage }
}
