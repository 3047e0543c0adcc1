/** Finding the system programs the bench runs (wrk, perf). */
import { existsSync } from 'node:fs'

/** `name` from PATH, else from /usr/bin (where Debian puts it, should PATH be bare); null when neither has it. */
export function findProgram(name: string): string | null {
  return Bun.which(name) ?? (existsSync(`/usr/bin/${name}`) ? `/usr/bin/${name}` : null)
}
