/**
 * The error catalogue of SPEC §8. Every failure a client can see is an AppError: it knows its
 * status, its stable `code` and its message, and renders the documented envelope
 * `{"error", "status": "KO", "code"}`. Services throw these; the HTTP layer only renders them.
 */
/** Every `code` an error response can carry: the catalogue of SPEC §8, in its order. */
export const ERROR_CODES = [
  'invalid_mode',
  'validation_error',
  'invalid_json',
  'invalid_id',
  'invalid_limited_to_apps',
  'invalid_limited_to_orgs',
  'invalid_expires_at',
  'missing_api_key',
  'invalid_api_key',
  'api_key_disabled',
  'api_key_expired',
  'insufficient_permissions',
  'not_found',
  'conflict',
  'already_rotated',
  'payload_too_large',
  'rate_limited',
  'internal_error',
  'database_unavailable',
] as const

export type ErrorCode = (typeof ERROR_CODES)[number]

/** The body of every error response. */
export interface ErrorBody {
  error: string
  status: 'KO'
  code: ErrorCode
}

export class AppError extends Error {
  constructor(
    readonly status: number,
    readonly code: ErrorCode,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message)
    this.name = 'AppError'
  }

  get body(): ErrorBody {
    return { error: this.message, status: 'KO', code: this.code }
  }
}

/** The documentation's messages, verbatim. */
export const MESSAGES = {
  invalidMode: 'Invalid mode specified. Must be one of: read, write, upload, all',
  keyNotFound: 'API key not found',
  manageKeysDenied: 'Insufficient permissions to manage API keys',
} as const

export const invalidMode = () => new AppError(400, 'invalid_mode', MESSAGES.invalidMode)
export const validationError = (message: string) => new AppError(400, 'validation_error', message)
export const invalidJson = () => new AppError(400, 'invalid_json', 'Request body is not valid JSON')
export const invalidId = () => new AppError(400, 'invalid_id', 'API key id must be a positive integer')
export const invalidExpiresAt = (why = 'expires_at must be a future ISO 8601 date') =>
  new AppError(400, 'invalid_expires_at', why)
/** Limits that name orgs the caller cannot see (or that do not exist: the same to the caller). */
export const invalidLimitedToOrgs = (orgIds: readonly string[]) =>
  new AppError(400, 'invalid_limited_to_orgs', `limited_to_orgs names unknown or foreign orgs: ${orgIds.join(', ')}`)
/** Limits that name apps the caller cannot see; `withinOrgs`: the key is also limited to orgs they must belong to. */
export const invalidLimitedToApps = (appIds: readonly string[], withinOrgs: boolean) =>
  new AppError(400, 'invalid_limited_to_apps', `limited_to_apps names unknown or foreign apps${withinOrgs ? ' (or apps outside limited_to_orgs)' : ''}: ${appIds.join(', ')}`)

/**
 * An error made once and thrown by every request that fails the same way: authentication's
 * refusals say nothing of the request, and a client sending bad keys (or somebody guessing
 * them) should cost as little as possible; an Error records its stack when made. Frozen, as
 * all requests share it. Its stack (of the first call) is never shown: 4xx are not logged in full.
 */
function madeOnce(error: AppError): () => AppError {
  Object.freeze(error.headers)
  Object.freeze(error)
  return () => error
}

export const missingApiKey = madeOnce(new AppError(401, 'missing_api_key', 'Missing API key: send it in the authorization header'))
/** One message for malformed, unknown and deleted keys, so the answer is no oracle. */
export const invalidApiKey = madeOnce(new AppError(401, 'invalid_api_key', 'Invalid API key'))
export const apiKeyDisabled = madeOnce(new AppError(401, 'api_key_disabled', 'API key is disabled'))
export const apiKeyExpired = madeOnce(new AppError(401, 'api_key_expired', 'API key has expired'))
export const forbidden = (message: string = MESSAGES.manageKeysDenied) =>
  new AppError(403, 'insufficient_permissions', message)
export const notFound = (message: string = MESSAGES.keyNotFound) => new AppError(404, 'not_found', message)
export const routeNotFound = () => notFound('Route not found')
export const conflict = (message: string) => new AppError(409, 'conflict', message)
/** A key that has a successor is rotated no more (SPEC §6): the 409 names the successor when the caller may see it. */
export const alreadyRotated = (successorId: number | null, detail?: string) =>
  new AppError(409, 'already_rotated', `API key was already rotated${successorId === null ? '' : ` (successor: ${successorId})`}${detail ? `; ${detail}` : ''}`)
export const payloadTooLarge = () => new AppError(413, 'payload_too_large', 'Request body exceeds 64 KiB')
/** Over a rate limit; `headers` tell the client when to come back (src/access/rate-limit.ts). */
export const rateLimited = (message: string, headers: Record<string, string>) => new AppError(429, 'rate_limited', message, headers)
export const internalError = () => new AppError(500, 'internal_error', 'Internal server error')
export const databaseUnavailable = () => new AppError(503, 'database_unavailable', 'The database is unavailable; retry later')
