/**
 * A throwaway PostgreSQL cluster for tests (and benchmarks): Debian's server programs, a
 * temporary directory, a free loopback port, `fsync=off` (about a second to start). One cluster
 * per test file (`usePostgresCluster`), one fresh database per test (`createDatabase`, a cheap
 * copy of `template1`). `initdb` refuses to run as root, so as root every server program runs
 * as the `postgres` user (`runuser`), in a directory it owns. Without PostgreSQL installed the
 * tests skip with a notice, and fail when CI=true (`findPostgres`).
 *
 * Whatever happens, nothing outlives the test process: `afterAll` destroys the file's cluster,
 * and at exit (also after a failed test, an uncaught error, SIGINT or SIGTERM) every cluster
 * still running is stopped and its directory removed.
 */
import { SQL } from 'bun'
import { afterAll, beforeAll } from 'bun:test'
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { freePort } from './ports'
import { findProgram } from './system-program'

/** Where Debian installs each major version's server programs. */
const DEBIAN_ROOT = '/usr/lib/postgresql'

/**
 * The directory of PostgreSQL's server programs (`initdb`, `pg_ctl`), newest installed version
 * first; null (after the skip notice, or a failing test when CI=true) when there is none.
 * Call it at the top level of a test file, like `findProgram`.
 */
export function findPostgres(): string | null {
  const versions = existsSync(DEBIAN_ROOT) ? readdirSync(DEBIAN_ROOT).filter((v) => /^\d+$/.test(v)) : []
  versions.sort((a, b) => Number(b) - Number(a))
  const initdb = findProgram('initdb', versions.map((v) => join(DEBIAN_ROOT, v, 'bin', 'initdb')))
  return initdb ? dirname(initdb) : null
}

/** The superuser of every test cluster (`initdb -U`), whoever runs the tests; as root, also the account the server runs as. */
export const SUPERUSER = 'postgres'

const asRoot = process.getuid?.() === 0

/** The account the server runs as when the tests run as root. */
function postgresAccount(): { uid: number; gid: number } {
  const line = readFileSync('/etc/passwd', 'utf8').split('\n').find((l) => l.startsWith(`${SUPERUSER}:`))
  if (!line) throw new Error(`running as root, but there is no "${SUPERUSER}" user to run PostgreSQL as (Debian's postgresql package creates it)`)
  const [, , uid, gid] = line.split(':')
  return { uid: Number(uid), gid: Number(gid) }
}

/** `argv` as the server's account: through `runuser` when we are root, else directly. */
function asServerUser(argv: string[]): string[] {
  return asRoot ? ['runuser', '-u', SUPERUSER, '--', ...argv] : argv
}

async function run(argv: string[]): Promise<{ exitCode: number; output: string }> {
  const child = Bun.spawn(asServerUser(argv), { stdin: 'ignore', stdout: 'pipe', stderr: 'pipe' })
  const [stdout, stderr, exitCode] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited])
  return { exitCode, output: stdout + stderr }
}

/** Clusters not destroyed yet, for the cleanup at exit. */
const live = new Set<PostgresCluster>()
let exitHooked = false

/** At exit, stops what is still running (synchronously: an exit handler cannot wait). */
function hookExit(): void {
  if (exitHooked) return
  exitHooked = true
  process.on('exit', () => {
    for (const cluster of live) cluster.destroySync()
  })
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => process.exit(signal === 'SIGINT' ? 130 : 143))
  }
}

/** How often `start` tries another port when the one it picked was taken meanwhile. */
const START_ATTEMPTS = 5

export class PostgresCluster {
  private admin: SQL | null = null
  private databases = 0

  private constructor(
    private readonly bin: string,
    /** The temporary directory: the data directory `data`, the server log `log`, the unix socket. */
    readonly dir: string,
    /** The loopback TCP port; the unix socket is `<dir>/.s.PGSQL.<port>`. */
    public port: number,
    private readonly fsync: boolean,
  ) {}

  /**
   * Creates a cluster in a new temporary directory and starts it. `fsync: true` makes commits
   * durable, as in production (benchmarks of writes); tests leave it off, for speed.
   */
  static async start(bin: string, options: { fsync?: boolean } = {}): Promise<PostgresCluster> {
    const dir = mkdtempSync(join(tmpdir(), 'codepushgo-pg-'))
    const cluster = new PostgresCluster(bin, dir, 0, options.fsync ?? false)
    live.add(cluster)
    hookExit()
    try {
      if (asRoot) {
        const { uid, gid } = postgresAccount()
        chownSync(dir, uid, gid)
      }
      // C locale, UTF-8: the same ordering and case rules on every machine, whatever its LANG.
      const init = await run([join(bin, 'initdb'), '-D', cluster.dataDir, '-A', 'trust', '--no-sync', '-U', SUPERUSER, '-E', 'UTF8', '--locale=C'])
      if (init.exitCode !== 0) throw new Error(`initdb failed:\n${init.output}`)
      for (let attempt = 1; ; attempt++) {
        cluster.port = freePort()
        try {
          await cluster.startServer()
          break
        } catch (error) {
          // Another process may have taken the free port before the server bound it.
          if (attempt === START_ATTEMPTS || !cluster.log().includes('could not bind')) throw error
        }
      }
      return cluster
    } catch (error) {
      cluster.destroySync()
      throw error
    }
  }

