/**
 * When the serving process collects its whole heap (src/memory.ts): in the first second
 * without a request after enough of them, never again until there have been enough again;
 * and the count it goes by covers every answer.
 */
import { describe, expect, test } from 'bun:test'
import { createApp } from '../src/app'
import { BUSY_ANSWERS, IdleCollection } from '../src/memory'
import { seededWorld } from './helpers/world'

const busy = BUSY_ANSWERS / 2

/** The intervals (requests answered in each) after which a full collection was due. */
function collectedAfter(intervals: number[]): number[] {
  const collection = new IdleCollection()
  return intervals.flatMap((answered, i) => (collection.due(answered) ? [i] : []))
}

describe('a full collection when idle after work', () => {
  test.each([
    ['never on a server that never answered', [0, 0, 0, 0], []],
    ['never while requests keep coming', Array(10).fill(busy), []],
    ['in the first second without a request after enough of them', [busy, busy, 0, 0, 0], [2]],
    ['not after too few requests', [1, BUSY_ANSWERS - 2, 0, 0], []],
    ['not while a trickle of requests continues', [busy, busy, 1, 1, 1], []],
    ['once per idle stretch, again after the next busy one', [busy, busy, 0, 0, busy, busy, 0, 0], [2, 6]],
    ['the threshold itself is enough', [BUSY_ANSWERS, 0], [1]],
  ] as const)('%s', (_name, intervals, expected) => {
    expect(collectedAfter([...intervals])).toEqual([...expected])
  })
})

test('every answer counts towards the activity, errors and unknown routes included', async () => {
  const w = await seededWorld()
  const activity = { answered: 0 }
  const app = createApp({ ...w.core, log: { request() {}, info() {}, error() {}, flush() {} }, version: 'test', activity })
  const statuses: number[] = []
  for (const [path, key] of [['/health', null], ['/apikey/verify', w.alice.key], ['/apikey/verify', 'ak_nope'], ['/nowhere', null]] as const) {
    const response = await app.handle(new Request(`http://localhost${path}`, { headers: key ? { authorization: key } : {} }))
    statuses.push(response.status)
  }
  expect(statuses).toEqual([200, 200, 401, 404])
  expect(activity.answered).toBe(4)
})
