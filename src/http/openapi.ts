/**
 * The OpenAPI document (`/swagger/json`) and the Swagger UI page (`/swagger`). The UI's
 * JavaScript and CSS are embedded in the binary and served from `/swagger/assets/`, so the
 * page works with the network off.
 */
import { SwaggerUIRender } from '@elysiajs/openapi/swagger'
import { Elysia } from 'elysia'
import bundlePath from 'swagger-ui-dist/swagger-ui-bundle.js' with { type: 'file' }
import cssPath from 'swagger-ui-dist/swagger-ui.css' with { type: 'file' }
import { KEY_PATTERN } from '../access/key-format'
import { JsonText } from './json-text'
import { openApiDocument, type DocumentBase } from './openapi-document'
import { DOCS_HEADERS } from './security-headers'

const ASSETS = '/swagger/assets'

function asset(path: string, type: string) {
  const file = Bun.file(path)
  return () => new Response(file, { headers: { ...DOCS_HEADERS, 'content-type': type, 'cache-control': 'public, max-age=86400' } })
}

const TITLE = 'CodePushGo API keys'
const DESCRIPTION =
  'Self-hosted CodePushGo API key service. Authenticate with `authorization: <key>` ' +
  `(or \`Bearer <key>\`). Keys match \`${KEY_PATTERN.source}\`. Errors are ` +
  '`{"error", "status": "KO", "code"}`.'

/** Text for an HTML attribute: the renderer puts title and description in `<meta content="…">` as they are. */
const attributeText = (text: string) => text.replaceAll('&', '&amp;').replaceAll('"', '&quot;').replaceAll('<', '&lt;').replaceAll('>', '&gt;')

/**
 * The Swagger UI page, rendered once: local assets, an absolute spec URL (so `/swagger/` works
 * too). The key pasted into Authorize stays in the page's memory: `persistAuthorization` would
 * write it to localStorage, where it outlives the tab and any script of the origin can read it.
 */
function swaggerPage(version: string): () => Response {
  const html = SwaggerUIRender({ title: attributeText(TITLE), description: attributeText(DESCRIPTION), version }, {
    cdn: `${ASSETS}/swagger-ui-bundle.js`,
    theme: `${ASSETS}/swagger-ui.css`,
    url: '/swagger/json',
    dom_id: '#swagger-ui',
    autoDarkMode: true,
    persistAuthorization: false,
  } as Parameters<typeof SwaggerUIRender>[1])
  return () => new Response(html, { headers: { ...DOCS_HEADERS, 'content-type': 'text/html; charset=utf-8' } })
}

/** The document's JSON text, made at its first request (every route is registered by then) and kept. */
class DocumentAnswer {
  private text: JsonText | undefined
  constructor(private readonly make: () => object) {}

  get answer(): JsonText {
    this.text ??= new JsonText(JSON.stringify(this.make()))
    return this.text
  }
}

const BASE: Omit<DocumentBase, 'info'> = {
  // Relative: the document describes the server that serves it, wherever that is.
  servers: [{ url: '/', description: 'The server this document comes from.' }],
  tags: [
    { name: 'API keys', description: 'Create, list and revoke API keys (needs an `all` key); verify a key.' },
    { name: 'Organizations', description: 'Organizations and their members.' },
    { name: 'Apps', description: 'Apps, each in one organization.' },
    { name: 'Audit', description: 'The audit log: who changed which key, org, member or app (needs an `all` key without limits).' },
    { name: 'Operations', description: 'Health and operations.' },
  ],
  securitySchemes: {
    apiKey: { type: 'apiKey', in: 'header', name: 'authorization', description: 'Your API key.' },
  },
  security: [{ apiKey: [] }],
}

export function openapiPlugin(version: string) {
  const docs = new Elysia({ name: 'openapi' })
  const document = new DocumentAnswer(() => openApiDocument(docs, { ...BASE, info: { title: TITLE, version, description: DESCRIPTION } }))
  return docs
    .get(`${ASSETS}/swagger-ui-bundle.js`, asset(bundlePath, 'text/javascript; charset=utf-8'), { detail: { hide: true } })
    .get(`${ASSETS}/swagger-ui.css`, asset(cssPath, 'text/css; charset=utf-8'), { detail: { hide: true } })
    // The page carries the docs' CSP, not the API's.
    .get('/swagger', swaggerPage(version), { detail: { hide: true } })
    .get('/swagger/json', () => document.answer, { detail: { hide: true } })
}
