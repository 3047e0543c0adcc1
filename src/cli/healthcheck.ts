import { DEFAULT_HTTP, parseListenAddress } from '../config'
import { parseFlags, type Command } from './args'

const help = `Usage: codepushgo healthcheck [--url URL]

Exits 0 when GET /health answers {"status":"ok"}, 1 otherwise (for Docker's HEALTHCHECK).

Options:
  --url URL   the health URL (default: http://<CODEPUSHGO_HTTP or 127.0.0.1:8090>/health,
              with 0.0.0.0 replaced by 127.0.0.1)
  -h, --help  show this help
`

function defaultUrl(): string {
  const { hostname, port } = parseListenAddress(process.env.CODEPUSHGO_HTTP ?? DEFAULT_HTTP)
  const host = hostname === '0.0.0.0' ? '127.0.0.1' : hostname === '::' ? '[::1]' : hostname.includes(':') ? `[${hostname}]` : hostname
  return `http://${host}:${port}/health`
}

export const healthcheck: Command = {
  help,
  async run(argv) {
    const { values } = parseFlags(argv, { url: { type: 'string' } })
    const url = values.url ?? defaultUrl()
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(3000) })
      const body = (await response.json()) as { status?: string }
      if (response.ok && body.status === 'ok') {
        process.stdout.write('ok\n')
        return 0
      }
      process.stderr.write(`unhealthy: ${url} answered ${response.status}\n`)
    } catch (error) {
      process.stderr.write(`unhealthy: ${url}: ${(error as Error).message}\n`)
    }
    return 1
  },
}
