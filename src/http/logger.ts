/**
 * Structured logging: one JSON object per line. Request lines carry method, route, status,
 * duration and key id, never a key or a header value.
 */
export interface Logger {
  info(fields: Record<string, unknown>): void
  error(fields: Record<string, unknown>): void
}

/** Writes JSON lines to a sink (stdout by default). */
export function jsonLogger(write: (line: string) => void = (line) => process.stdout.write(line)): Logger {
  const emit = (level: string, fields: Record<string, unknown>) =>
    write(`${JSON.stringify({ time: new Date().toISOString(), level, ...fields })}\n`)
  return { info: (fields) => emit('info', fields), error: (fields) => emit('error', fields) }
}

/** Discards everything (tests that do not look at logs). */
export const silentLogger: Logger = { info() {}, error() {} }
