/**
 * The served OpenAPI document as a contract that every answer the tests receive is held to:
 * its status is declared for its operation, its body is valid against that response's schema
 * (ajv, JSON Schema 2020-12) and the headers that response requires are there. `request`
 * (helpers/app.ts) and the end-to-end tests' fetches (helpers/binary.ts `fetchChecked`) check
 * every answer, so a status or a field the document does not declare fails the test that got it.
 *
 * Answers that are not the API's JSON have rules of their own (`NOT_API`, and an unknown route's
 * 404). The validators are compiled once per process, the first time each one is needed.
 */
import Ajv2020, { type ValidateFunction } from 'ajv/dist/2020'
import addFormats from 'ajv-formats'

type Json = Record<string, any>

/** One request and its answer, as a test received it. */
export interface Exchange {
  method: string
  /** The request's path, with its query. */
  path: string
  status: number
  headers: Headers
  text: string
}

/**
 * Paths whose answers are not API JSON, each held to its own tests: the Swagger page, its
 * assets and the document itself (openapi.test.ts, e2e/swagger-browser.test.ts), and the
 * Prometheus text of /metrics (observability.test.ts), and the console's page and files
 * (console.test.ts, e2e/console-browser.test.ts).
 */
const NOT_API = [/^\/swagger(\/|$)/, /^\/metrics\/?$/, /^\/console(\/|$)/]

const DOCUMENT = 'openapi.json'
/** The top-level fields of an OpenAPI document, which are no schema keywords. */
const DOCUMENT_FIELDS = ['openapi', 'info', 'jsonSchemaDialect', 'servers', 'paths', 'webhooks', 'components', 'security', 'tags', 'externalDocs']

/** A JSON pointer into the document, as a URI fragment. */
export const pointer = (...parts: string[]) =>
  `${DOCUMENT}#/${parts.map((part) => encodeURIComponent(part.replaceAll('~', '~0').replaceAll('/', '~1'))).join('/')}`

interface Route {
  method: string
  path: string
  pattern: RegExp
  operation: Json
}

/** Both forms of every path are served (`/apikey` and `/apikey/`), and static segments win over parameters. */
function routesOf(document: Json): Route[] {
  const routes: Route[] = []
  for (const [path, item] of Object.entries<Json>(document.paths)) {
    const source = path.replace(/\/$/, '').replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\{[^}]+\}/g, '[^/]+')
    for (const [method, operation] of Object.entries<Json>(item)) routes.push({ method: method.toUpperCase(), path, pattern: new RegExp(`^${source}/?$`), operation })
  }
  const parameters = (route: Route) => (route.path.match(/\{/g) ?? []).length
  return routes.sort((a, b) => parameters(a) - parameters(b))
}

export class Contract {
  /** Validates bodies exactly as they are. */
  readonly ajv = new Ajv2020({ allErrors: true, strict: true })
  /** Validates header values, which are text: "60" for an integer. */
  private readonly headerAjv = new Ajv2020({ allErrors: true, strict: true, coerceTypes: true })
  private readonly routes: Route[]
  private readonly validators = new Map<string, ValidateFunction>()

  constructor(readonly document: Json) {
    for (const ajv of [this.ajv, this.headerAjv]) {
      addFormats(ajv)
      ajv.addVocabulary(DOCUMENT_FIELDS)
      ajv.addSchema(document, DOCUMENT)
    }
    this.routes = routesOf(document)
  }

  /**
   * The validator of the schema at this pointer, compiled once. A schema that is only a `$ref`
   * (every error response's) shares the validator of what it points at: compiling is most of
   * what checking costs.
   */
  validator(at: string, forHeader = false): ValidateFunction {
    const key = `${forHeader}${at}`
    let validate = this.validators.get(key)
    if (!validate) {
      const schema = this.resolve(at.slice(DOCUMENT.length))
      if (typeof schema?.$ref === 'string' && Object.keys(schema).length === 1) return this.validator(`${DOCUMENT}${schema.$ref}`, forHeader)
      validate = forHeader
        ? this.headerAjv.compile({ type: 'object', properties: { value: { $ref: at } } })
        : this.ajv.getSchema(at)
      if (!validate) throw new Error(`no schema at ${at}`)
      this.validators.set(key, validate)
    }
    return validate
  }

