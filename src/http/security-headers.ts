/** Security headers on every response, errors included (issue #6). */

/**
 * API answers are data: nothing in them may run, be framed, be sniffed or be cached (the
 * OWASP REST set). Each header costs on every response (docs/performance.md, "Hot path"), so there are no
 * others: the document-only ones (referrer, opener and resource policies) go on the docs.
 */
export const API_HEADERS = {
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
  'cache-control': 'no-store',
}

/** What every page (and its files) carries besides its own CSP: never sniffed or framed, no referrer, its own window. */
const PAGE_HEADERS = {
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
}

/** The Swagger page runs its own (embedded) script and one inline bootstrap; nothing from elsewhere. */
export const DOCS_HEADERS = {
  ...PAGE_HEADERS,
  'content-security-policy':
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'",
  'cache-control': 'no-cache',
}

/**
 * The console (src/http/console.ts) runs only its own bundled script and style sheet and talks
 * only to this server: no inline script or style, nothing from elsewhere, never framed.
 */
export const CONSOLE_HEADERS = {
  ...PAGE_HEADERS,
  'content-security-policy':
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
}
