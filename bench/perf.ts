/**
 * Linux `perf` for BENCH_PERF=1: samples a process's threads with their stacks while a run
 * loads it, and names its compiled JavaScript from the JIT dump JSC writes when started with
 * `jitDumpEnv`. Summarised by bench/profile.ts.
 */
import type { Subprocess } from 'bun'
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { attribute, JitSymbols, parseJitDump, parsePerfScript, type Breakdown } from './profile'

export const PERF_INSTALL_HINT =
  'BENCH_PERF=1 needs perf (`apt-get install linux-perf` on Debian) and the right to sample other processes (root, or kernel.perf_event_paranoid ≤ 1).'

/** One sample per this much CPU time of a thread (perf's cpu-clock, a fixed period rather than a rate). */
const SAMPLE_US = 500

/** The perf executable, or null when there is none. */
export function findPerf(): string | null {
  return Bun.which('perf') ?? (existsSync('/usr/bin/perf') ? '/usr/bin/perf' : null)
}

/** The environment under which a Bun process writes its JIT dump into `dir` (named after its pid). */
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
}

/**
 * Samples process `pid` while `load` runs (`load` returns how many requests were answered
 * meanwhile), and keeps the stacks in `work`.
 */
export async function recordWhile(perf: string, pid: number, work: string, track: Set<Subprocess>, load: () => Promise<number>): Promise<Recording> {
  const data = join(work, `perf-${pid}-${Date.now()}.data`)
  const recorder = Bun.spawn(
    // The JIT dump's clock, so that a sample is named after the code that was there at the time.
    [perf, 'record', '-q', '-g', '-k', 'CLOCK_MONOTONIC', '-e', 'cpu-clock', '-c', String(SAMPLE_US * 1000), '-p', String(pid), '-o', data],
    { stdin: 'ignore', stdout: 'ignore', stderr: 'pipe' },
  )
  track.add(recorder)
  try {
    await Bun.sleep(100) // perf attaches to every thread before the load starts
    if (recorder.exitCode !== null) throw new Error(`perf record exited at once: ${await new Response(recorder.stderr).text()}\n${PERF_INSTALL_HINT}`)
    const requests = await load()
    recorder.kill('SIGINT')
    await recorder.exited
    const scriptPath = `${data}.txt`
    const script = Bun.spawnSync([perf, 'script', '-i', data, '-F', 'tid,time,ip,sym,dso'], { stdout: Bun.file(scriptPath), stderr: 'pipe' })
    if (script.exitCode !== 0) throw new Error(`perf script failed: ${script.stderr.toString().slice(0, 500)}`)
    return { pid, scriptPath, requests }
  } finally {
    if (recorder.exitCode === null) recorder.kill('SIGKILL')
    track.delete(recorder)
    rmSync(data, { force: true })
  }
}

/**
 * Where a recorded run's CPU time went, per request. Only once its process has exited: JSC
 * writes the JIT dump (into `jitDir`) in full only then.
 */
export function breakdownOf(recording: Recording, jitDir: string): Breakdown {
  // Named jit-<tid>-<pid>.dump by the thread that writes it.
  const dump = readdirSync(jitDir).find((name) => name.startsWith('jit-') && name.endsWith(`-${recording.pid}.dump`))
  const symbols = new JitSymbols(dump === undefined ? [] : parseJitDump(readFileSync(join(jitDir, dump))))
  const samples = parsePerfScript(readFileSync(recording.scriptPath, 'utf8'))
  return attribute(samples, symbols, recording.pid, SAMPLE_US, recording.requests)
}
