/**
 * Garbage collection of the serving process, beyond what JSC decides by itself.
 *
 * A dead request's native memory (its Request and Response) is released only when the garbage
 * collector finds it, and JSC waits longer the more the caches hold. Two timers keep the
 * resident memory down (bench/RESULTS.md):
 * - the young generation is collected every YOUNG_GC_MS under any traffic;
 * - the whole heap once the process falls idle after work: what a burst leaves dead in the old
 *   generation (cache entries of deleted keys, a write's statements) otherwise stays resident
 *   until JSC's next full collection, which a lightly loaded server may not reach for minutes.
 */
import { edenGC } from 'bun:jsc'

/**
 * How often young garbage is collected: about 0.5 ms each, 0.5% of the time. Every 200 ms,
 * GET /app/ under load (3 KB of answer per request) peaked about 10 MB higher.
 */
const YOUNG_GC_MS = 100
/** How often the process's CPU time is read to tell whether it is idle. */
export const IDLE_CHECK_MS = 1000
/** Less CPU than this in a check interval is idle (the young collections take about 5 ms a second). */
export const IDLE_CPU_MS = 25
/** A full collection is worth it only after this much CPU time of work since the last one. */
export const WORK_CPU_MS = 1000

/**
 * Decides, from the CPU time of each check interval, when a full collection is due: in the
 * first idle interval after enough work. An idle process is never collected twice in a row.
 */
export class IdleCollection {
  private workMs = 0

  /** Takes the CPU time (ms) of the interval just ended; true when a full collection is due now. */
  due(intervalCpuMs: number): boolean {
    if (intervalCpuMs >= IDLE_CPU_MS) {
      this.workMs += intervalCpuMs
      return false
    }
    if (this.workMs < WORK_CPU_MS) return false
    this.workMs = 0
    return true
  }
}

/** CPU time of the whole process (every thread), in ms. */
function processCpuMs(): number {
  const { user, system } = process.cpuUsage()
  return (user + system) / 1000
}

/** Starts both timers; they never keep the process alive. */
export function keepMemoryDown(): void {
  setInterval(edenGC, YOUNG_GC_MS).unref()
  const idle = new IdleCollection()
  let last = processCpuMs()
  setInterval(() => {
    const now = processCpuMs()
    if (idle.due(now - last)) Bun.gc(true)
    // The collection's own CPU time is not the next interval's work.
    last = processCpuMs()
  }, IDLE_CHECK_MS).unref()
}
