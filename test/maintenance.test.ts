/** Maintenance in slices (src/maintenance.ts): one slice per turn of the event loop, never two runs at once. */
import { expect, test } from 'bun:test'
import { inSlices } from '../src/maintenance'

const turn = () => new Promise((resolve) => setImmediate(resolve))

test('a run takes one slice per turn of the event loop until a slice says it is done', async () => {
  const log: string[] = []
  let left = 3
  const run = inSlices(() => (log.push(`slice ${left}`), --left > 0), () => {})
  run()
  log.push('turn')
  await turn()
  log.push('turn')
  await turn()
  await turn()
  expect(log).toEqual(['slice 3', 'turn', 'slice 2', 'turn', 'slice 1'])
})

test('starting a run while one is going does nothing; once it is done, a run starts again', async () => {
  let slices = 0
  let left = 2
  const run = inSlices(() => (slices++, --left > 0), () => {})
  run()
  run()
  run()
  for (let i = 0; i < 3; i++) await turn()
  expect(slices).toBe(2)
  left = 1
  run()
  expect(slices).toBe(3)
})

test('a slice that throws ends the run and is reported; the next run starts afresh', async () => {
  const errors: unknown[] = []
  let calls = 0
  const run = inSlices(() => {
    calls++
    if (calls === 1) throw new Error('disk full')
    return false
  }, (error) => errors.push(error))
  run()
  await turn()
  expect(errors.map(String)).toEqual(['Error: disk full'])
  run()
  expect(calls).toBe(2)
})

test('slices can be spread out: the next one runs when the schedule says', () => {
  const pending: (() => void)[] = []
  let slices = 0
  const run = inSlices(() => ++slices < 3, () => {}, (next) => pending.push(next))
  run()
  expect(slices).toBe(1)
  pending.shift()!()
  expect(slices).toBe(2)
  run() // still running: nothing
  expect(slices).toBe(2)
  pending.shift()!()
  expect([slices, pending.length]).toEqual([3, 0])
})
