/** Checks of key input that schemas cannot express. */
import { invalidId } from '../../errors'

/** A key id from a path or the CLI: a positive integer, else 400 `invalid_id`. */
export function parseKeyId(raw: string): number {
  const id = /^[1-9][0-9]{0,15}$/.test(raw) ? Number(raw) : Number.NaN
  if (!Number.isSafeInteger(id)) throw invalidId()
  return id
}
