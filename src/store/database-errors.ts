/**
 * Database errors the HTTP layer answers as the client's: a database that cannot be used right
 * now (503 `database_unavailable`, SPEC §11), and a value the database cannot hold (400).
 */
import { SQL } from 'bun'

/** A call that outlived the deadline: the server is unreachable or does not answer. */
export class DatabaseDeadlineError extends Error {
  readonly code = 'ERR_CODEPUSHGO_DATABASE_DEADLINE'
  constructor(ms: number) {
    super(`the database did not answer within ${ms} ms`)
    this.name = 'DatabaseDeadlineError'
  }
}

/**
 * SQLSTATEs of a server that is going away, starting, or full, and of a statement or lock wait
 * that ran into the deadline (statement_timeout, lock_timeout): retry later.
 */
const UNAVAILABLE_STATES = new Set(['57P01', '57P02', '57P03', '53300', '57014', '55P03'])

/**
 * True for the errors of a database that cannot be used right now (the server maps them to
 * 503 `database_unavailable`): Bun's connection errors (`ERR_POSTGRES_CONNECTION_*` and its
 * connection timeouts), the server's connection exceptions (SQLSTATE class 08), shutdown and
 * startup (57P01-57P03), too many connections (53300), and a missed deadline.
 */
/**
 * A value PostgreSQL refuses as such: a NUL character in text (22021, 22P05), a number out of
 * range (22003). Inputs are checked before they reach the store; this is the backstop for a
 * path parameter or query value that is only looked up.
 */
export function refusedValue(error: unknown): string | null {
  if (!(error instanceof SQL.PostgresError)) return null
  if (error.errno === '22021' || error.errno === '22P05') return 'Text must not contain NUL characters'
  if (error.errno === '22003') return 'A number is out of range'
  return null
}

export function isDatabaseUnavailable(error: unknown): boolean {
  if (error instanceof DatabaseDeadlineError) return true
  if (!(error instanceof SQL.PostgresError)) return false
  if (error.code.startsWith('ERR_POSTGRES_CONNECTION_')) return true
  if (error.code === 'ERR_POSTGRES_IDLE_TIMEOUT' || error.code === 'ERR_POSTGRES_LIFETIME_TIMEOUT') return true
  const state = error.errno ?? ''
  return state.startsWith('08') || UNAVAILABLE_STATES.has(state)
}
