/**
 * What the OpenAPI document says of a schema beyond its shape, declared where the schema is
 * declared: the component it is, the headers sent with it, a body that may be left out, a type
 * it is documented as. Kept under a symbol, which TypeBox and Elysia ignore at run time and
 * JSON never shows; `openapi-document.ts` reads them when it makes the document.
 */
import type { TSchema } from 'elysia'

export const ANNOTATIONS = Symbol('openapi annotations')

/** An OpenAPI header object. */
export interface HeaderObject {
  description: string
  required: boolean
  schema: Record<string, unknown>
}

/** The headers the API sends, documented once each as `components.headers`. */
export const RESPONSE_HEADERS = {
  'Retry-After': {
    description: 'Seconds to wait before trying again.',
    required: true,
    schema: { type: 'integer', minimum: 1 },
  },
  'RateLimit-Limit': {
    description: 'Requests allowed per window: the key\'s rate limit, or the failed authentications allowed per client address.',
    required: true,
    schema: { type: 'integer', minimum: 1 },
  },
  'RateLimit-Remaining': {
    description: 'Requests left in the current window.',
    required: true,
    schema: { type: 'integer', minimum: 0 },
  },
  'RateLimit-Reset': {
    description: 'Seconds until a request is allowed again (0: one is allowed now).',
    required: true,
    schema: { type: 'integer', minimum: 0 },
  },
  'x-codepushgo-user-id': {
    description: 'The id of the user the key belongs to.',
    required: true,
    schema: { type: 'string', examples: ['usr_3k9d0a1b2c3d4e5f'] },
  },
  'x-codepushgo-key-id': {
    description: 'The numeric id of the calling key.',
    required: true,
    schema: { type: 'string', pattern: '^[1-9][0-9]*$', examples: ['3'] },
  },
  'x-codepushgo-key-mode': {
    description: 'The effective mode: the lower of the key\'s mode and its user\'s role in the org or app asked about.',
    required: true,
    schema: { type: 'string', enum: ['read', 'upload', 'write', 'all'] },
  },
} satisfies Record<string, HeaderObject>

export type ResponseHeader = keyof typeof RESPONSE_HEADERS

export interface Annotations {
  /** The schema is (a use of) this named component: a `$ref` to `components.schemas[name]`. */
  component?: { name: string; schema: TSchema }
  /** A response with this schema carries these headers. */
  headers?: readonly ResponseHeader[]
  /** A request body that may be left out (`requestBody.required: false`). */
  optionalBody?: true
  /** The document shows this schema instead (a value read as text but meaning a number, say). */
  documentedAs?: TSchema
}

type Annotated = TSchema & { [ANNOTATIONS]?: Annotations }

/** The annotations of a schema, or of a copy of the schema Elysia made for the document. */
export function annotationsOf(schema: object): Annotations | undefined {
  return (schema as Annotated)[ANNOTATIONS]
}

/** Adds to a schema's annotations; a new object, as copies of the schema share the old one. */
function annotate<T extends TSchema>(schema: T, annotations: Annotations): T {
  ;(schema as Annotated)[ANNOTATIONS] = { ...annotationsOf(schema), ...annotations }
  return schema
}

/** Makes the schema the component `name` (ApiKey, Error…), referenced by `$ref` wherever it is used. */
export const named = <T extends TSchema>(name: string, schema: T): T => annotate(schema, { component: { name, schema } })

/** The schema of a response that carries these headers (a 429's Retry-After, say). */
export const sendsHeaders = <T extends TSchema>(schema: T, ...headers: ResponseHeader[]): T => annotate(schema, { headers })

/**
 * A body the route also takes when it is left out, documented as `documented` (by default the
 * schema itself): the JSON parser reads no body as null, which the run-time schema admits.
 */
export const optionalBody = <T extends TSchema>(schema: T, documented: TSchema = schema): T =>
  annotate(schema, documented === schema ? { optionalBody: true } : { optionalBody: true, documentedAs: documented })

/** A value the route reads with one schema (a path segment as text) and the document shows as another. */
export const documentedAs = <T extends TSchema>(schema: T, documented: TSchema): T => annotate(schema, { documentedAs: documented })
