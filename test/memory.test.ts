/**
 * When the serving process collects its whole heap (src/memory.ts): in the first idle check
 * interval after enough work, and never again until there has been work again.
 */
import { describe, expect, test } from 'bun:test'
import { IDLE_CPU_MS, IdleCollection, WORK_CPU_MS } from '../src/memory'

const busy = IDLE_CPU_MS * 40
const idle = IDLE_CPU_MS / 5

/** The intervals (CPU ms each) after which a full collection was due. */
function collectedAfter(intervals: number[]): number[] {
  const collection = new IdleCollection()
  return intervals.flatMap((ms, i) => (collection.due(ms) ? [i] : []))
}

describe('a full collection when idle after work', () => {
  test.each([
    ['never on a process that was always idle', [idle, idle, idle, idle], []],
    ['never while busy', Array(10).fill(busy), []],
    ['in the first idle interval after enough work', [busy, busy, idle, idle, idle], [2]],
    ['not after too little work', [IDLE_CPU_MS, IDLE_CPU_MS, idle], []],
    ['after work that adds up to enough across intervals', [WORK_CPU_MS / 2, WORK_CPU_MS / 2, idle], [2]],
    ['once per idle stretch, again after the next work', [busy, busy, idle, idle, busy, busy, idle, idle], [2, 6]],
    ['the threshold itself counts as work', [WORK_CPU_MS, IDLE_CPU_MS - 1], [1]],
  ] as const)('%s', (_name, intervals, expected) => {
    expect(collectedAfter([...intervals])).toEqual([...expected])
  })
})
