/** Answers written out ahead of time (src/http/json-text.ts) must read back as what they stand for. */
import { describe, expect, test } from 'bun:test'
import { jsonArray } from '../src/http/json-text'

describe('JSON text', () => {
  test.each<[string, unknown[]]>([
    ['no items', []],
    ['one item', [{ a: 1 }]],
    ['several, with text that needs escaping', [{ a: 'x"y' }, { b: null }, { c: ['\u2028', '</script>'] }]],
  ])('jsonArray of %s is JSON.stringify of the array', (_name, items) => {
    const text = jsonArray(items, (item) => JSON.stringify(item))
    expect(text).toBe(JSON.stringify(items))
    expect(JSON.parse(text)).toEqual(items)
  })

})
