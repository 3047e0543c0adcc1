/**
 * The errors that mean the database cannot be used right now, whichever backend: the HTTP
 * layer answers them with 503 `database_unavailable` (SPEC §11) instead of a 500.
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

/** SQLSTATEs of a server that is going away, starting, or full: retry later. */
const UNAVAILABLE_STATES = new Set(['57P01', '57P02', '57P03', '53300'])

/**
 * True for the errors of a database that cannot be used right now (the server maps them to
 * 503 `database_unavailable`): Bun's connection errors (`ERR_POSTGRES_CONNECTION_*` and its
 * connection timeouts), the server's connection exceptions (SQLSTATE class 08), shutdown and
 * startup (57P01-57P03), too many connections (53300), and a missed deadline.
 */
export function isDatabaseUnavailable(error: unknown): boolean {
  if (error instanceof DatabaseDeadlineError) return true
  if (!(error instanceof SQL.PostgresError)) return false
  if (error.code.startsWith('ERR_POSTGRES_CONNECTION_')) return true
  if (error.code === 'ERR_POSTGRES_IDLE_TIMEOUT' || error.code === 'ERR_POSTGRES_LIFETIME_TIMEOUT') return true
  const state = error.errno ?? ''
  return state.startsWith('08') || UNAVAILABLE_STATES.has(state)
}
