/** Checks of key settings that schemas cannot express. */
import { invalidExpiresAt, invalidId, validationError } from '../../errors'
import { MAX_NAME_LENGTH } from './model'

// C0 and C1 control characters, and DEL.
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/

/** A display name: trimmed, 1–100 characters, no control characters. */
export function normalizeName(name: string, field = 'name'): string {
  const trimmed = name.trim()
  if (trimmed.length === 0 || trimmed.length > MAX_NAME_LENGTH)
    throw validationError(`${field} must be 1 to ${MAX_NAME_LENGTH} characters long after trimming`)
  if (CONTROL.test(trimmed)) throw validationError(`${field} must not contain control characters`)
  if (!trimmed.isWellFormed()) throw validationError(`${field} must be valid Unicode text`)
  return trimmed
}

const ISO_8601 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/
const LATEST = Date.UTC(9999, 11, 31)

/** True when the date part names a day that exists (Date.parse turns 2026-02-30 into March 2). */
function isRealDay(value: string): boolean {
  const [year, month, day] = value.slice(0, 10).split('-').map(Number) as [number, number, number]
  return new Date(Date.UTC(year, month - 1, day)).getUTCDate() === day && month >= 1 && month <= 12
}

/** An ISO 8601 instant with its time and zone (`2026-01-01T00:00:00Z`) as epoch ms, else NaN. */
export function parseInstant(value: string): number {
  const ms = ISO_8601.test(value) && isRealDay(value) ? Date.parse(value) : Number.NaN
  return ms > LATEST ? Number.NaN : ms
}

/** A future ISO 8601 instant, normalised to `toISOString()` so stored values compare as strings. */
export function parseFutureInstant(value: string, now: Date): string {
  const ms = parseInstant(value)
  if (Number.isNaN(ms)) throw invalidExpiresAt()
  if (ms <= now.getTime()) throw invalidExpiresAt()
  return new Date(ms).toISOString()
}

/** The list without duplicates, first occurrence first. */
export function unique(ids: readonly string[]): string[] {
  return [...new Set(ids)]
}

/** A key id from a path or the CLI: a positive integer, else 400 `invalid_id`. */
export function parseKeyId(raw: string): number {
  const id = /^[1-9][0-9]{0,15}$/.test(raw) ? Number(raw) : Number.NaN
  if (!Number.isSafeInteger(id)) throw invalidId()
  return id
}
