/**
 * Every request the app routes has an absolute URL, so the path it serves is the path asked for.
 *
 * Elysia finds the path by searching for the first `/` after `http://` (`standardHostname:
 * false` in createApp; by default it skips 11 characters, and with a short `Host` such as `ab`
 * `GET /xx/metrics` was served as `/metrics`). That holds for the URLs Bun makes from a Host
 * header, which never contain a `/` there. But when the Host header is missing (HTTP/1.0), empty
 * or malformed, Bun hands over the bare path (`/aaaaaa/metrics`), where the same search lands
 * inside the path. Such a request is given a placeholder authority (RFC 9112 §3.3 leaves it to
 * the server) before Elysia sees it; nothing reads the host of a URL. Plain HTTP only: the
 * server never terminates TLS.
 */

/** Stands in for the missing authority; never shown or used for anything but parsing. */
const PLACEHOLDER_ORIGIN = 'http://localhost'

/** Rebuilt requests → the requests the server received (whose socket tells the client's address). */
const received = new WeakMap<Request, Request>()

/**
 * An Elysia higher-order function (`app.wrap`): the handler, or for a request whose URL has no
 * authority, the handler applied to a copy with one.
 */
export function withAbsoluteUrl<Handler extends (request: Request) => unknown>(handler: Handler, request: Request): Handler {
  if (request.url.charCodeAt(0) !== 0x2f) return handler
  const absolute = new Request(PLACEHOLDER_ORIGIN + request.url, request)
  // The path parameters Bun's router found (`/apikey/:id`), which a new Request lacks.
  if ('params' in request) Object.assign(absolute, { params: request.params })
  received.set(absolute, request)
  return ((_: Request) => handler(absolute)) as Handler
}

/** The request as the server received it (for its socket), also when the app saw a rebuilt copy. */
export function receivedRequest(request: Request): Request {
  return received.get(request) ?? request
}
