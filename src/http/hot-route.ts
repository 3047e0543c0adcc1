/**
 * Handlers of the hot routes (verify, the key and app lists). Elysia compiles a route into a
 * synchronous function unless its handler's source text looks async, and awaiting on every
 * request costs about a sixth of a cheap one (docs/performance.md, "Hot path"). On SQLite the
 * read model answers at once, so the handler is used as it is and must read as synchronous
 * (no `return f(` or `=> f(`, test/compiled-routes.test.ts; the transpiler turns
 * `const x = f(); return x` into `return f(`). On PostgreSQL it may get a promise, which only
 * an async handler's answer is awaited for.
 */
import { then } from '../store/awaitable'
import type { Awaitable } from '../store/types'

/** What the hot handlers read of Elysia's context. */
interface HotContext {
  principal?: unknown
  query?: unknown
  request?: Request
  set?: unknown
}

/**
 * `handler` itself when the store answers at once, else an async handler that awaits it. The
 * async one names what it hands on: Elysia reads a handler that passes its whole context to a
 * function as needing all of it, and then copies the headers, parses cookies (with an await)
 * and copies every answer, on every request (docs/performance.md, "PostgreSQL").
 */
export function hotHandler<Context extends HotContext, Answer>(waits: boolean, handler: (ctx: Context) => Awaitable<Answer>): (ctx: Context) => Answer | Promise<Answer> {
  if (!waits) return handler as (ctx: Context) => Answer
  return async ({ principal, query, request, set }: Context) => await handler({ principal, query, request, set } as Context)
}

/**
 * `fn(value)` once `value` is there (src/store/awaitable.ts `then`), written
 * `new Then(value, fn).answer` in a hot handler so that the handler reads as synchronous.
 */
export class Then<T, U> {
  readonly answer: Awaitable<U>
  constructor(value: Awaitable<T>, fn: (value: T) => Awaitable<U>) {
    this.answer = then(value, fn)
  }
}
