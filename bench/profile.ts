/**
 * Where a process's CPU time goes per request, from `perf record -g` samples of its threads and
 * JavaScriptCore's JIT dump (`BUN_JSC_useJITDump=1`), which names the code JSC compiled
 * (`JSC-FTL: decide#DrjVJ7`). Pure functions: bench/perf.ts runs perf, bench/run.ts asks for
 * this with BENCH_PERF=1.
 *
 * Bun's own binary has no symbols, so native code is told apart only by what is on the stack
 * above it: JavaScript (a host function such as `new Response`, a runtime call, an allocation)
 * or nothing (Bun's HTTP server, the event loop, the garbage collector).
 */

/** One piece of code JSC compiled: where it lives and its name. */
export interface JitCode {
  start: number
  size: number
  name: string
  /** When it was compiled: ns of CLOCK_MONOTONIC, the clock perf records with `-k CLOCK_MONOTONIC`. */
  loadedAt: number
}

const JITDUMP_MAGIC = 0x4a695444 // "JiTD", as written on a little-endian machine
const JIT_CODE_LOAD = 0
/** A record's header (id, size, timestamp), then a code load's fixed fields (pid, tid, vma, code_addr, code_size, code_index). */
const RECORD_HEADER = 16
const CODE_LOAD_FIELDS = 40
const utf8 = new TextDecoder()

/**
 * The code-load records of a jitdump file (the format perf's `inject --jit` reads: a header,
 * then records of `id`, `total_size`, `timestamp`; a code load adds pid, tid, vma, code_addr,
 * code_size, code_index, a NUL-terminated name and the code). In file order: a later record
 * may reuse the memory of an earlier one.
 */
export function parseJitDump(bytes: Uint8Array): JitCode[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  if (bytes.byteLength < 12 || view.getUint32(0, true) !== JITDUMP_MAGIC) throw new Error('not a jitdump file')
  const codes: JitCode[] = []
  let offset = view.getUint32(8, true)
  while (offset + 16 <= bytes.byteLength) {
    const id = view.getUint32(offset, true)
    const size = view.getUint32(offset + 4, true)
    if (size < RECORD_HEADER || offset + size > bytes.byteLength) break // a record cut short by the process's end
    if (id === JIT_CODE_LOAD && size >= RECORD_HEADER + CODE_LOAD_FIELDS) {
      const loadedAt = Number(view.getBigUint64(offset + 8, true))
      const body = offset + RECORD_HEADER
      const codeAddress = Number(view.getBigUint64(body + 16, true))
      const codeSize = Number(view.getBigUint64(body + 24, true))
      const record = bytes.subarray(body + CODE_LOAD_FIELDS, offset + size)
      const nameEnd = record.indexOf(0)
      codes.push({ start: codeAddress, size: codeSize, name: utf8.decode(nameEnd === -1 ? record : record.subarray(0, nameEnd)), loadedAt })
    }
    offset += size
  }
  return codes
}

const PAGE = 4096

/**
 * Finds the code an address belonged to at a given time. JSC reuses the memory of code it
 * threw away, so an address can have held several functions over a run: the one compiled
 * last before the sample is taken (a later one would name a scenario's samples after code
 * compiled for the next).
 */
export class JitSymbols {
  /** Code by the pages it covers, each page's in load order. */
  private readonly byPage = new Map<number, JitCode[]>()
  constructor(codes: readonly JitCode[]) {
    for (const code of [...codes].sort((a, b) => a.loadedAt - b.loadedAt)) {
      for (let page = Math.floor(code.start / PAGE); page * PAGE < code.start + code.size; page++) {
        const onPage = this.byPage.get(page)
        if (onPage === undefined) this.byPage.set(page, [code])
        else onPage.push(code)
      }
    }
  }
  /** The name of the code at `address` at time `at` (on the clock of `loadedAt`). */
  nameOf(address: number, at: number): string | null {
    const onPage = this.byPage.get(Math.floor(address / PAGE))
    if (onPage === undefined) return null
    for (let i = onPage.length - 1; i >= 0; i--) {
      const code = onPage[i]!
      if (code.loadedAt <= at && address >= code.start && address < code.start + code.size) return code.name
    }
    return null
  }
}

/** One stack frame of a sample, innermost first. */
export interface Frame {
  address: number
  symbol: string
  dso: string
}

export interface Sample {
  tid: number
  /** ns, on the clock perf recorded with. */
  time: number
  frames: Frame[]
}

/** The output of `perf script -F tid,time,ip,sym,dso`: a `tid time:` line, then a line per frame. */
export function parsePerfScript(text: string): Sample[] {
  const samples: Sample[] = []
  let current: Sample | null = null
  for (const line of text.split('\n')) {
    if (line.trim() === '') {
      current = null
      continue
    }
    const head = /^\s*(\d+)\s+(\d+)\.(\d+):/.exec(line)
    if (head !== null) {
      // Seconds with (usually) six decimals: read as integers, so no float rounding moves them.
      const ns = Number(head[2]) * 1e9 + Number(head[3]!.padEnd(9, '0').slice(0, 9))
      current = { tid: Number(head[1]), time: ns, frames: [] }
      samples.push(current)
      continue
    }
    const frame = /^\s*([0-9a-f]+) (.*) \((.*)\)$/.exec(line)
    if (current !== null && frame !== null) {
      current.frames.push({ address: Number.parseInt(frame[1]!, 16), symbol: frame[2]!, dso: frame[3]! })
    }
  }
  return samples
}

