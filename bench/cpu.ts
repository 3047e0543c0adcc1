/**
 * CPU accounting from /proc, to tell a clean run from one that shared the machine: how much
 * CPU the whole machine used during the measurements, how much of it was ours (the bench,
 * wrk, the server, the baseline), and how much a process used over an interval.
 */
import { readFileSync } from 'node:fs'

/** Clock ticks per second of /proc/stat and /proc/<pid>/stat (USER_HZ: 100 on Linux). */
const TICKS_PER_SECOND = 100
const US_PER_TICK = 1_000_000 / TICKS_PER_SECOND

export interface MachineCpu {
  /** CPU time spent running anything (user, nice, system, irq, softirq), µs. */
  busyUs: number
  /** Time the hypervisor gave to other guests, µs. */
  stealUs: number
}

/** The machine-wide counters from the first line of /proc/stat, or null off Linux. */
export function machineCpu(): MachineCpu | null {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n')[0]!
    const [user, nice, system, , , irq, softirq, steal] = line.trim().split(/\s+/).slice(1).map(Number) as number[]
    return { busyUs: (user! + nice! + system! + irq! + softirq!) * US_PER_TICK, stealUs: (steal ?? 0) * US_PER_TICK }
  } catch {
    return null
  }
}

/** CPU time (user + system) a live process has used so far, µs; null once it is gone. */
export function processCpuUs(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    // The command name (field 2) may hold spaces; the fields after its closing paren are fixed.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return (Number(fields[11]) + Number(fields[12])) * US_PER_TICK
  } catch {
    return null
  }
}

/** This process's own CPU time, µs. */
export function selfCpuUs(): number {
  const usage = process.cpuUsage()
  return usage.user + usage.system
}
