/**
 * Request bodies: JSON only, at most 64 KiB (SPEC §7). The declared length is checked before
 * anything is read, and a body without one is read only up to the limit.
 */
import { Elysia } from 'elysia'
import { invalidJson, payloadTooLarge } from '../errors'

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

/** Parses any body as JSON, whatever its content type: this API speaks nothing else. */
export const jsonBody = new Elysia({ name: 'json-body' })
  .onRequest(({ request }) => {
    const declared = request.headers.get('content-length')
    if (declared !== null && Number(declared) > MAX_BODY_BYTES) throw payloadTooLarge()
  })
  .onParse({ as: 'global' }, async ({ request }) => {
    const bytes = await readLimited(request)
    if (bytes.byteLength === 0) return null
    try {
      return JSON.parse(utf8.decode(bytes))
    } catch {
      throw invalidJson()
    }
  })
