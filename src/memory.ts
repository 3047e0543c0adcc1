/**
 * Garbage collection of the serving process, beyond what JSC decides by itself.
 *
 * A dead request's native memory (its Request and Response) is released only when the garbage
 * collector finds it, and JSC waits longer the more the caches hold. Two timers keep the
 * resident memory down (docs/performance.md, "Garbage collection"):
 * - the young generation is collected every YOUNG_GC_MS while requests are answered;
 * - the whole heap once a second has gone by without a request after busy work: what a burst
 *   leaves dead in the old generation (objects that outlived a young collection, as a key
 *   write's request does while it waits for its commit) otherwise stays resident until JSC's
 *   next full collection, which an idle server may not reach for minutes. After the bench's
 *   key writes: 125-129 MB through 9 s of idle, 95 MB after one collection (in-process, the
 *   heap went from 43 to 22 MB and the native memory it accounts for from 24 to 9 MB). A full
 *   collection holds the process for tens of milliseconds, so it waits for a second without
 *   requests.
 */
import { edenGC } from 'bun:jsc'

/**
 * How often young garbage is collected: about 0.5 ms each, 0.5% of the time. Every 200 ms,
 * GET /app/ under load (3 KB of answer per request) peaked about 10 MB higher.
 */
const YOUNG_GC_MS = 100
/** How long without a request counts as idle. */
const IDLE_MS = 1000
/** A full collection is worth it only after this many requests since the last one. */
export const BUSY_ANSWERS = 10_000

/**
 * Decides, from the requests answered in each idle check interval, when a full collection is
 * due: in the first interval without any after at least BUSY_ANSWERS since the last one.
 */
export class IdleCollection {
  private answered = 0

  /** Takes how many requests the interval just ended answered; true when a full collection is due now. */
  due(answeredInInterval: number): boolean {
    if (answeredInInterval > 0) {
      this.answered += answeredInInterval
      return false
    }
    if (this.answered < BUSY_ANSWERS) return false
    this.answered = 0
    return true
  }
}

/**
 * Starts both timers, given the count of answered requests; they never keep the process alive.
 * A server without requests collects nothing: idle after the bench's (c), it used 15-23 ms
 * of CPU a second collecting an empty young generation every 100 ms, 3-8 ms without.
 */
export function keepMemoryDown(answered: () => number): void {
  let sinceYoung = answered()
  setInterval(() => {
    const now = answered()
    if (now === sinceYoung) return
    sinceYoung = now
    edenGC()
  }, YOUNG_GC_MS).unref()
  const idle = new IdleCollection()
  let sinceCheck = answered()
  setInterval(() => {
    const now = answered()
    if (idle.due(now - sinceCheck)) Bun.gc(true)
    sinceCheck = now
  }, IDLE_MS).unref()
}
