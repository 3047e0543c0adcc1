/** Starting the compiled binary (`npm run build` → dist/codepushgo) for end-to-end tests. */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { conform } from './openapi-contract'

export const BINARY = resolve(import.meta.dir, '../../dist/codepushgo')

export function tempDir(prefix = 'codepushgo-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix))
}

/** Runs a CLI command to completion. */
export function runCli(args: string[], env: Record<string, string> = {}) {
  const result = Bun.spawnSync([BINARY, ...args], { env: { ...process.env, ...env }, stdout: 'pipe', stderr: 'pipe' })
  return { exitCode: result.exitCode, stdout: result.stdout.toString(), stderr: result.stderr.toString() }
}

export interface RunningServer {
  url: string
  process: Bun.Subprocess<'ignore', 'pipe', 'pipe'>
  /** Everything the server wrote to stdout and stderr so far. */
  output(): string
  /** Only what it wrote to stdout (the JSON log lines). */
  stdout(): string
  /** Only what it wrote to stderr (the first-run banner). */
  stderr(): string
  stop(signal?: NodeJS.Signals): Promise<number>
}

/**
 * `fetch` for the binary's API: the answer is checked against the document the server serves
 * (helpers/openapi-contract.ts), then handed back whole.
 */
export async function fetchChecked(url: string, init: RequestInit = {}): Promise<Response> {
  const response = await fetch(url, init)
  const text = await response.text()
  const { origin, pathname, search } = new URL(url)
  const served = async () => (await fetch(`${origin}/swagger/json`)).json()
  await conform({ method: init.method ?? 'GET', path: pathname + search, status: response.status, headers: response.headers, text }, served)
  return new Response(text, { status: response.status, statusText: response.statusText, headers: response.headers })
}

/** Starts `serve` on a free loopback port and resolves once it is listening. */
export async function startServer(dir: string, extraArgs: string[] = []): Promise<RunningServer> {
  const child = Bun.spawn([BINARY, 'serve', '--http', '127.0.0.1:0', '--dir', dir, ...extraArgs], {
    stdin: 'ignore', stdout: 'pipe', stderr: 'pipe',
  })
  let out = ''
  const separate = { stdout: '', stderr: '' }
  const collect = async (stream: ReadableStream<Uint8Array>, name: 'stdout' | 'stderr') => {
    const decoder = new TextDecoder()
    for await (const chunk of stream) {
      const text = decoder.decode(chunk, { stream: true })
      out += text
      separate[name] += text
    }
  }
  const drained = Promise.all([collect(child.stdout, 'stdout'), collect(child.stderr, 'stderr')])
  const deadline = Date.now() + 10_000
  let url: string | undefined
  while (!url) {
    if (Date.now() > deadline || child.exitCode !== null) throw new Error(`server did not start:\n${out}`)
    url = /"msg":"listening","url":"([^"]+)"/.exec(out)?.[1]
    await Bun.sleep(20)
  }
  return {
    url,
    process: child,
    output: () => out,
    stdout: () => separate.stdout,
    stderr: () => separate.stderr,
    async stop(signal = 'SIGTERM') {
      child.kill(signal)
      const code = await child.exited
      await drained // so output() holds the last lines (e.g. "stopped")
      return code
    },
  }
}

/** Servers and temp dirs of one test file, cleaned up in its afterAll even when a test fails. */
export class Resources {
  private dirs: string[] = []
  private servers: RunningServer[] = []

  dir(prefix = 'codepushgo-test-'): string {
    const dir = tempDir(prefix)
    this.dirs.push(dir)
    return dir
  }

  async serve(dir: string, extraArgs: string[] = []): Promise<RunningServer> {
    const server = await startServer(dir, extraArgs)
    this.servers.push(server)
    return server
  }

  cleanup(): void {
    for (const server of this.servers) if (server.process.exitCode === null) server.process.kill('SIGKILL')
    for (const dir of this.dirs) rmSync(dir, { recursive: true, force: true })
  }
}
