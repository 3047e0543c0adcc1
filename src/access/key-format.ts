/**
 * API key format (SPEC §4): `ak_` + 30 random base62 characters + 6 base62 characters of the
 * CRC32 of those 30. The checksum lets us reject typos and garbage before touching the
 * database, and the fixed shape lets secret scanners find leaked keys.
 */
import { randomString } from '../random'

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz'
const PREFIX = 'ak_'
const RANDOM_LENGTH = 30
const CHECKSUM_LENGTH = 6
/** Length of the stored, displayable prefix of a key (`ak_` + 5 characters). */
export const KEY_START_LENGTH = 8
/** The shape of every key this server issues; documented in the README for secret scanners. */
export const KEY_PATTERN = /^ak_[0-9A-Za-z]{36}$/

/** Base62 of a 32-bit unsigned integer, left-padded to 6 characters (62^6 > 2^32). */
function checksum(body: string): string {
  let n = Bun.hash.crc32(body)
  let out = ''
  for (let i = 0; i < CHECKSUM_LENGTH; i++) {
    out = BASE62[n % 62] + out
    n = Math.floor(n / 62)
  }
  return out
}

/** True when `text` ends with the checksum of `body`; compares digits, builds no string (every request runs it). */
function endsWithChecksum(text: string, body: string): boolean {
  let n = Bun.hash.crc32(body)
  for (let i = text.length - 1; i >= text.length - CHECKSUM_LENGTH; i--) {
    if (text.charCodeAt(i) !== BASE62.charCodeAt(n % 62)) return false
    n = Math.floor(n / 62)
  }
  return true
}

/** A fresh key from the CSPRNG. */
export function generateKey(): string {
  return keyWithBody(randomString(BASE62, RANDOM_LENGTH))
}

/** The key whose random part is `body` (30 base62 characters): the benchmark's seed makes its keys from a fixed sequence. */
export function keyWithBody(body: string): string {
  return PREFIX + body + checksum(body)
}

/** True when the string has the key shape and a correct checksum. No database work. */
export function isWellFormedKey(candidate: string): boolean {
  if (!KEY_PATTERN.test(candidate)) return false
  return endsWithChecksum(candidate, candidate.slice(PREFIX.length, PREFIX.length + RANDOM_LENGTH))
}

/** SHA-256 of the key, hex: the only form of a key the database ever holds. */
export function hashKey(key: string): string {
  return Bun.SHA256.hash(key, 'hex') as string
}

/** The displayable start of a key, stored beside the hash. */
export function keyStart(key: string): string {
  return key.slice(0, KEY_START_LENGTH)
}

/** How a stored key is shown everywhere except the response that creates it. */
export function maskKey(start: string): string {
  return `${start}...`
}
