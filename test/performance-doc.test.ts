/** Code comments that rest on a measurement point to a section of docs/performance.md: each must exist. */
import { expect, test } from 'bun:test'
import { readdirSync, readFileSync } from 'node:fs'
import { join, resolve } from 'node:path'

const ROOT = resolve(import.meta.dir, '..')

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name)
    return entry.isDirectory() ? sources(path) : path.endsWith('.ts') ? [path] : []
  })
}

test('every section of docs/performance.md the code points to exists', () => {
  const headings = new Set([...readFileSync(join(ROOT, 'docs/performance.md'), 'utf8').matchAll(/^#+ (.+)$/gm)].map((m) => m[1]!.trim()))
  const references = ['src', 'bench', 'test'].flatMap((dir) => sources(join(ROOT, dir))).flatMap((path) =>
    // A comment may wrap between the file name and the section's name.
    [...readFileSync(path, 'utf8').replace(/\n\s*\*\s*/g, ' ').matchAll(/docs\/performance\.md, "([^"]+)"/g)].map((m) => ({ path, section: m[1]! })),
  )
  expect(references.length).toBeGreaterThan(10)
  expect(references.filter((r) => !headings.has(r.section))).toEqual([])
})
