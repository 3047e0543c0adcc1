/**
 * Request bodies: JSON only, at most 64 KiB (SPEC §7). The declared length is checked before
 * anything is read, and a body without one is read only up to the limit. The auth plugin's
 * `jsonBody` macro puts these together, authentication between the two (SPEC §5).
 */
import { AppError, invalidJson, payloadTooLarge, validationError } from '../errors'

export const MAX_BODY_BYTES = 64 * 1024

/**
 * The body's bytes, refused past MAX_BODY_BYTES: streamed and counted, whatever length it
 * declares (docs/performance.md, "Tried and dropped").
 */
async function readLimited(request: Request): Promise<Uint8Array> {
  if (!request.body) return new Uint8Array()
  const chunks: Uint8Array[] = []
  let size = 0
  for await (const chunk of request.body) {
    size += chunk.byteLength
    if (size > MAX_BODY_BYTES) throw payloadTooLarge()
    chunks.push(chunk)
  }
  return Buffer.concat(chunks)
}

const utf8 = new TextDecoder('utf-8', { fatal: true })

/** No body of this API nests deeper than a few levels; far deeper ones are refused unread. */
export const MAX_JSON_DEPTH = 32

/** The deepest nesting of `[` and `{` in JSON text, outside strings. */
function nestingDepth(text: string): number {
  let depth = 0
  let deepest = 0
  let inString = false
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (inString) {
      if (c === 0x5c) i++ // backslash: skip the escaped character
      else if (c === 0x22) inString = false
    } else if (c === 0x22) inString = true
    else if (c === 0x5b || c === 0x7b) deepest = Math.max(deepest, ++depth)
    else if (c === 0x5d || c === 0x7d) depth--
  }
  return deepest
}

/**
 * Keys named like Object.prototype's members (`__proto__`, `toString`, `constructor`…) are
 * refused on every route: no field of this API has such a name, and objects that shadow them
 * break code that turns values into text (Elysia's own validation messages among it).
 */
const RESERVED_KEYS = new Set(Object.getOwnPropertyNames(Object.prototype))
/** Also refuses NUL characters in keys and strings: no field takes them, and PostgreSQL's text cannot hold them. */
function refuseReservedKeys(this: unknown, key: string, value: unknown): unknown {
  if (RESERVED_KEYS.has(key) && !Array.isArray(this)) throw validationError(`Invalid body field '${key}': Unexpected property`)
  if (key.includes('\0') || (typeof value === 'string' && value.includes('\0')))
    throw validationError(`Invalid body field '${key.replaceAll('\0', '\\u0000')}': must not contain NUL characters`)
  return value
}

/** Refuses (413) a body whose declared length is over the limit, before a byte of it is read. */
export function refuseDeclaredOversize(request: Request): void {
  const declared = request.headers.get('content-length')
  if (declared !== null && Number(declared) > MAX_BODY_BYTES) throw payloadTooLarge()
}

/**
 * Reads the body (up to the limit) and parses it as JSON, whatever its content type: this API
 * speaks nothing else. An empty body is null.
 */
export async function readJsonBody(request: Request): Promise<unknown> {
  const bytes = await readLimited(request)
  if (bytes.byteLength === 0) return null
  let text: string
  try {
    text = utf8.decode(bytes)
  } catch {
    throw invalidJson()
  }
  // Validation and error messages walk values recursively: a body nested thousands deep
  // would overflow the stack there, so it is refused before parsing.
  if (nestingDepth(text) > MAX_JSON_DEPTH) throw validationError(`Request body is nested deeper than ${MAX_JSON_DEPTH} levels`)
  try {
    return JSON.parse(text, refuseReservedKeys)
  } catch (error) {
    throw error instanceof AppError ? error : invalidJson()
  }
}
