/**
 * Maps everything that can go wrong in a request to the one error envelope. Input problems
 * become 4xx with a code; anything else is a 500 whose details go to the log only.
 */
import { Elysia, ValidationError } from 'elysia'
import { derivedOnce } from '../derived-once'
import { AppError, databaseUnavailable, internalError, invalidJson, invalidMode, routeNotFound, validationError } from '../errors'
import { isDatabaseUnavailable, refusedValue } from '../store/database-errors'
import { JsonText } from './json-text'
import type { Logger } from './logger'
import type { Metrics } from './metrics'

/** What the error handler reads of a TypeBox value error. */
interface FieldError {
  path?: string
  message?: string
  value?: unknown
  schema?: { additionalProperties?: unknown; type?: string | string[] }
  /** For a union: each branch's errors. */
  errors?: Iterable<FieldError> & { First?(): FieldError | undefined }[]
}

/** Whether `schema` is for values of `value`'s JSON type (an integer schema for a number, say). */
function ofTypeOf(schema: FieldError['schema'], value: unknown): boolean {
  const types = value === null ? ['null'] : Array.isArray(value) ? ['array'] : typeof value === 'number' ? ['number', 'integer'] : [typeof value]
  return [schema?.type ?? []].flat().some((type) => types.includes(type))
}

/**
 * For a value that matches no branch of a union ("Expected union value"), the error of the
 * branch it came closest to: the one whose first error lies deepest, or else the branch for
 * the value's own type. `{"grace_period_seconds": 604801}` against object-or-null (whose field
 * is itself integer-or-numeric-string) is then "grace_period_seconds: Expected integer to be
 * less or equal to 604800", not "body: Expected union value". A value of no branch's type
 * (null for an integer) keeps the union's error: no branch would say the truth.
 */
function closestBranch(error: FieldError): FieldError {
  const depth = (error.path ?? '').length
  let closest: FieldError | undefined
  let closestDepth = depth
  for (const branch of error.errors ?? []) {
    const first = branch.First?.()
    if (first === undefined) continue
    const branchDepth = (first.path ?? '').length
    if (branchDepth > closestDepth) {
      closest = first
      closestDepth = branchDepth
    } else if (closest === undefined && branchDepth === depth && ofTypeOf(first.schema, error.value)) closest = first
  }
  return closest === undefined ? error : closestBranch(closest)
}

/** The first failing field of a TypeBox validation error, named in the message. */
function describeValidation(error: ValidationError): AppError {
  const found = error.all[0] as FieldError | undefined
  const first = found && closestBranch(found)
  const path = first?.path ?? ''
  // A field that should not be there at all is not a bad mode, even when it is called `mode`.
  const unexpected = first?.schema?.additionalProperties === false
  // Modes and roles share one scale, and the documented message names it.
  if ((path === '/mode' || path === '/role') && !unexpected) return invalidMode()
  if (typeof error.customError === 'string') return validationError(error.customError)
  // A schema whose `error` makes an AppError (the key id's: invalid_id, SPEC §7).
  if (error.customError instanceof AppError) return error.customError
  // A number sent as text is decoded by Elysia, whose range error then knows no field.
  if (error.type === 'property' && path === '') return validationError(`Invalid value: ${first?.message ?? 'is invalid'}`)
  const field = path.replace(/^\//, '').replaceAll('/', '.') || error.type
  // Elysia leaves a path parameter it cannot decode (`/app/%ZZ/`) null.
  if (error.type === 'params' && first?.value == null) return validationError(`Invalid path parameter '${field}': not valid percent-encoding`)
  return validationError(`Invalid ${error.type} field '${field}': ${first?.message ?? 'is invalid'}`)
}

/** The AppError for any error Elysia hands to `onError`, or null for an unexpected one. */
export function toAppError(code: string | number, error: unknown): AppError | null {
  if (error instanceof AppError) return error
  if (error instanceof ValidationError) return describeValidation(error)
  // Elysia wraps what a body parser throws; ours admits the request first (401, 429, or the
  // database's failure) and then throws AppErrors for the body (413, invalid JSON).
  if (code === 'PARSE') {
    const cause = (error as Error).cause
    if (cause instanceof AppError) return cause
    if (isDatabaseUnavailable(cause)) return databaseUnavailable()
    return cause === undefined || cause instanceof SyntaxError ? invalidJson() : null
  }
  if (isDatabaseUnavailable(error)) return databaseUnavailable()
  const refused = refusedValue(error)
  if (refused !== null) return validationError(refused)
  if (code === 'NOT_FOUND') return routeNotFound()
  return null
}

/**
 * Error bodies as JSON text, kept as long as their error lives: authentication's refusals are
 * made once (errors.ts), so the 401s every bad key gets are written out once too.
 */
const bodyOf = derivedOnce((error: AppError) => new JsonText(JSON.stringify(error.body)))

/** While the database is away every request fails alike: one log line a second says so. */
const UNAVAILABLE_LOG_EVERY_MS = 1000

/**
 * Renders every error as the envelope; logs the unexpected ones in full, and a database that
 * cannot be used (503 `database_unavailable`) at most once a second.
 */
export function errorHandler(log: Logger, metrics: Metrics | null) {
  let unavailableLoggedAt = -Infinity
  return new Elysia({ name: 'error-handler' }).onError({ as: 'global' }, ({ code, error, request, set }) => {
    let known = toAppError(code, error)
    if (known?.code === 'database_unavailable' && performance.now() - unavailableLoggedAt >= UNAVAILABLE_LOG_EVERY_MS) {
      unavailableLoggedAt = performance.now()
      log.error({ msg: 'database unavailable', error: String((error as Error).cause ?? error) })
    }
    if (!known) {
      log.error({ msg: 'unhandled error', method: request.method, path: new URL(request.url).pathname, error: String((error as Error)?.stack ?? error) })
      known = internalError()
    }
    metrics?.observeError(known)
    // The body, status and headers; `respond` makes the response (and logs it).
    set.status = known.status
    Object.assign(set.headers, known.headers)
    return bodyOf(known)
  })
}
