/**
 * Request bodies: JSON only, at most 64 KiB (SPEC §7). The declared length is checked before
 * anything is read, and a body without one is read only up to the limit.
 */
import { Elysia } from 'elysia'
import { AppError, invalidJson, payloadTooLarge, validationError } from '../errors'

export const MAX_BODY_BYTES = 64 * 1024

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

/** No `__proto__` key survives parsing: it is refused outright, on every route. */
function refuseProtoKeys(key: string, value: unknown): unknown {
  if (key === '__proto__') throw validationError("Invalid body field '__proto__': Unexpected property")
  return value
}

/** Parses any body as JSON, whatever its content type: this API speaks nothing else. */
export const jsonBody = new Elysia({ name: 'json-body' })
  .onRequest(({ request }) => {
    const declared = request.headers.get('content-length')
    if (declared !== null && Number(declared) > MAX_BODY_BYTES) throw payloadTooLarge()
  })
  .onParse({ as: 'global' }, async ({ request }) => {
    const bytes = await readLimited(request)
    if (bytes.byteLength === 0) return null
    let text: string
    try {
      text = utf8.decode(bytes)
    } catch {
      throw invalidJson()
    }
    try {
      return JSON.parse(text, refuseProtoKeys)
    } catch (error) {
      throw error instanceof AppError ? error : invalidJson()
    }
  })
