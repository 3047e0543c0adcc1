/**
 * `length` characters drawn uniformly from `alphabet` with the CSPRNG. Bytes past the largest
 * multiple of the alphabet size are dropped (rejection sampling) so no character is favoured.
 */
export function randomString(alphabet: string, length: number): string {
  const limit = 256 - (256 % alphabet.length)
  let out = ''
  while (out.length < length) {
    for (const byte of crypto.getRandomValues(new Uint8Array(length * 2))) {
      if (byte < limit && out.length < length) out += alphabet[byte % alphabet.length]
    }
  }
  return out
}