  private get dataDir(): string {
    return join(this.dir, 'data')
  }

  /** The server's log so far (it explains a failed start). */
  log(): string {
    const path = join(this.dir, 'log')
    return existsSync(path) ? readFileSync(path, 'utf8') : ''
  }

  /** The URL of `database` over TCP. */
  url(database = 'postgres'): string {
    return `postgres://${SUPERUSER}@127.0.0.1:${this.port}/${database}`
  }

  /** The URL of `database` over the unix socket in `dir` (libpq's form: `host=` names the socket's directory). */
  socketUrl(database = 'postgres'): string {
    return `postgres://${SUPERUSER}@/${database}?host=${encodeURIComponent(this.dir)}&port=${this.port}`
  }

  /**
   * A new database, so that each test starts from nothing (a copy of `template`, by default the
   * empty `template1`, in a few milliseconds). Returns its URL; the test closes its own clients.
   */
  async createDatabase(template = 'template1'): Promise<string> {
    const name = `test_${++this.databases}`
    this.admin ??= new SQL(this.url(), { max: 1 })
    await this.admin.unsafe(`CREATE DATABASE ${name} TEMPLATE ${template}`)
    return this.url(name)
  }

  private async pgCtl(args: string[]): Promise<void> {
    const result = await run([join(this.bin, 'pg_ctl'), '-D', this.dataDir, ...args])
    if (result.exitCode !== 0) throw new Error(`pg_ctl ${args[0]} failed:\n${result.output}\n${this.log()}`)
  }

  private async startServer(): Promise<void> {
    // -w: return once the server accepts connections; -l: its output goes to the log file (not
    // to our pipes, which it would hold open for as long as it runs).
    const options = `-c listen_addresses=127.0.0.1 -p ${this.port} -k ${this.dir} -c fsync=${this.fsync ? 'on' : 'off'}`
    await this.pgCtl(['start', '-w', '-l', join(this.dir, 'log'), '-o', options])
  }

  /** Starts the server again after `stop`, on the same port. */
  async resume(): Promise<void> {
    await this.startServer()
  }

  /** Stops the server (`-m fast`: open sessions are ended); the data stays for `resume`. */
  async stop(): Promise<void> {
    await this.closeAdmin()
    await this.pgCtl(['stop', '-w', '-m', 'fast'])
  }

  /** Restarts the server as an operator would (`pg_ctl restart -m fast`): every session is ended. */
  async restart(): Promise<void> {
    await this.closeAdmin()
    await this.pgCtl(['restart', '-w', '-m', 'fast', '-l', join(this.dir, 'log')])
  }

  /** Stops the server and removes its directory. */
  async destroy(): Promise<void> {
    await this.closeAdmin()
    this.destroySync()
  }

  /** `destroy` for exit handlers: stops at once (`-m immediate`) and removes the directory. */
  destroySync(): void {
    if (!live.delete(this)) return
    if (existsSync(join(this.dataDir, 'postmaster.pid'))) {
      Bun.spawnSync(asServerUser([join(this.bin, 'pg_ctl'), '-D', this.dataDir, 'stop', '-w', '-m', 'immediate']), { stdout: 'ignore', stderr: 'ignore' })
    }
    rmSync(this.dir, { recursive: true, force: true })
  }

  private async closeAdmin(): Promise<void> {
    const admin = this.admin
    this.admin = null
    await admin?.close({ timeout: 0 })
  }
}

/**
 * One cluster for the calling test file: started in `beforeAll`, destroyed in `afterAll`.
 * Returns its getter (the cluster exists once `beforeAll` has run). Call it inside a
 * `describe.skipIf(!bin)` so that nothing starts when PostgreSQL is missing.
 */
export function usePostgresCluster(bin: string | null): () => PostgresCluster {
  let cluster: PostgresCluster | undefined
  beforeAll(async () => {
    if (!bin) throw new Error('PostgreSQL is not installed (guard the tests with describe.skipIf(!bin))')
    cluster = await PostgresCluster.start(bin)
  })
  afterAll(async () => {
    await cluster?.destroy()
  })
  return () => {
    if (!cluster) throw new Error('the PostgreSQL cluster is not started yet (use it inside a test or a hook)')
    return cluster
  }
}
