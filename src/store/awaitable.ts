/**
 * Work over answers that may or may not be promises (src/store/types.ts `Awaitable`), written
 * once as a generator that `yield*`s each answer: driven synchronously for as long as the
 * answers are plain values (SQLite: the hot path never waits), asynchronously from the first
 * promise on (PostgreSQL).
 */
import type { Awaitable } from './types'

/** `yield* answer(x)` in a step function: x's value, however it comes. */
export function* answer<T>(value: Awaitable<T>): Generator<Awaitable<T>, T, unknown> {
  return (yield value) as T
}

/** Runs the steps: a value when no step waited, else a promise of it. */
export function drive<T>(steps: Generator<unknown, T, unknown>): Awaitable<T> {
  let next = steps.next()
  while (!next.done) {
    if (next.value instanceof Promise) return finish(steps, next.value)
    next = steps.next(next.value)
  }
  return next.value
}

async function finish<T>(steps: Generator<unknown, T, unknown>, pending: Promise<unknown>): Promise<T> {
  let next = steps.next(await pending)
  while (!next.done) next = steps.next(next.value instanceof Promise ? await next.value : next.value)
  return next.value
}

/** `fn(value)`, at once for a plain value, once it settles for a promise. */
export function then<T, U>(value: Awaitable<T>, fn: (value: T) => Awaitable<U>): Awaitable<U> {
  return value instanceof Promise ? value.then(fn) : fn(value)
}