  /** What a local `$ref` or pointer (`#/components/…`, URI-encoded or not) points at. */
  resolve(ref: string): Json {
    return ref
      .slice(2)
      .split('/')
      .reduce((node, part) => node?.[decodeURIComponent(part).replaceAll('~1', '/').replaceAll('~0', '~')], this.document)
  }

  /** The documented operation a request is for, or null. */
  routeFor(method: string, pathname: string): Route | null {
    const documented = method === 'HEAD' ? 'GET' : method
    return this.routes.find((route) => route.method === documented && route.pattern.test(pathname)) ?? null
  }

  /** Throws, saying what is wrong, when the answer breaks the contract. */
  check(exchange: Exchange): void {
    const pathname = new URL(exchange.path, 'http://localhost').pathname
    if (NOT_API.some((pattern) => pattern.test(pathname))) return
    const shown = exchange.path.length > 120 ? `${exchange.path.slice(0, 120)}…` : exchange.path
    const what = `${exchange.method} ${shown} answered ${exchange.status}`
    const route = this.routeFor(exchange.method, pathname)
    if (!route) {
      // No route: Elysia's 404, in the error envelope.
      if (exchange.status !== 404) throw new Error(`${what}, but the document has no ${exchange.method} ${pathname}`)
      this.checkBody(what, exchange, pointer('components', 'schemas', 'Error'))
      return
    }
    const { operationId, responses } = route.operation
    const response = responses[String(exchange.status)]
    if (!response) throw new Error(`${what}, which the document does not declare for ${operationId} (it declares ${Object.keys(responses).join(', ')})`)
    for (const [name, header] of Object.entries<Json>(response.headers ?? {})) {
      const at = header.$ref ? `${DOCUMENT}${header.$ref}` : pointer('paths', route.path, route.method.toLowerCase(), 'responses', String(exchange.status), 'headers', name)
      const declared = header.$ref ? this.resolve(header.$ref) : header
      const value = exchange.headers.get(name)
      if (value === null) {
        if (declared.required) throw new Error(`${what} without the header ${name}, which ${operationId} declares required`)
        continue
      }
      const validate = this.validator(`${at}/schema`, true)
      if (!validate({ value })) throw new Error(`${what} with ${name}: ${value}, against the document: ${this.ajv.errorsText(validate.errors)}`)
    }
    if (exchange.method === 'HEAD') return
    const media = Object.keys(response.content ?? {})
    if (media.length === 0) {
      if (exchange.text !== '') throw new Error(`${what} with a body, which ${operationId} does not declare for ${exchange.status}`)
      return
    }
    const at = pointer('paths', route.path, route.method.toLowerCase(), 'responses', String(exchange.status), 'content', 'application/json', 'schema')
    this.checkBody(what, exchange, at)
  }

  private checkBody(what: string, exchange: Exchange, at: string): void {
    const type = exchange.headers.get('content-type') ?? ''
    if (!type.startsWith('application/json')) throw new Error(`${what} as ${type || 'no content type'}, not the documented application/json`)
    let body: unknown
    try {
      body = JSON.parse(exchange.text)
    } catch {
      throw new Error(`${what} with a body that is not JSON: ${exchange.text.slice(0, 200)}`)
    }
    const validate = this.validator(at)
    if (!validate(body)) throw new Error(`${what} with a body the document does not describe: ${this.ajv.errorsText(validate.errors, { dataVar: 'body' })}\n  body: ${exchange.text.slice(0, 500)}`)
  }
}

let contract: Promise<Contract> | undefined

/** The contract, made once per process from the first document asked for: every server serves the same. */
export function openApiContract(document: () => Promise<unknown>): Promise<Contract> {
  contract ??= document().then((json) => new Contract(json as Json))
  return contract
}

/** Checks an answer against the served document; throws when it breaks it. */
export async function conform(exchange: Exchange, document: () => Promise<unknown>): Promise<void> {
  ;(await openApiContract(document)).check(exchange)
}
