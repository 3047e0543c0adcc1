/**
 * Table-driven API tests in the spirit of PocketBase's `ApiScenario`: a row says what is sent
 * (method, path, key, body) and what must come back (status, code, text that must and must not
 * appear, whether the stored data stays unchanged). Every row also checks what no answer may
 * ever hold: a key hash, a stack trace, and a full key outside the answers that create one.
 */
import { expect, test } from 'bun:test'

/** What a scenario needs of its world: a way to send requests and to snapshot the data. */
export interface ScenarioWorld {
  request(method: string, path: string, options?: { key?: string | null; body?: unknown; headers?: Record<string, string> }): Promise<Answer>
  snapshot(): Promise<string>
}

export interface Answer {
  status: number
  headers: Headers
  text: string
  json: any
}

type Given<W, T> = T | ((world: W) => T)

export interface ApiScenario<W extends ScenarioWorld> {
  name: string
  method: string
  path: Given<W, string>
  /** The `authorization` header; null or absent: none. */
  key?: Given<W, string | null>
  body?: Given<W, unknown>
  headers?: Record<string, string>
  status: number
  /** The error `code` of the envelope. */
  code?: string
  contains?: Given<W, (string | RegExp)[]>
  notContains?: Given<W, (string | RegExp)[]>
  /** The stored data is the same after the request as before it. */
  unchanged?: boolean
  /** Anything else to check of the answer, with the world. */
  check?: (answer: Answer, world: W) => void | Promise<void>
}

const FULL_KEY = /ak_[0-9A-Za-z]{36}/
/** What no answer may hold: a SHA-256 hex (a key hash), the column that keeps them, a stack frame. */
const NEVER: (string | RegExp)[] = [/\b[0-9a-f]{64}\b/, 'key_hash', /\bat .+\.(ts|js):\d+/]

const given = <W, T>(value: Given<W, T>, world: W): T => (typeof value === 'function' ? (value as (world: W) => T)(world) : value)

/** Sends the scenario's request in `world` and checks the answer against the scenario. */
export async function runScenario<W extends ScenarioWorld>(world: W, scenario: ApiScenario<W>): Promise<Answer> {
  const path = given(scenario.path, world)
  const key = scenario.key === undefined ? null : given(scenario.key, world)
  const body = scenario.body === undefined ? undefined : given(scenario.body, world)
  const before = scenario.unchanged ? (await world.snapshot()) : null
  const answer = await world.request(scenario.method, path, { key, body, headers: scenario.headers })
  const context = `${scenario.method} ${path} → ${answer.status} ${answer.text.slice(0, 300)}`
  expect(answer.status, context).toBe(scenario.status)
  if (scenario.code !== undefined) expect(answer.json?.code, context).toBe(scenario.code)
  for (const wanted of given(scenario.contains ?? [], world)) {
    if (typeof wanted === 'string') expect(answer.text, context).toContain(wanted)
    else expect(answer.text, context).toMatch(wanted)
  }
  const mayHoldKey = answer.status === 201
  for (const unwanted of [...NEVER, ...(mayHoldKey ? [] : [FULL_KEY]), ...given(scenario.notContains ?? [], world)]) {
    if (typeof unwanted === 'string') expect(answer.text, context).not.toContain(unwanted)
    else expect(answer.text, context).not.toMatch(unwanted)
  }
  if (key && !mayHoldKey) expect(answer.text, context).not.toContain(key)
  if (before !== null) expect((await world.snapshot()), `${context}: the stored data changed`).toBe(before)
  await scenario.check?.(answer, world)
  return answer
}

/** One test per scenario, each in a fresh world from `setup`. */
export function scenarioTable<W extends ScenarioWorld>(setup: () => W | Promise<W>, scenarios: ApiScenario<W>[]): void {
  test.each(scenarios.map((scenario) => [scenario.name, scenario] as const))('%s', async (_name, scenario) => {
    await runScenario(await setup(), scenario)
  })
}
