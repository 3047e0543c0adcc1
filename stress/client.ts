/**
 * A client process of stress/concurrency.stress.ts (not a test file).
 *
 *   bun stress/client.ts create URL KEY COUNT   COUNT concurrent POST /apikey/
 *   bun stress/client.ts delete URL KEY         DELETE /apikey/:id/ of every id it is given
 *
 * It prints "ready" once started, then waits for one line on stdin — the go signal, which
 * for `delete` is the JSON array of ids — so that several clients fire at the same moment.
 * It ends by printing one JSON line: [{ id, status, key?, text? }] in request order.
 */
export {}

const [command, url, key, countArg] = process.argv.slice(2)
if ((command !== 'create' && command !== 'delete') || !url || !key) {
  process.stderr.write('usage: client.ts create|delete URL KEY [COUNT]\n')
  process.exit(2)
}

/** The first line on stdin. */
async function readLine(): Promise<string> {
  const decoder = new TextDecoder()
  let text = ''
  for await (const chunk of Bun.stdin.stream()) {
    text += decoder.decode(chunk, { stream: true })
    const end = text.indexOf('\n')
    if (end >= 0) return text.slice(0, end)
  }
  return text
}

interface Outcome {
  id: number | null
  status: number
  key?: string
  text?: string
}

async function request(method: string, path: string, body?: unknown): Promise<{ status: number; text: string }> {
  try {
    const response = await fetch(url + path, {
      method,
      headers: { authorization: key!, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(20_000),
    })
    return { status: response.status, text: await response.text() }
  } catch (error) {
    return { status: 0, text: `fetch failed: ${(error as Error).message}` } // status 0: no answer
  }
}

process.stdout.write('ready\n')
const go = await readLine()

let outcomes: Outcome[]
if (command === 'create') {
  const count = Number(countArg ?? 50)
  outcomes = await Promise.all(
    Array.from({ length: count }, async (_, i): Promise<Outcome> => {
      const res = await request('POST', '/apikey/', { name: `client ${process.pid} #${i}`, mode: 'read' })
      if (res.status !== 201) return { id: null, status: res.status, text: res.text }
      const { apikey } = JSON.parse(res.text)
      return { id: apikey.id, status: res.status, key: apikey.key }
    }),
  )
} else {
  const ids = JSON.parse(go) as number[]
  outcomes = await Promise.all(
    ids.map(async (id): Promise<Outcome> => {
      const res = await request('DELETE', `/apikey/${id}/`)
      return { id, status: res.status, text: res.text }
    }),
  )
}
process.stdout.write(`${JSON.stringify(outcomes)}\n`)
process.exit(0)
