/**
 * Answers written out ahead of time. Serialising was the largest single cost of the busiest
 * answers (a third of a 20-key list, docs/performance.md, "Answers kept as text"), and many answers are made of cached,
 * read-only values whose JSON can be kept with them. A route returns `new AnswerText(text)`;
 * `respond` sends the text as it is.
 */

/** JSON text standing in for the value it encodes. */
export class JsonText {
  constructor(readonly text: string) {}
}

/**
 * `new AnswerText<T>(text)`: a JsonText typed as the `T` it encodes, since Elysia types a
 * route's answer by its response schema. A constructor, not a function: Elysia reads a handler
 * whose source says `return f(` or `=> f(` as async, and would await it on every request
 * (test/compiled-routes.test.ts).
 */
export const AnswerText = JsonText as unknown as new <T>(text: string) => T

/** A JSON array of the items, each written out by `toJson` (which may keep its text). */
export function jsonArray<T>(items: readonly T[], toJson: (item: T) => string): string {
  let text = '['
  for (let i = 0; i < items.length; i++) text += (i === 0 ? '' : ',') + toJson(items[i]!)
  return text + ']'
}
