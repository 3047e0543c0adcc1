/** The server's answers that bench/baseline.ts replays: recording them, and choosing one. */

/** One answer as the replay sends it. */
export interface RecordedAnswer {
  status: number
  headers: Record<string, string>
  body: string
}

/** Headers the replaying server sets itself (or that belong to one connection): not recorded. */
const NOT_REPLAYED = new Set(['date', 'content-length', 'transfer-encoding', 'connection', 'keep-alive'])

/** A response as the replay sends it again. */
export async function asRecorded(response: Response): Promise<RecordedAnswer> {
  const headers: Record<string, string> = {}
  for (const [name, value] of response.headers) if (!NOT_REPLAYED.has(name)) headers[name] = value
  return { status: response.status, headers, body: await response.text() }
}

/** The server's answer to a GET of `url` with this `authorization`. */
export async function recordAnswer(url: string, authorization: string): Promise<RecordedAnswer> {
  return asRecorded(await fetch(url, { headers: { authorization } }))
}

/**
 * The replay's handler: reads what any server has to read to route and authenticate a
 * request (its URL and its `authorization` header), then sends `answer`.
 */
export function replaying(answer: RecordedAnswer): (request: Request) => Response {
  const init = { status: answer.status, headers: new Headers(answer.headers) }
  return (request) => {
    // Read, and dropped: a native getter's call is never optimised away.
    void request.url
    void request.headers.get('authorization')
    return new Response(answer.body, init)
  }
}

/**
 * The answer of median size among the answers to these authorizations (a scenario's answers
 * differ: GET /app/ answers 1.6-5 KB, by key). Throws when one has a status the scenario does
 * not expect: replaying a refusal would measure something else.
 */
export async function typicalAnswer(url: string, authorizations: readonly string[], expected: readonly number[]): Promise<RecordedAnswer> {
  const answers: RecordedAnswer[] = []
  for (const authorization of authorizations) {
    const answer = await recordAnswer(url, authorization)
    if (!expected.includes(answer.status)) throw new Error(`replay: ${url} answered ${answer.status}, not ${expected.join(' or ')}: ${answer.body.slice(0, 200)}`)
    answers.push(answer)
  }
  answers.sort((a, b) => a.body.length - b.body.length)
  const median = answers[Math.floor(answers.length / 2)]
  if (median === undefined) throw new Error('replay: no answer to replay')
  return median
}
