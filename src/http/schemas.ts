/** Schemas shared by every module: the error envelope and common field shapes. */
import { t, type TSchema } from 'elysia'
import { MODES } from '../access/modes'
import { ERROR_CODES, type ErrorCode, validationError } from '../errors'
import { named, sendsHeaders } from './openapi-annotations'

// A union of literals rather than t.UnionEnum: UnionEnum carries a default (its first value),
// which Elysia would fill in for an omitted optional query parameter.
export const ModeSchema = t.Union(
  [t.Literal(MODES[0]), t.Literal(MODES[1]), t.Literal(MODES[2]), t.Literal(MODES[3])],
  { description: 'Key mode (and member role), stepped: read < upload < write < all.', examples: ['read'] },
)

/** Every timestamp of the API. */
export const Timestamp = t.String({ format: 'date-time', description: 'ISO 8601 UTC.', examples: ['2024-01-01T00:00:00.000Z'] })

/**
 * A timestamp or null, described as a whole: the document merges a nullable union into its
 * non-null branch, whose own description would win over the field's.
 */
export const nullableTimestamp = (description: string) =>
  t.Union([t.String({ format: 'date-time', examples: ['2024-01-01T00:00:00.000Z'] }), t.Null()], { description: `${description} ISO 8601 UTC.` })

export const ErrorSchema = named(
  'Error',
  t.Object(
    {
      error: t.String({ description: 'Human-readable message.' }),
      status: t.Literal('KO'),
      code: t.Union(
        ERROR_CODES.map((code) => t.Literal(code)),
        { description: 'Stable machine-readable code (SPEC §8).' },
      ),
    },
    { description: 'Every error has this shape.' },
  ),
)

/** An error response: the Error component, with what this route's error means and an example of it. */
export function errorResponse(description: string, error: string, code: ErrorCode): typeof ErrorSchema {
  return { ...ErrorSchema, description, examples: [{ error, status: 'KO', code }] }
}

/** `{"success": true}`, as the documentation's DELETE answers. */
export const Success = t.Object({ success: t.Literal(true) }, { description: 'Done.', examples: [{ success: true }] })

/** The 401 every authenticated route may answer. */
export const Unauthorized = errorResponse('No key, or a key that is unknown, deleted, disabled or expired; checked before the body, query and path are.', 'Invalid API key', 'invalid_api_key')

/** The 409 of every write acting for the caller's key: the key or its user's memberships changed after it was admitted. */
export const CALLER_CHANGED = "the calling key or its user's memberships changed while the request waited: send it again"
export const CallerChanged = errorResponse(`The change was not made: ${CALLER_CHANGED}.`, 'The calling API key was changed while this request waited; send it again', 'conflict')

/** The 429 every authenticated route may answer: the key's rate limit, or too many failed authentications. */
export const TooMany = sendsHeaders(
  errorResponse('Rate limited (per key, or failed authentications per address); see Retry-After.', 'Rate limit exceeded for this API key; retry later', 'rate_limited'),
  'Retry-After', 'RateLimit-Limit', 'RateLimit-Remaining', 'RateLimit-Reset',
)

/** The 413 of every route that takes a JSON body. */
export const TooLarge = errorResponse('Body over 64 KiB. A body that declares (Content-Length) more is refused before the key is checked, unread.', 'Request body exceeds 64 KiB', 'payload_too_large')

/** The 403 of routes outside key management. */
export const Forbidden = errorResponse("The key's mode, its limits or its user's role fall short.", 'Insufficient permissions for this operation', 'insufficient_permissions')

/**
 * `?limit=`, and `?page=` or `?after=`, of every list, newest first: 1–1000 per page (default
 * 100), pages from 0, or the page after the last id of the previous one (keyset: its cost does
 * not grow with its depth, where a page's does). `page` has no schema default, so that a page
 * given with `after` can be told from none (`pageStart`).
 */
export const pageFields = {
  limit: t.Optional(
    t.Integer({
      minimum: 1, maximum: 1000, default: 100, description: 'Page size, 1–1000 (default 100).',
      // Elysia cannot name a coerced query field in its error, so the schema carries the message.
      error: "Invalid query field 'limit': expected an integer from 1 to 1000",
    }),
  ),
  page: t.Optional(
    t.Integer({
      minimum: 0, description: '0-based page number (default 0). Deep pages cost more the deeper they are: prefer `after`. Not with `after`.',
      error: "Invalid query field 'page': expected an integer from 0",
    }),
  ),
  // A string of digits rather than an integer: Elysia documents a coerced integer with a default
  // of 0, which Swagger UI's "Try it out" would send, and `page=0&after=0` is a 400.
  after: t.Optional(
    t.String({
      pattern: '^[1-9][0-9]{0,14}$',
      description: 'Keyset paging: only items with an id below this one, i.e. the page after the one whose last item has this id. Costs the same at any depth. Not with `page`.',
      error: "Invalid query field 'after': expected the id of the last item of the previous page (a positive integer)",
    }),
  ),
}

/** Where a page starts: after `after` (an id, keyset), else at `page` (0-based), 400 when both are given. */
export function pageStart(query: { page?: number; after?: string }): { after: number } | { page: number } {
  if (query.after === undefined) return { page: query.page ?? 0 }
  if (query.page !== undefined) throw validationError("Invalid query: give either 'page' or 'after', not both")
  return { after: Number(query.after) }
}


/** The 503 of every route while its database cannot be used (PostgreSQL down or unreachable). */
export const Unavailable = errorResponse('The database cannot be used right now; retry later.', 'The database is unavailable; retry later', 'database_unavailable')

/**
 * A route's responses, with the 503 every route that reads the database may answer unless it
 * declares its own. Response schemas document the API (OpenAPI) but are not checked again at
 * run time: views are built field by field (toApiKeyView…) and the tests pin their exact
 * shapes, while checking and encoding every response cost about a third of a request
 * (docs/performance.md).
 */
export function responses<T extends Record<number, TSchema>>(schemas: T): T & { 503: TSchema } {
  const all = { 503: Unavailable, ...schemas }
  for (const schema of Object.values(all)) t.NoValidate(schema)
  return all
}

/**
 * The responses of a route behind the `access` macro (src/access/auth-plugin.ts): its own, with
 * the 401 and 429 the macro answers before the route runs; `body`: a route that reads a JSON
 * body (`jsonBody`), which answers 413 for one over the limit.
 */
export function keyedResponses<T extends Record<number, TSchema>>(schemas: T, { body = false } = {}) {
  const keyed: Record<number, TSchema> = { 401: Unauthorized, 429: TooMany }
  if (body) keyed[413] = TooLarge
  return responses({ ...keyed, ...schemas } as { 401: TSchema; 429: TSchema } & T)
}
