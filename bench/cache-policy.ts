/**
 * `bun bench/cache-policy.ts`: the read model's eviction (SIEVE, src/read-model/sieve.ts)
 * against LRU on the wide part's workload, replayed as a trace of key lookups: rounds of (a),
 * 1,000 hot keys, then (f), 100,000 keys in turn, each walked by two wrk threads from their own
 * offsets, as bench/lua.ts does. For caches holding 25% to 100% of the keys in use, it prints
 * the hit ratio of each phase and the CPU time per lookup (hits cost LRU a delete and an
 * insert in its map; SIEVE, a property write).
 */
import { SieveCache, type Slot } from '../src/read-model/sieve'

/** LRU over a Map's insertion order, with the same byte accounting. */
class LruCache<K, V extends Slot> {
  private readonly entries = new Map<K, V>()
  private used = 0
  constructor(private readonly budget: number) {}

  get(key: K): V | undefined {
    const entry = this.entries.get(key)
    if (entry === undefined) return undefined
    this.entries.delete(key)
    this.entries.set(key, entry)
    return entry
  }

  set(key: K, entry: V): void {
    this.entries.set(key, entry)
    this.used += entry.bytes
    while (this.used > this.budget) {
      const [oldest, value] = this.entries.entries().next().value as [K, V]
      this.entries.delete(oldest)
      this.used -= value.bytes
    }
  }
}

interface Cache {
  get(key: string): Slot | undefined
  set(key: string, entry: Slot): void
}

const HOT = 1_000
const WIDE = 100_000
const ENTRY_BYTES = 700
const ROUNDS = 3
/** Lookups per phase: about what a 4 s wrk run serves. */
const HOT_LOOKUPS = 200_000
const WIDE_LOOKUPS = 150_000

const hotKeys = Array.from({ length: HOT }, (_, i) => `hot-${i}`)
const wideKeys = Array.from({ length: WIDE }, (_, i) => `wide-${i}`)

/** Two threads walking `keys` in turn from golden-ratio offsets, interleaved. */
function* walk(keys: readonly string[], lookups: number): Generator<string> {
  const offsets = [0, Math.floor(0.6180339887 * keys.length)]
  for (let n = 0; n < lookups; n++) {
    const thread = n % 2
    yield keys[(offsets[thread]! + (n >> 1)) % keys.length]!
  }
}

function replay(cache: Cache): { hot: number[]; wide: number[]; nsPerLookup: number } {
  const hot: number[] = []
  const wide: number[] = []
  let lookups = 0
  const started = process.cpuUsage()
  for (let round = 0; round < ROUNDS; round++) {
    for (const [phase, keys, count] of [[hot, hotKeys, HOT_LOOKUPS], [wide, wideKeys, WIDE_LOOKUPS]] as const) {
      let hits = 0
      for (const key of walk(keys, count)) {
        lookups++
        if (cache.get(key) !== undefined) hits++
        else cache.set(key, { visited: false, bytes: ENTRY_BYTES })
      }
      phase.push(hits / count)
    }
  }
  const cpu = process.cpuUsage(started)
  return { hot, wide, nsPerLookup: ((cpu.user + cpu.system) * 1000) / lookups }
}

const pct = (x: number) => `${(x * 100).toFixed(1)}%`
console.log('| cache holds | policy | (a) hits, rounds 1-3 | (f) hits, rounds 1-3 | CPU per lookup |')
console.log('|---|---|---|---|---:|')
for (const share of [0.25, 0.5, 0.9, 1.02]) {
  const budget = Math.round((HOT + WIDE) * share) * ENTRY_BYTES
  for (const [name, cache] of [['SIEVE', new SieveCache<string, Slot>(budget)], ['LRU', new LruCache<string, Slot>(budget)]] as const) {
    const result = replay(cache)
    console.log(
      `| ${pct(share)} of the 101,000 keys | ${name} | ${result.hot.map(pct).join(', ')} | ${result.wide.map(pct).join(', ')} | ${result.nsPerLookup.toFixed(0)} ns |`,
    )
  }
}
