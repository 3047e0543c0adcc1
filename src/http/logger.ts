/**
 * Structured logging: one JSON object per line. Request lines carry method, route, status,
 * duration and key id, never a key or a header value.
 */
export interface Logger {
  info(fields: Record<string, unknown>): void
  error(fields: Record<string, unknown>): void
  /** Writes out whatever is buffered (call before exiting). */
  flush(): void
}

/** The ISO time of the current millisecond, formatted once per millisecond however many lines share it. */
function clockText(): () => string {
  let ms = -1
  let text = ''
  return () => {
    const now = Date.now()
    if (now !== ms) {
      ms = now
      text = new Date(now).toISOString()
    }
    return text
  }
}

/**
 * Writes JSON lines to `write`. By default they go to stdout in batches: every line of one
 * turn of the event loop in one write, instead of a system call per request.
 */
export function jsonLogger(write?: (line: string) => void): Logger {
  const time = clockText()
  let pending: string[] = []
  let scheduled = false
  const flush = () => {
    scheduled = false
    if (pending.length === 0) return
    const text = pending.join('')
    pending = []
    process.stdout.write(text)
  }
  const sink =
    write ??
    ((line: string) => {
      pending.push(line)
      if (!scheduled) {
        scheduled = true
        setImmediate(flush)
      }
    })
  // The fields serialised as they are, behind the time and level: no merged copy of them per line.
  const emit = (level: string, fields: Record<string, unknown>) => {
    const json = JSON.stringify(fields)
    sink(`{"time":"${time()}","level":"${level}"${json === '{}' ? '' : ','}${json.slice(1)}\n`)
  }
  return { info: (fields) => emit('info', fields), error: (fields) => emit('error', fields), flush }
}
