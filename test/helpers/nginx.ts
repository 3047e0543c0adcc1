/** A real nginx for end-to-end tests: its config and files in one prefix directory, stopped in the end. */
import { chmodSync, existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { tempDir } from './binary'
import { exitedWithin } from './wait'

/**
 * `text` with `from` replaced by `to`, which must occur exactly once: a documented nginx block
 * with its addresses swapped for a test's, so that an edit of the document fails loudly.
 */
export function replaceOnce(text: string, from: string, to: string, source: string): string {
  const parts = text.split(from)
  if (parts.length !== 2) throw new Error(`${source}: expected "${from}" exactly once, found ${parts.length - 1}`)
  return parts.join(to)
}

/** A main context around `http` (the inside of an `http { }` block) that keeps everything in `prefix`. */
function mainConf(prefix: string, http: string): string {
  const path = (name: string) => join(prefix, name)
  return `daemon off;
master_process on;
worker_processes 1;
pid ${path('nginx.pid')};
error_log ${path('error.log')} warn;
events { worker_connections 64; }
http {
    access_log off;
    client_body_temp_path ${path('client_body_temp')};
    proxy_temp_path ${path('proxy_temp')};
    fastcgi_temp_path ${path('fastcgi_temp')};
    uwsgi_temp_path ${path('uwsgi_temp')};
    scgi_temp_path ${path('scgi_temp')};

${http}
}
`
}

export interface RunningNginx {
  /** Everything nginx wrote, and its error log (also once stopped). */
  output(): string
  /** Stops it gracefully (SIGQUIT, then harder) and removes its files; resolves with its exit code. */
  stop(): Promise<number | null>
}

/**
 * Starts nginx with the `http` block and resolves once `probeUrl` answers (any status).
 * As root, nginx's workers run as nobody: they must be able to enter the prefix; nginx itself
 * creates the *_temp directories inside it and hands them to the worker user.
 */
export async function startNginx(program: string, http: string, probeUrl: string): Promise<RunningNginx> {
  const prefix = tempDir('codepushgo-nginx-')
  chmodSync(prefix, 0o755)
  const conf = join(prefix, 'nginx.conf')
  writeFileSync(conf, mainConf(prefix, http))
  const proxy = Bun.spawn([program, '-p', prefix, '-c', conf, '-e', join(prefix, 'error.log')], { stdin: 'ignore', stdout: 'pipe', stderr: 'pipe' })
  let printed = ''
  const decoder = new TextDecoder()
  for (const stream of [proxy.stdout, proxy.stderr]) {
    void (async () => {
      for await (const chunk of stream) printed += decoder.decode(chunk, { stream: true })
    })()
  }
  let errorLog = ''
  const output = () => {
    if (existsSync(join(prefix, 'error.log'))) errorLog = readFileSync(join(prefix, 'error.log'), 'utf8')
    return printed + errorLog
  }
  const stop = async () => {
    if (proxy.exitCode === null) {
      proxy.kill('SIGQUIT')
      if (!(await exitedWithin(proxy, 5000))) {
        proxy.kill('SIGTERM')
        await exitedWithin(proxy, 2000)
      }
      if (proxy.exitCode === null) proxy.kill('SIGKILL')
    }
    output()
    rmSync(prefix, { recursive: true, force: true })
    return proxy.exitCode
  }
  // nginx announces nothing when it is ready: poll, for long enough for a loaded machine.
  const deadline = Date.now() + 30_000
  for (;;) {
    if (proxy.exitCode !== null) {
      const text = output()
      await stop()
      throw new Error(`nginx exited with ${proxy.exitCode}:\n${text}`)
    }
    if (Date.now() > deadline) {
      const text = output()
      await stop()
      throw new Error(`nginx did not answer on ${probeUrl}:\n${text}`)
    }
    try {
      await fetch(probeUrl)
      break
    } catch {
      await Bun.sleep(25)
    }
  }
  return { output, stop }
}
