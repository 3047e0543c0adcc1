/**
 * Work that the server does besides answering (last-use writes, audit retention), in slices:
 * one slice per turn of the event loop, so that requests are answered between them and none
 * waits for more than a slice (SPEC §9; docs/performance.md, "Maintenance in slices").
 */

/** When to run the next slice: by default on the next turn of the event loop. */
export type Schedule = (next: () => void) => void
const nextTurn: Schedule = (next) => setImmediate(next)

/** Slices `ms` apart: work spread out so that it takes at most a share of the time. */
export const apart = (ms: number): Schedule => (next) => setTimeout(next, ms)

/**
 * Runs `slice`, then again as `schedule` says (by default on the next turn of the event loop)
 * once it has settled with true: at once when it answers a plain boolean, once its promise
 * settles otherwise. A run started while the previous one is still going does nothing.
 * `failed` hears an error, which ends the run. The returned function resolves when the run it
 * started (or found going) has ended.
 */
export function inSlices(slice: () => Promise<boolean> | boolean, failed: (error: unknown) => void, schedule: Schedule = nextTurn): () => Promise<void> {
  let run: { ended: Promise<void>; end: () => void } | null = null
  const end = () => {
    const ending = run!
    run = null
    ending.end()
  }
  const fail = (error: unknown) => {
    failed(error)
    end()
  }
  const after = (more: boolean) => (more ? schedule(step) : end())
  function step(): void {
    let outcome: Promise<boolean> | boolean
    try {
      outcome = slice()
    } catch (error) {
      return fail(error)
    }
    if (outcome instanceof Promise) outcome.then(after, fail)
    else after(outcome)
  }
  return () => {
    if (run !== null) return run.ended
    const { promise, resolve } = Promise.withResolvers<void>()
    run = { ended: promise, end: resolve }
    step()
    return promise
  }
}
