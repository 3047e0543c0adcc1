/** Security headers on every response, errors included (issue #6). */
import { Elysia } from 'elysia'

const COMMON = {
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
}

/** API answers are data: nothing in them may run, and none of them may be cached. */
const API = { ...COMMON, 'content-security-policy': "default-src 'none'; frame-ancestors 'none'", 'cache-control': 'no-store' }

/** The Swagger page runs its own (embedded) script and one inline bootstrap; nothing from elsewhere. */
const DOCS = {
  ...COMMON,
  'content-security-policy':
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'",
}

/** Whether the request is for the docs, without parsing the whole URL on every request. */
function isDocs(url: string): boolean {
  return url.startsWith('/swagger', url.indexOf('/', url.indexOf('//') + 2))
}

export const securityHeaders = new Elysia({ name: 'security-headers' }).onRequest(({ request, set }) => {
  Object.assign(set.headers, isDocs(request.url) ? DOCS : API)
})
