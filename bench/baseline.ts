/**
 * The benchmark's baselines: a bare Bun.serve in its own process. Prints `{"port": N}` on
 * stdout once listening; stops on SIGTERM/SIGINT.
 *
 * - No argument: a constant small JSON body, `{"ok":true}`, reading nothing from the request.
 * - A file (`bun bench/baseline.ts answer.json`): the answer in it (`status`, `headers`, `body`:
 *   what the server answered one request of a scenario), after reading what any server has to
 *   read to route and authenticate a request: its URL and its `authorization` header. Loaded
 *   like the scenario, it shows what the answer alone costs (its size, its headers) and so
 *   what part of the gap to the constant baseline is the server's own work.
 */
import { readFileSync } from 'node:fs'
import { replaying, type RecordedAnswer } from './answer'

const file = process.argv[2]
let fetch: (request: Request) => Response
if (file === undefined) {
  const body = '{"ok":true}'
  fetch = () => new Response(body, { headers: { 'content-type': 'application/json' } })
} else {
  fetch = replaying(JSON.parse(readFileSync(file, 'utf8')) as RecordedAnswer)
}
const server = Bun.serve({ hostname: '127.0.0.1', port: 0, fetch })
process.stdout.write(`${JSON.stringify({ port: server.port })}\n`)
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.on(signal, () => {
    server.stop(true)
    process.exit(0)
  })
}
