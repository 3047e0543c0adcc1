import { describe, expect, test } from 'bun:test'
import { generateKey, hashKey, isWellFormedKey, KEY_PATTERN, keyStart, maskKey } from '../src/access/key-format'
import { keyFromHeader } from '../src/access/authenticate'

describe('key format (SPEC §4)', () => {
  test('keys are ak_ + 36 base62 characters with a valid checksum, and distinct', () => {
    const keys = Array.from({ length: 2000 }, generateKey)
    for (const key of keys) {
      expect(key).toMatch(KEY_PATTERN)
      expect(isWellFormedKey(key)).toBe(true)
    }
    expect(new Set(keys).size).toBe(keys.length)
  })

  test('every base62 character turns up in the random part (no biased alphabet)', () => {
    const seen = new Set(Array.from({ length: 500 }, () => generateKey().slice(3, 33)).join(''))
    expect(seen.size).toBe(62)
  })

  test('changing any one character breaks the checksum', () => {
    const key = generateKey()
    for (let i = 3; i < key.length; i++) {
      const replacement = key[i] === 'a' ? 'b' : 'a'
      expect(isWellFormedKey(key.slice(0, i) + replacement + key.slice(i + 1))).toBe(false)
    }
  })

  test.each(['', 'ak_', 'AK_' + 'a'.repeat(36), 'ak_' + 'a'.repeat(35), 'ak_' + 'a'.repeat(37), `ak_${'a'.repeat(35)}-`, ' ak_x'])(
    'rejects %p without any lookup',
    (candidate) => expect(isWellFormedKey(candidate)).toBe(false),
  )

  test('the stored forms: SHA-256 hex and the first 8 characters, shown masked', () => {
    const key = generateKey()
    expect(hashKey(key)).toMatch(/^[0-9a-f]{64}$/)
    expect(hashKey(key)).toBe(new Bun.CryptoHasher('sha256').update(key).digest('hex'))
    expect(keyStart(key)).toBe(key.slice(0, 8))
    expect(maskKey(keyStart(key))).toBe(`${key.slice(0, 8)}...`)
  })

  test.each([
    [null, null],
    ['', null],
    ['   ', null],
    ['ak_abc', 'ak_abc'],
    ['Bearer ak_abc', 'ak_abc'],
    ['bearer   ak_abc ', 'ak_abc'],
  ])('authorization header %p → key %p', (header, key) => expect(keyFromHeader(header)).toBe(key))
})
