/**
 * How BENCH_PERF=1 splits a process's CPU time per request (bench/profile.ts): JIT dumps and
 * perf's stacks are parsed, and each sample lands in exactly one place.
 */
import { describe, expect, test } from 'bun:test'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { jitSymbolsOf } from '../bench/perf'
import { attribute, functionLabel, JitSymbols, mainThreadUs, parseJitDump, parsePerfScript, type Sample } from '../bench/profile'
import { profileLines } from '../bench/report'

type DumpRecord = { address: number; size: number; name: string; at: number } | { other: number }

/**
 * A jitdump: a header of `headerSize` bytes (40 in version 1, as JSC writes it), then records
 * (a code load when `name` is given, else one of another kind). A code load's vma differs from
 * its code address, as the code address is the one to read.
 */
function jitDump(records: DumpRecord[], { cutLastBy = 0, headerSize = 40 } = {}): Uint8Array {
  const parts: Uint8Array[] = []
  const header = new DataView(new ArrayBuffer(headerSize))
  header.setUint32(0, 0x4a695444, true)
  header.setUint32(4, 1, true)
  header.setUint32(8, headerSize, true)
  parts.push(new Uint8Array(header.buffer))
  for (const record of records) {
    if ('other' in record) {
      const other = new DataView(new ArrayBuffer(16 + record.other))
      other.setUint32(0, 2, true)
      other.setUint32(4, 16 + record.other, true)
      parts.push(new Uint8Array(other.buffer))
      continue
    }
    const name = new TextEncoder().encode(`${record.name}\0`)
    const size = 16 + 40 + name.length + record.size
    const load = new DataView(new ArrayBuffer(size))
    load.setUint32(0, 0, true)
    load.setUint32(4, size, true)
    load.setBigUint64(8, BigInt(record.at), true)
    load.setBigUint64(16 + 8, BigInt(record.address + 0x100000), true) // vma
    load.setBigUint64(16 + 16, BigInt(record.address), true) // code address
    load.setBigUint64(16 + 24, BigInt(record.size), true)
    new Uint8Array(load.buffer).set(name, 16 + 40)
    parts.push(new Uint8Array(load.buffer))
  }
  const all = new Uint8Array(parts.reduce((n, p) => n + p.length, 0))
  let at = 0
  for (const part of parts) {
    all.set(part, at)
    at += part.length
  }
  return all.subarray(0, all.length - cutLastBy)
}

describe('parseJitDump', () => {
  test('reads the code loads in file order and skips other records', () => {
    const bytes = jitDump([
      { address: 0x1000, size: 0x100, name: 'JSC-FTL: decide#DrjVJ7', at: 41532380196218 },
      { other: 24 },
      { address: 0x2000, size: 0x40, name: 'JSC-Thunk: CallTrampoline', at: 41532380199000 },
    ])
    expect(parseJitDump(bytes)).toEqual([
      { start: 0x1000, size: 0x100, name: 'JSC-FTL: decide#DrjVJ7', loadedAt: 41532380196218 },
      { start: 0x2000, size: 0x40, name: 'JSC-Thunk: CallTrampoline', loadedAt: 41532380199000 },
    ])
  })

  test('reads past a header of any size', () => {
    const bytes = jitDump([{ address: 0x1000, size: 0x10, name: 'a', at: 1 }], { headerSize: 48 })
    expect(parseJitDump(bytes).map((c) => c.name)).toEqual(['a'])
  })

  test('stops at a record cut short (a process that died while writing)', () => {
    const bytes = jitDump([{ address: 0x1000, size: 0x10, name: 'a', at: 1 }, { address: 0x2000, size: 0x10, name: 'b', at: 2 }], { cutLastBy: 5 })
    expect(parseJitDump(bytes).map((c) => c.name)).toEqual(['a'])
  })

  test("skips a code load too short for its fields, and reads a name without its NUL to the record's end", () => {
    const short = jitDump([{ other: 8 }])
    new DataView(short.buffer, short.byteOffset).setUint32(40, 0, true) // the short record, now a code load
    expect(parseJitDump(short)).toEqual([])
    const unterminated = jitDump([{ address: 0x1000, size: 0, name: 'name', at: 1 }, { other: 4 }])
    unterminated[40 + 56 + 4] = 0x21 // the NUL after "name", overwritten: the name runs to the record's end
    expect(parseJitDump(unterminated).map((c) => c.name)).toEqual(['name!'])
  })

  test('refuses a file that is not a jitdump', () => {
    expect(() => parseJitDump(new TextEncoder().encode('not a dump at all'))).toThrow('not a jitdump')
  })
})

