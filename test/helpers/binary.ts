/** Starting the compiled binary (`npm run build` → dist/codepushgo) for end-to-end tests. */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { conform } from './openapi-contract'

export const BINARY = resolve(import.meta.dir, '../../dist/codepushgo')

export function tempDir(prefix = 'codepushgo-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix))
}

/** The binary run with `args`, under `umask` if one is given (through sh, which execs it). */
function command(args: string[], umask?: number): string[] {
  if (umask === undefined) return [BINARY, ...args]
  return ['sh', '-c', `umask ${umask.toString(8).padStart(3, '0')}; exec "$0" "$@"`, BINARY, ...args]
}

/** Runs a CLI command to completion. */
export function runCli(args: string[], env: Record<string, string> = {}, umask?: number) {
  const result = Bun.spawnSync(command(args, umask), { env: { ...process.env, ...env }, stdout: 'pipe', stderr: 'pipe' })
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
  /**
   * Resolves with the first match of `pattern` in the output, once the server has written it
   * (a log line comes up to 50 ms after its answer; stderr and stdout arrive separately).
   * Rejects if the server's output ends without it.
   */
  waitForOutput(pattern: RegExp): Promise<RegExpExecArray>
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

/**
 * `serve` that should stop by itself (bad configuration, an address in use…): resolves with its
 * exit code and output once it exits, or with exitCode null as soon as it says it is listening
 * (then it is killed, and the test fails on the exit code). No deadline, however slow the machine.
 */
export async function serveExpectingExit(args: string[]) {
  const child = Bun.spawn(command(['serve', ...args]), { stdin: 'ignore', stdout: 'pipe', stderr: 'pipe' })
  const stderr = new Response(child.stderr).text()
  const decoder = new TextDecoder()
  let stdout = ''
  for await (const chunk of child.stdout) {
    stdout += decoder.decode(chunk, { stream: true })
    if (stdout.includes('"msg":"listening"')) {
      child.kill('SIGKILL')
      await child.exited
      return { exitCode: null, stdout, stderr: await stderr }
    }
  }
  return { exitCode: await child.exited, stdout, stderr: await stderr }
}

/** Where a server keeps its data: a directory (SQLite), or a PostgreSQL database. */
export type DataLocation = string | { databaseUrl: string }

/** The flags that point a command at `location`. */
export const locationFlags = (location: DataLocation): string[] =>
  typeof location === 'string' ? ['--dir', location] : ['--database-url', location.databaseUrl]

/** Starts `serve` on a free loopback port (under `umask` if given) and resolves once it is listening. */
export async function startServer(location: DataLocation, extraArgs: string[] = [], umask?: number): Promise<RunningServer> {
  const child = Bun.spawn(command(['serve', '--http', '127.0.0.1:0', ...locationFlags(location), ...extraArgs], umask), {
    stdin: 'ignore', stdout: 'pipe', stderr: 'pipe',
  })
  let out = ''
  const separate = { stdout: '', stderr: '' }
  // Waits are for what the server writes, never for a fixed time: a loaded machine may take long
  // to start it (the test's timeout bounds every wait).
  const waiters = new Set<{ pattern: RegExp; resolve(match: RegExpExecArray): void; reject(error: Error): void }>()
  let ended = false
  const waitForOutput = (pattern: RegExp) =>
    new Promise<RegExpExecArray>((resolve, reject) => {
      const match = pattern.exec(out)
      if (match !== null) resolve(match)
      else if (ended) reject(new Error(`the server's output ended without ${pattern}:\n${out}`))
      else waiters.add({ pattern, resolve, reject })
    })
  const collect = async (stream: ReadableStream<Uint8Array>, name: 'stdout' | 'stderr') => {
    const decoder = new TextDecoder()
    for await (const chunk of stream) {
      const text = decoder.decode(chunk, { stream: true })
      out += text
      separate[name] += text
      for (const waiter of waiters) {
        const match = waiter.pattern.exec(out)
        if (match === null) continue
        waiters.delete(waiter)
        waiter.resolve(match)
      }
    }
  }
  const drained = Promise.all([collect(child.stdout, 'stdout'), collect(child.stderr, 'stderr')]).then(() => {
    ended = true
    for (const waiter of waiters) waiter.reject(new Error(`the server's output ended without ${waiter.pattern}:\n${out}`))
    waiters.clear()
  })
  const url = await waitForOutput(/"msg":"listening","url":"([^"]+)"/).then((match) => match[1]!, () => null)
  if (url === null) throw new Error(`server exited with ${await child.exited} before listening:\n${out}`)
  return {
    url,
    process: child,
    output: () => out,
    stdout: () => separate.stdout,
    stderr: () => separate.stderr,
    waitForOutput,
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

  async serve(location: DataLocation, extraArgs: string[] = [], umask?: number): Promise<RunningServer> {
    const server = await startServer(location, extraArgs, umask)
    this.servers.push(server)
    return server
  }

  cleanup(): void {
    for (const server of this.servers) if (server.process.exitCode === null) server.process.kill('SIGKILL')
    for (const dir of this.dirs) rmSync(dir, { recursive: true, force: true })
  }
}
