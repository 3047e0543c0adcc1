/**
 * The sources and tests type-check (`npm run typecheck`). Bun runs TypeScript without checking
 * it, so without this a type error reaches main unnoticed (two did, in a test).
 */
import { expect, test } from 'bun:test'
import { join, resolve } from 'node:path'

const ROOT = resolve(import.meta.dir, '..')

// The server and tests; the console, which runs in a browser, with the DOM's types instead of Bun's.
test.each([ROOT, join(ROOT, 'src/console')])('tsc --noEmit -p %s finds no type error', (project) => {
  const result = Bun.spawnSync([join(ROOT, 'node_modules/.bin/tsc'), '--noEmit', '-p', project], { cwd: ROOT, stdout: 'pipe', stderr: 'pipe' })
  // The compiler's own report, so that a failure says where.
  expect(`${result.stdout}${result.stderr}`).toBe('')
  expect(result.exitCode).toBe(0)
}, 60_000)