describe('JitSymbols', () => {
  const symbols = new JitSymbols([
    { start: 0x1000, size: 0x100, name: 'old', loadedAt: 10 },
    { start: 0x1080, size: 0x100, name: 'new', loadedAt: 20 }, // compiled later into memory freed by `old`
    { start: 0x2ff0, size: 0x20, name: 'across a page', loadedAt: 5 },
  ])
  test.each([
    [0x0fff, 30, null],
    [0x1000, 30, 'old'],
    [0x107f, 30, 'old'],
    [0x1080, 30, 'new'],
    [0x117f, 30, 'new'],
    [0x1180, 30, null],
    // Before `new` was compiled, its memory still held `old`; before either, nothing.
    [0x1080, 15, 'old'],
    [0x1100, 15, null],
    [0x1000, 5, null],
    [0x2ff0, 30, 'across a page'],
    [0x3008, 30, 'across a page'],
    [0x3010, 30, null],
  ])('%p at %p → %p', (address, at, name) => {
    expect(symbols.nameOf(address, at)).toBe(name)
  })

  test('in the order the code was compiled, whatever the order of the records', () => {
    const shuffled = new JitSymbols([
      { start: 0x1080, size: 0x100, name: 'new', loadedAt: 20 },
      { start: 0x1000, size: 0x100, name: 'old', loadedAt: 10 },
    ])
    expect(shuffled.nameOf(0x1080, 30)).toBe('new')
  })
})

describe('functionLabel', () => {
  test.each([
    ['JSC-FTL: decide#DrjVJ7', 'decide (FTL)'],
    ['JSC-Baseline: handle#AGkof8', 'handle (Baseline)'],
    ['JSC-FTL: #CNxTmg', 'anonymous #CNxTmg (FTL)'],
    ['JSC-Thunk: CallTrampoline', 'CallTrampoline (Thunk)'],
    ['something else', 'something else'],
  ])('%p → %p', (name, label) => {
    expect(functionLabel(name)).toBe(label)
  })
})

describe('parsePerfScript', () => {
  test('one sample per tid line, with its time in ns and its frames innermost first', () => {
    const text = [
      '1234 41536.370419: ',
      '\t         183cff1 [unknown] (/work/dist/codepushgo)',
      '\t    7fecb6939238 [unknown] (/tmp/perf-1234.map)',
      '',
      '   1240 41540.383600123: ',
      '\tffffffff81a0c2d0 _raw_spin_unlock_irqrestore ([kernel.kallsyms])',
      '\tffffffff81b00000 sock_def_readable ([kernel.kallsyms])',
      '',
    ].join('\n')
    expect(parsePerfScript(text)).toEqual([
      {
        tid: 1234,
        time: 41536370419000,
        frames: [
          { address: 0x183cff1, symbol: '[unknown]', dso: '/work/dist/codepushgo' },
          { address: 0x7fecb6939238, symbol: '[unknown]', dso: '/tmp/perf-1234.map' },
        ],
      },
      {
        tid: 1240,
        time: 41540383600123,
        frames: [
          { address: 0xffffffff81a0c2d0, symbol: '_raw_spin_unlock_irqrestore', dso: '[kernel.kallsyms]' },
          { address: 0xffffffff81b00000, symbol: 'sock_def_readable', dso: '[kernel.kallsyms]' },
        ],
      },
    ])
  })
})

