/**
 * Structured logging: one JSON object per line. Request lines carry method, route, status,
 * duration and key id, never a key or a header value.
 */
export interface Logger {
  /** The line of one answered request. */
  request(line: RequestLine): void
  info(fields: Record<string, unknown>): void
  error(fields: Record<string, unknown>): void
  /** Writes out whatever is buffered (call before exiting). */
  flush(): void
}

/** What the log says of each request (SPEC §9): the route pattern, never the raw path or a key. */
export interface RequestLine {
  method: string
  route: string | null
  status: number
  duration_ms: number
  key_id: number | null
}

/** How many distinct strings `quotedOnce` keeps. */
const MAX_QUOTED = 256

/**
 * JSON string literals of the few strings a request line repeats (methods, route patterns),
 * made once each. Serialising each line's fields object was half the cost of the log line,
 * which was a tenth of a verify's JavaScript time (docs/performance.md, "Hot path"). Bounded, as a method
 * is whatever the client sent.
 */
function quotedOnce(): (text: string) => string {
  const quoted = new Map<string, string>()
  return (text) => {
    let literal = quoted.get(text)
    if (literal === undefined) {
      literal = JSON.stringify(text)
      if (quoted.size < MAX_QUOTED) quoted.set(text, literal)
    }
    return literal
  }
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

/** How long a line may wait in the buffer, at most. */
const LOG_FLUSH_MS = 50
/** Past this many buffered characters the buffer is written at once. */
const LOG_FLUSH_CHARS = 64 * 1024

/**
 * Writes JSON lines to `write`. By default they go to stdout in batches: what gathered in
 * LOG_FLUSH_MS (or 64 KiB) in one write. A write per turn of the event loop cost about a
 * microsecond per request under load, a few percent of a verify (docs/performance.md, "Hot path").
 */
export function jsonLogger(write?: (line: string) => void): Logger {
  const time = clockText()
  const quoted = quotedOnce()
  let pending: string[] = []
  let pendingChars = 0
  let timer: ReturnType<typeof setTimeout> | undefined
  const flush = () => {
    clearTimeout(timer)
    timer = undefined
    if (pending.length === 0) return
    const text = pending.join('')
    pending = []
    pendingChars = 0
    process.stdout.write(text)
  }
  const sink =
    write ??
    ((line: string) => {
      pending.push(line)
      pendingChars += line.length
      if (pendingChars >= LOG_FLUSH_CHARS) flush()
      // Unref'd: a buffered line never keeps the process alive; shutdown flushes it.
      else timer ??= setTimeout(flush, LOG_FLUSH_MS).unref()
    })
  /** Every line starts with the time and the level. */
  const opening = (level: string) => `{"time":"${time()}","level":"${level}"`
  // The fields serialised as they are, behind the opening: no merged copy of them per line.
  const emit = (level: string, fields: Record<string, unknown>) => {
    const json = JSON.stringify(fields)
    sink(`${opening(level)}${json === '{}' ? '' : ','}${json.slice(1)}\n`)
  }
  return {
    // The same keys in the same order as `info` would write them, built as text.
    request: (line) =>
      sink(
        `${opening('info')},"method":${quoted(line.method)},"route":${line.route === null ? 'null' : quoted(line.route)},` +
          `"status":${line.status},"duration_ms":${line.duration_ms},"key_id":${line.key_id ?? 'null'}}\n`,
      ),
    info: (fields) => emit('info', fields),
    // An error is written at once: it may be the last thing the process says.
    error: (fields) => {
      emit('error', fields)
      flush()
    },
    flush,
  }
}
