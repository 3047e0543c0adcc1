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

/**
 * Resolves true once `child` has exited, false if it has not within `ms`: a bound on the exit
 * event (to escalate to a harder signal), not a pause; the timer goes as soon as it exits.
 */
export async function exitedWithin(child: { exited: Promise<unknown> }, ms: number): Promise<boolean> {
  let timer: Timer | undefined
  const late = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms)
  })
  try {
    return await Promise.race([child.exited.then(() => true as const), late])
  } finally {
    clearTimeout(timer)
  }
}
