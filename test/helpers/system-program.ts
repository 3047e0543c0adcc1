/**
 * Tests that need a system program (chromium, nginx, wrk) skip with a visible notice when it
 * is missing, and fail instead when CI=true, where `.ci/run` installs it first (SPEC §10).
 */
import { test } from 'bun:test'

/** The program's path when it is installed, else null (after printing the skip notice). */
export function findProgram(name: string, candidates: string[] = []): string | null {
  for (const path of [...candidates, Bun.which(name)]) {
    if (path && Bun.file(path).size > 0) return path
  }
  if (process.env.CI === 'true') {
    // A test that fails loudly: CI promised to install the program.
    test(`${name} is installed (required when CI=true)`, () => {
      throw new Error(`${name} is not installed, but CI=true: .ci/run must install it`)
    })
  } else {
    console.warn(`\n[SKIP NOTICE] ${name} is not installed: its tests are skipped. Install it (see README) to run them.\n`)
  }
  return null
}
