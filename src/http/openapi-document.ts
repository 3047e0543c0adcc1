/**
 * The OpenAPI document as linters, validators and client generators take it. @elysiajs/openapi
 * writes it from the routes (their schemas and `detail`); this makes it standard OpenAPI 3.1
 * with JSON Schema 2020-12, by these rules and no others:
 * - keywords only Elysia or TypeBox know (`noValidate`, TypeBox's `error` message) are left out;
 * - a number Elysia reads from text (`anyOf` of a string "integer" and an integer) is the number;
 * - the annotations of openapi-annotations.ts become `$ref`s to named components, response
 *   headers, optional request bodies and documented types;
 * - every object in a response lists all its fields (`additionalProperties: false`): a field
 *   the document does not declare fails the conformance test (test/helpers/openapi-contract.ts).
 */
import { toOpenAPISchema } from '@elysiajs/openapi'
import { unwrapSchema } from '@elysiajs/openapi/openapi'
import type { AnyElysia, TSchema } from 'elysia'
import { annotationsOf, RESPONSE_HEADERS, type Annotations, type ResponseHeader } from './openapi-annotations'

type Json = Record<string, unknown>

/** Everything of the document but what the routes say: info, tags, servers, security. */
export interface DocumentBase {
  info: { title: string; version: string; description: string }
  servers: { url: string; description?: string }[]
  tags: { name: string; description: string }[]
  securitySchemes: Json
  security: Record<string, string[]>[]
}

/** Schema keywords of Elysia and TypeBox, meaningless to anybody else. */
const FRAMEWORK_KEYWORDS = new Set(['noValidate', 'error'])
/** Keywords whose value is a map of names to schemas. */
const SCHEMA_MAPS = new Set(['properties', 'patternProperties', '$defs', 'dependentSchemas'])
/** Keywords whose value is a list of schemas. */
const SCHEMA_LISTS = new Set(['anyOf', 'oneOf', 'allOf', 'prefixItems'])
/** Keywords whose value is one schema. */
const SCHEMAS = new Set(['items', 'additionalProperties', 'unevaluatedProperties', 'contains', 'not', 'if', 'then', 'else', 'propertyNames'])

const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value)

/** What a TypeBox schema is in the document before our rules: Elysia's own conversion. */
const converted = (schema: TSchema): Json => unwrapSchema(schema, undefined, 'output', '3.1.2') as Json

/**
 * Elysia's `t.Integer` (and `t.Numeric`) accepts the number or its text (query strings are
 * text): `anyOf: [{type: string, format: integer}, {type: integer, …}]`. The number branch,
 * with the options around it, is what the value is.
 */
function numberReadFromText(schema: Json): Json | null {
  const branches = schema.anyOf
  if (!Array.isArray(branches) || branches.length !== 2) return null
  const [text, number] = branches as Json[]
  const readsText = text?.type === 'string' && (text.format === 'integer' || text.format === 'numeric')
  if (!readsText || (number?.type !== 'integer' && number?.type !== 'number')) return null
  const { anyOf: _, ...options } = schema
  return { ...options, ...number }
}

const isNullable = (schema: Json) => schema.type === 'null' || (Array.isArray(schema.type) && schema.type.includes('null'))

/** A standard schema, one of its own or a `$ref`, for a request's or a response's side. */
class Schemas {
  readonly components: Record<string, Json> = {}
  private readonly sources = new Map<string, TSchema>()

  constructor(private readonly side: 'request' | 'response') {}

  /** The standard form of `schema` as Elysia wrote it. */
  standard(schema: Json, asComponent?: string): Json {
    const notes = annotationsOf(schema)
    if (notes?.documentedAs) return this.standard(converted(notes.documentedAs))
    if (notes?.component && notes.component.name !== asComponent) return this.reference(notes.component, schema)
    const number = numberReadFromText(schema)
    if (number) return this.standard(number, asComponent)
    const out: Json = {}
    for (const [keyword, value] of Object.entries(schema)) {
      if (FRAMEWORK_KEYWORDS.has(keyword)) continue
      if (SCHEMA_MAPS.has(keyword) && isObject(value))
        out[keyword] = Object.fromEntries(Object.entries(value).map(([name, child]) => [name, this.standard(child as Json)]))
      else if (SCHEMA_LISTS.has(keyword) && Array.isArray(value)) out[keyword] = value.map((child) => this.standard(child as Json))
      else if (SCHEMAS.has(keyword) && isObject(value)) out[keyword] = this.standard(value)
      else out[keyword] = value
    }
    const isObjectType = out.type === 'object' || (Array.isArray(out.type) && out.type.includes('object'))
    if (this.side === 'response' && isObjectType && out.properties && !('additionalProperties' in out) && !out.patternProperties)
      out.additionalProperties = false
    return out
  }