describe('attribute', () => {
  const MAIN = 100
  const symbols = new JitSymbols([
    { start: 0x7000, size: 0x100, name: 'JSC-FTL: decide#A', loadedAt: 1 },
    { start: 0x8000, size: 0x100, name: 'JSC-FTL: handle#B', loadedAt: 1 },
    { start: 0x9000, size: 0x100, name: 'JSC-FTL: later#C', loadedAt: 200 },
    { start: 0xa000, size: 0x100, name: 'JSC-Thunk: CallTrampoline', loadedAt: 1 },
  ])
  const native = (address: number) => ({ address, symbol: '[unknown]', dso: '/bin/codepushgo' })
  const kernel = (symbol: string, dso = '[kernel.kallsyms]') => ({ address: 0xffffffff81000000, symbol, dso })
  const js = (address: number) => ({ address, symbol: '[unknown]', dso: '/tmp/perf-100.map' })
  const sample = (tid: number, ...frames: Sample['frames']): Sample => ({ tid, time: 100, frames })

  // Each sample is 500 µs of CPU over 100 requests: 5 µs a request.
  const cases: Array<[string, Sample, Partial<Record<'kernelWakingReader' | 'kernelOther' | 'nativeWithoutJs' | 'js' | 'nativeFromJs' | 'otherThreads', number>>, string | null]> = [
    ['a write that wakes the reader', sample(MAIN, kernel('_raw_spin_unlock_irqrestore'), kernel('sock_def_readable'), kernel('__x64_sys_sendto'), native(0x10)), { kernelWakingReader: 5 }, null],
    ['another system call', sample(MAIN, kernel('tcp_recvmsg'), kernel('__x64_sys_recvfrom'), native(0x10)), { kernelOther: 5 }, null],
    ['the kernel on behalf of JavaScript', sample(MAIN, kernel('__x64_sys_getpeername'), native(0x20), js(0x8010)), { kernelOther: 5 }, 'handle (FTL)'],
    ['Bun alone (HTTP, the event loop)', sample(MAIN, native(0x10), native(0x20)), { nativeWithoutJs: 5 }, null],
    ['compiled JavaScript', sample(MAIN, js(0x7010), js(0x8010)), { js: 5 }, 'decide (FTL)'],
    ['native code JavaScript called', sample(MAIN, native(0x30), js(0x8020), js(0x7020)), { nativeFromJs: 5 }, 'handle (FTL)'],
    ['another thread', sample(101, native(0x10)), { otherThreads: 5 }, null],
    ['code compiled after the sample is not JavaScript yet', sample(MAIN, js(0x9010), native(0x20)), { nativeWithoutJs: 5 }, null],
    ['a kernel module', sample(MAIN, kernel('nf_hook_slow', '[nf_conntrack]'), native(0x10)), { kernelOther: 5 }, null],
    ['a sample without a stack', sample(MAIN), { nativeWithoutJs: 5 }, null],
    ['through a call trampoline: counts for its caller', sample(MAIN, native(0x30), js(0xa010), js(0x8010)), { nativeFromJs: 5 }, 'handle (FTL)'],
    ['a caller whose return address is just past its code', sample(MAIN, native(0x30), js(0x8100)), { nativeFromJs: 5 }, 'handle (FTL)'],
    ['the innermost frame is not read as a return address', sample(MAIN, js(0x8100)), { nativeWithoutJs: 5 }, null],
  ]
  test.each(cases)('%s', (_, s, expected, fn) => {
    const b = attribute([s], symbols, MAIN, 500, 100)
    const zero = { kernelWakingReader: 0, kernelOther: 0, nativeWithoutJs: 0, js: 0, nativeFromJs: 0, otherThreads: 0 }
    expect({ ...b, functions: undefined }).toEqual({ ...zero, ...expected, functions: undefined })
    expect(b.functions.map((f) => f.name)).toEqual(fn === null ? [] : [fn])
  })

  test('functions: totals with what they called, most first, cut at `top`', () => {
    const b = attribute(
      [
        sample(MAIN, js(0x7010)),
        sample(MAIN, native(0x30), js(0x8010)),
        sample(MAIN, native(0x30), js(0x8010)),
        sample(MAIN, js(0x8010)),
      ],
      symbols, MAIN, 1000, 1000, 1,
    )
    expect(b.functions).toEqual([{ name: 'handle (FTL)', total: 3, called: 2 }])
    expect(mainThreadUs(b)).toBe(4)
  })

  test('refuses to divide by no requests', () => {
    expect(() => attribute([], symbols, MAIN, 500, 0)).toThrow('no requests')
  })
})

describe('jitSymbolsOf', () => {
  test("reads the dump of the process asked for (jit-<tid>-<pid>.dump), not another's", () => {
    const dir = mkdtempSync(join(tmpdir(), 'jitdump-'))
    try {
      writeFileSync(join(dir, 'jit-1-234.dump'), jitDump([{ address: 0x1000, size: 0x10, name: 'of 234', at: 1 }]))
      writeFileSync(join(dir, 'jit-35-34.dump'), jitDump([{ address: 0x1000, size: 0x10, name: 'of 34', at: 1 }]))
      expect(jitSymbolsOf(34, dir).nameOf(0x1000, 2)).toBe('of 34')
      expect(jitSymbolsOf(99, dir).nameOf(0x1000, 2)).toBe(null)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})

describe('profileLines', () => {
  test('nothing without profiles', () => {
    expect(profileLines([])).toEqual([])
  })

  test('a row per run in µs per request, and its functions', () => {
    const breakdown = {
      kernelWakingReader: 4.44, kernelOther: 13, nativeWithoutJs: 10, js: 7, nativeFromJs: 15, otherThreads: 2,
      functions: [{ name: 'handle (FTL)', total: 4, called: 2.5 }],
    }
    const lines = profileLines([{ label: '(a) server | odd', breakdown }])
    expect(lines).toContain('| (a) server \\| odd | 4.4 | 13.0 | 10.0 | 7.0 | 15.0 | 49.4 | 2.0 |')
    expect(lines).toContain('- (a) server | odd: `handle (FTL)` 4.0 (2.5)')
  })
})
