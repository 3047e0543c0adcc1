/** Waiting for something to happen in another process, without sleeping a fixed time. */

/**
 * Resolves once `ready()` holds, polling every 10 ms; fails after `ms` naming `what`. The
 * default is long, for a loaded machine: the test's own timeout bounds it anyway.
 */
export async function waitFor(what: string, ready: () => boolean | Promise<boolean>, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms
  while (!(await ready())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await Bun.sleep(10)
  }
}
