/** The read model's eviction (src/read-model/sieve.ts): within its byte budget, sparing what is used again. */
import { describe, expect, test } from 'bun:test'
import { SieveCache, type Slot } from '../src/read-model/sieve'

const entry = (bytes = 10): Slot => ({ visited: false, bytes })

/** A cache of `budget` bytes holding keys 0..n-1 of 10 bytes each, inserted in order. */
function filled(budget: number, n: number) {
  const cache = new SieveCache<number, Slot>(budget)
  for (let i = 0; i < n; i++) cache.set(i, entry())
  return cache
}

const keys = (cache: SieveCache<number, Slot>, candidates: number) =>
  Array.from({ length: candidates }, (_, i) => i).filter((i) => cache.peek(i) !== undefined)

describe('SieveCache', () => {
  test('holds entries until their bytes pass the budget, then evicts the oldest unvisited', () => {
    const cache = filled(50, 5)
    expect([cache.size, cache.bytes]).toEqual([5, 50])
    cache.set(5, entry())
    expect(keys(cache, 6)).toEqual([1, 2, 3, 4, 5])
    expect(cache.bytes).toBe(50)
  })

  test('an entry used since it came in is spared once, and the hand moves on', () => {
    const cache = filled(50, 5)
    cache.get(0)
    cache.get(1)
    cache.set(5, entry())
    expect(keys(cache, 6)).toEqual([0, 1, 3, 4, 5])
    // 0 and 1 lost their mark as the hand passed; the hand is past them now.
    cache.set(6, entry())
    expect(keys(cache, 7)).toEqual([0, 1, 4, 5, 6])
  })

  test('a scan of keys used once does not push out a key used all along', () => {
    const cache = filled(100, 1)
    for (let i = 1; i < 1000; i++) {
      cache.get(0)
      cache.set(i, entry())
    }
    expect(cache.peek(0)).toBeDefined()
    expect(cache.bytes).toBeLessThanOrEqual(100)
  })

  test('replacing, deleting, resizing and clearing keep the byte count right', () => {
    const cache = filled(1000, 3)
    cache.set(1, entry(40))
    expect(cache.bytes).toBe(60)
    cache.delete(0)
    expect(cache.bytes).toBe(50)
    expect(cache.delete(0)).toBeUndefined()
    // Over budget: unvisited entries go until it fits (2; 1 was just used).
    cache.resize(cache.get(1)!, 995)
    expect(keys(cache, 3)).toEqual([1])
    expect(cache.bytes).toBe(995)
    cache.clear()
    expect([cache.size, cache.bytes]).toEqual([0, 0])
    cache.set(7, entry())
    expect(cache.get(7)?.visited).toBe(true)
  })

  test('an entry larger than the budget is not kept', () => {
    const cache = filled(50, 2)
    cache.set(9, entry(60))
    expect([cache.size, cache.bytes]).toEqual([0, 0])
  })
})