/** Microseconds of CPU per request, by where the main thread was. */
export interface Breakdown {
  /** In the kernel, waking a reader of a socket it wrote to (on loopback: the load generator). */
  kernelWakingReader: number
  kernelOther: number
  /**
   * Bun's native code with no compiled JavaScript on the stack: HTTP, the event loop, the
   * collector; also JavaScript run by JSC's interpreter, which lives in Bun's binary.
   */
  nativeWithoutJs: number
  /** Compiled JavaScript. */
  js: number
  /** Native code JavaScript called: host functions (`new Response`), runtime calls, allocation. */
  nativeFromJs: number
  /** All other threads together (the collector's helpers, the JIT compiler, the I/O threads). */
  otherThreads: number
  /**
   * The JavaScript functions the main thread's samples were in or under, most first: `total`
   * with what they called, `called` the native and kernel code they called.
   */
  functions: Array<{ name: string; total: number; called: number }>
}

/** Where x86-64 Linux maps the kernel (and its modules): the upper half of the address space. */
const KERNEL_START = 0xffff800000000000
const isKernel = (frame: Frame) => frame.address >= KERNEL_START

/** Code JSC generates between functions (call trampolines, inline caches), not a function of ours. */
const isGlue = (jitName: string) => /^JSC-[A-Za-z]*(Thunk|InlineCache)\b/.test(jitName)

/** `JSC-FTL: decide#DrjVJ7` → `decide (FTL)`; anonymous functions keep their hash. */
export function functionLabel(jitName: string): string {
  const match = /^JSC-([A-Za-z]+):\s*(.*)$/.exec(jitName)
  if (match === null) return jitName
  const [, tier, rest] = match
  const name = rest!.replace(/#[A-Za-z0-9]+$/, '').trim() || `anonymous ${rest!.trim()}`
  return `${name} (${tier})`
}

/**
 * Splits the samples of thread `mainTid` (the process's pid) by where they were, in µs per
 * request: each sample stands for `sampleUs` of CPU time, and `requests` were answered while
 * they were taken. A sample is JavaScript's when a frame of compiled code is on its stack,
 * and counts for the innermost such function; glue code (a call trampoline on the way to
 * `new Response`, say) counts for the function that called through it.
 */
export function attribute(samples: Sample[], symbols: JitSymbols, mainTid: number, sampleUs: number, requests: number, top = 8): Breakdown {
  if (!(requests > 0)) throw new Error('no requests were answered while sampling')
  const per = (count: number) => (count * sampleUs) / requests
  let wakingReader = 0
  let kernelOther = 0
  let nativeWithoutJs = 0
  let js = 0
  let nativeFromJs = 0
  let otherThreads = 0
  const byFunction = new Map<string, { total: number; called: number }>()
  for (const sample of samples) {
    if (sample.tid !== mainTid) {
      otherThreads++
      continue
    }
    // A caller's frame holds its return address, which may already be past its code: the
    // call is the byte before.
    const names = sample.frames.map((frame, i) => symbols.nameOf(i === 0 ? frame.address : frame.address - 1, sample.time))
    const jsIndex = names.findIndex((name) => name !== null)
    const leaf = sample.frames[0]
    if (leaf !== undefined && isKernel(leaf)) {
      if (sample.frames.some((frame) => frame.symbol === 'sock_def_readable')) wakingReader++
      else kernelOther++
    } else if (jsIndex === -1) nativeWithoutJs++ // a sample without a stack, if any, lands here too
    else if (jsIndex === 0) js++
    else nativeFromJs++
    if (jsIndex === -1) continue
    const ownIndex = names.findIndex((name, i) => i >= jsIndex && name !== null && !isGlue(name))
    const name = functionLabel(names[ownIndex === -1 ? jsIndex : ownIndex]!)
    const entry = byFunction.get(name) ?? { total: 0, called: 0 }
    entry.total++
    if (jsIndex > 0) entry.called++
    byFunction.set(name, entry)
  }
  const functions = [...byFunction]
    .sort((a, b) => b[1].total - a[1].total)
    .slice(0, top)
    .map(([name, { total, called }]) => ({ name, total: per(total), called: per(called) }))
  return {
    kernelWakingReader: per(wakingReader),
    kernelOther: per(kernelOther),
    nativeWithoutJs: per(nativeWithoutJs),
    js: per(js),
    nativeFromJs: per(nativeFromJs),
    otherThreads: per(otherThreads),
    functions,
  }
}

/** The main thread's total, µs per request. */
export const mainThreadUs = (b: Breakdown) => b.kernelWakingReader + b.kernelOther + b.nativeWithoutJs + b.js + b.nativeFromJs