  /**
   * A `$ref` to the component, made from its declared schema the first time. The use must have
   * the component's shape; its own description and examples (an error response's) stay beside
   * the `$ref`, where a response moves them to its media type.
   */
  private reference(component: NonNullable<Annotations['component']>, use: Json): Json {
    const { name, schema } = component
    const source = this.sources.get(name)
    if (source !== undefined && source !== schema) throw new Error(`OpenAPI: two schemas are named ${name}`)
    if (source === undefined) {
      this.sources.set(name, schema)
      this.components[name] = this.standard(converted(schema), name)
    }
    const declared = this.components[name]!
    const { description, examples, ...shape } = this.standard(use, name)
    const { description: _description, examples: _examples, ...declaredShape } = declared
    if (isNullable(shape) && !isNullable(declaredShape)) throw new Error(`OpenAPI: a nullable use of ${name}: name the union, or leave ${name} unnamed`)
    if (!Bun.deepEquals(shape, declaredShape, true)) throw new Error(`OpenAPI: a use of ${name} differs from the component`)
    const reference: Json = { $ref: `#/components/schemas/${name}` }
    if (description !== undefined && description !== declared.description) reference.description = description
    if (examples !== undefined && !Bun.deepEquals(examples, declared.examples)) reference.examples = examples
    return reference
  }
}

type Operation = Json & {
  parameters?: (Json & { schema: Json })[]
  requestBody?: Json & { content: Record<string, { schema: Json }> }
  responses?: Record<string, Json & { content?: Record<string, Json & { schema: Json }> }>
}

/** A response's media type: its schema made standard; a `$ref`'s own examples become the media type's example. */
function responseMedia(schemas: Schemas, media: Json & { schema: Json }): Json {
  const schema = schemas.standard(media.schema)
  if (!('$ref' in schema)) return { ...media, schema }
  // Its description is already the response's (Elysia takes a response's description from its schema).
  const { examples, description: _, ...reference } = schema
  return Array.isArray(examples) && examples.length > 0 ? { ...media, schema: reference, example: examples[0] } : { ...media, schema: reference }
}

/** The standard OpenAPI 3.1 document of every documented route of the app `app` belongs to. */
export function openApiDocument(app: AnyElysia, base: DocumentBase): Json {
  const generated = toOpenAPISchema(app, { paths: [/^\/swagger/] }, undefined, undefined, '3.1.2')
  const requests = new Schemas('request')
  const responses = new Schemas('response')
  const headers = new Set<ResponseHeader>()
  const paths: Record<string, Record<string, Operation>> = {}
  for (const [path, item] of Object.entries(generated.paths as Record<string, Record<string, Operation>>)) {
    const operations: Record<string, Operation> = (paths[path] = {})
    for (const [method, generatedOperation] of Object.entries(item)) {
      const operation: Operation = { ...generatedOperation }
      if (operation.parameters)
        operation.parameters = operation.parameters.map((parameter) => ({ ...parameter, schema: requests.standard(parameter.schema) }))
      if (operation.requestBody) {
        const { content } = operation.requestBody
        const optional = Object.values(content).some((media) => annotationsOf(media.schema)?.optionalBody)
        operation.requestBody = {
          ...operation.requestBody,
          required: !optional,
          content: Object.fromEntries(Object.entries(content).map(([type, media]) => [type, { ...media, schema: requests.standard(media.schema) }])),
        }
      }
      if (operation.responses)
        operation.responses = Object.fromEntries(
          Object.entries(operation.responses).map(([status, response]) => {
            const sent = Object.values(response.content ?? {}).flatMap((media) => annotationsOf(media.schema)?.headers ?? [])
            for (const name of sent) headers.add(name)
            const standard: Json = { ...response }
            if (response.content)
              standard.content = Object.fromEntries(Object.entries(response.content).map(([type, media]) => [type, responseMedia(responses, media)]))
            if (sent.length > 0) standard.headers = Object.fromEntries(sent.map((name) => [name, { $ref: `#/components/headers/${name}` }]))
            return [status, standard]
          }),
        )
      operations[method] = operation
    }
  }
  for (const name of Object.keys(requests.components))
    if (name in responses.components) throw new Error(`OpenAPI: ${name} is used in requests and responses, which close their objects differently`)
  return {
    openapi: '3.1.1',
    info: base.info,
    servers: base.servers,
    tags: base.tags,
    security: base.security,
    paths,
    components: {
      schemas: { ...requests.components, ...responses.components },
      headers: Object.fromEntries([...headers].map((name) => [name, RESPONSE_HEADERS[name]])),
      securitySchemes: base.securitySchemes,
    },
  }
}
