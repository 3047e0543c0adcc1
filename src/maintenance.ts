/**
 * Work that the server does besides answering (last-use writes, audit retention), in slices:
 * one slice per turn of the event loop, so that requests are answered between them and none
 * waits for more than a slice (SPEC §9; docs/performance.md, "Maintenance in slices").
 */

/**
 * Runs `slice` once per turn of the event loop while it returns true. A run started while the
 * previous one is still going does nothing. `failed` hears an error, which ends the run.
 */
export function inSlices(slice: () => boolean, failed: (error: unknown) => void): () => void {
  let running = false
  const next = () => {
    let more = false
    try {
      more = slice()
    } catch (error) {
      failed(error)
    }
    if (more) setImmediate(next)
    else running = false
  }
  return () => {
    if (running) return
    running = true
    next()
  }
}
