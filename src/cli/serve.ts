import { join } from 'node:path'
import { createApp } from '../app'
import { resolveServeConfig } from '../config'
import type { Core } from '../core'
import { startBackground } from '../store/sqlite/background'
import { DATABASE_FILE } from '../store/sqlite/database'
import type { SqliteStore } from '../store/sqlite/store'
import { jsonLogger } from '../http/logger'
import { apart, inSlices } from '../maintenance'
import { keepMemoryDown } from '../memory'
import { pruneAuditSlice } from '../modules/audit/retention'
import { createFirstUser } from '../modules/user/service'
import { VERSION } from '../version'
import { parseFlags, type Command } from './args'
import { describeLocation, openCore } from './open'

const help = `Usage: codepushgo serve [--http HOST:PORT] [--dir DIR | --database-url URL] [options]

Migrates the database, creates a first user if there is none, and serves the API.

Options (each also as an environment variable):
  --http HOST:PORT               address to listen on
                                 (CODEPUSHGO_HTTP, default 127.0.0.1:8090)
  --dir DIR                      data directory (CODEPUSHGO_DIR, default ./codepushgo_data);
                                 created 0700, its database files 0600
  --database-url URL             PostgreSQL instead of SQLite, for several instances on one
                                 database (CODEPUSHGO_DATABASE_URL): postgres://USER:PASSWORD@
                                 HOST:PORT/DATABASE, or postgres://USER@/DATABASE?host=/run/
                                 postgresql over a unix socket
  --max-key-lifetime-days N      every key must expire within N days
                                 (CODEPUSHGO_MAX_KEY_LIFETIME_DAYS, default: no limit)
  --key-rate-limit N/S           at most N requests per S seconds for keys without a
                                 rate_limit of their own (CODEPUSHGO_KEY_RATE_LIMIT, default off)
  --auth-failure-limit N/S       failed authentications allowed per client address; past
                                 it, further failures get 429 (valid keys still get in)
                                 (CODEPUSHGO_AUTH_FAILURE_LIMIT, default 100/60)
  --usage-flush-seconds N        how often last-use times and usage counts are written,
                                 at most 5,000 keys a second
                                 (CODEPUSHGO_USAGE_FLUSH_SECONDS, default 5)
  --usage-retention-days N       how many days of hourly usage counts per key are kept
                                 (CODEPUSHGO_USAGE_RETENTION_DAYS, default 90)
  --cache-mb N                   memory for keys, memberships, apps and lists kept
                                 between requests, in MiB; about 900 bytes a key, so
                                 the default holds some 140,000 keys in use
                                 (CODEPUSHGO_CACHE_MB, default 128)
  --audit-retention-days N       delete audit events older than N days
                                 (CODEPUSHGO_AUDIT_RETENTION_DAYS, default: keep them)
  --metrics                      serve GET /metrics in the Prometheus text format,
                                 unauthenticated (CODEPUSHGO_METRICS=1, default off)
  --trusted-proxies LIST         reverse proxies (IPs or CIDR ranges, comma-separated) whose
                                 X-Forwarded-For names the client, for the failed-
                                 authentication throttle, last use and the audit log
                                 (CODEPUSHGO_TRUSTED_PROXIES, default none: the socket's peer)
  -h, --help                     show this help

An address already in use (by another server, whatever its --dir) or not on this machine
stops serve with one line and exit code 1.

On first run it creates admin@localhost with an org "Default" and prints an \`all\` API key
once, on stderr. SIGTERM or SIGINT stop it gracefully; a second signal forces the exit.
`

/**
 * First run: an admin user, its org and an `all` key, printed once in a banner on stderr. Of
 * several instances starting together on one empty database, one makes them.
 */
async function bootstrap(core: Core, url: string): Promise<void> {
  if ((await core.store.users.count()) > 0) return
  const created = await createFirstUser(core, { email: 'admin@localhost', name: 'admin', orgName: 'Default' })
  if (created === null) return
  const { user, organization, apikey } = created
  const line = '='.repeat(72)
  process.stderr.write(
    `${line}\n  CodePushGo first run: created user ${user.email} and org "${organization.name}".\n\n` +
      `  Your API key (mode "all"), shown only this once:\n\n      CODEPUSHGO_KEY=${apikey.key}\n\n` +
      `  Try it:  curl -H "authorization: $CODEPUSHGO_KEY" ${url}/apikey/\n` +
      `  Console: ${url}/console (paste the key to sign in)\n` +
      `  Docs:    ${url}/swagger\n${line}\n`,
  )
}

/**
 * Keys written per transaction by the periodic last-use flush, and at most how many a second.
 * A key's write costs about 10 us on the benchmark's wide database, with the checkpoint of the
 * pages it changed: at 5,000 a second, last use takes at most some 5% of the server's time,
 * however many keys are in use; with more than 5,000 a second in use, a key's last use is
 * written every (keys in use / 5,000) seconds instead (docs/performance.md, "Last use").
 * Usage counts are written, and pruned, in slices of as many rows.
 */
const USAGE_FLUSH_STEP = 100
const USAGE_WRITES_PER_SECOND = 5_000
/** How often audit retention looks for events to delete. */
const RETENTION_CHECK_MS = 10 * 60 * 1000

const DRAIN_MIN_MS = 250
const DRAIN_MAX_MS = 3000

/**
 * Before stopping, keep serving for a moment with `Connection: close` on every answer: a
 * request already written on a keep-alive connection (a proxy's, say) gets its answer
 * instead of a reset. Ends when nothing is in flight, within DRAIN_MAX_MS.
 */
async function drain(server: { pendingRequests: number }): Promise<void> {
  const started = Date.now()
  while (Date.now() - started < DRAIN_MAX_MS) {
    if (Date.now() - started >= DRAIN_MIN_MS && server.pendingRequests === 0) return
    await Bun.sleep(25)
  }
}

/** Why the address could not be listened on, in words an operator acts on. */
function listenFailure(address: string, error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code
  if (code === 'EADDRINUSE') return `cannot listen on ${address}: the address is already in use (is another server running there?)`
  if (code === 'EADDRNOTAVAIL') return `cannot listen on ${address}: no network interface of this machine has that address`
  if (code === 'EACCES') return `cannot listen on ${address}: permission denied (ports below 1024 need privileges)`
  return `cannot listen on ${address}: ${(error as Error).message}`
}

export const serve: Command = {
  help,
  async run(argv) {
    const { values } = parseFlags(argv, {
      http: { type: 'string' },
      dir: { type: 'string' },
      'database-url': { type: 'string' },
      'max-key-lifetime-days': { type: 'string' },
      'key-rate-limit': { type: 'string' },
      'auth-failure-limit': { type: 'string' },
      'usage-flush-seconds': { type: 'string' },
      'usage-retention-days': { type: 'string' },
      'cache-mb': { type: 'string' },
      'audit-retention-days': { type: 'string' },
      metrics: { type: 'boolean' },
      'trusted-proxies': { type: 'string' },
    })
    const config = resolveServeConfig(values)
    const core = await openCore(config.database, config.policy, { recordPolicy: true, cacheMb: config.cacheMb })
    const log = jsonLogger()
    const store = core.store
    const { database } = config
    const background =
      database.kind === 'sqlite'
        ? startBackground((store as SqliteStore).db, join(database.dir, DATABASE_FILE), (error) => log.error({ msg: 'background database work failed', error }))
        : null
    let stopping = false
    const activity = { answered: 0 }
    const app = createApp({
      ...core, log, version: VERSION, limits: config.limits, metrics: config.metrics, draining: () => stopping, activity,
      trustedProxies: config.trustedProxies, background,
    })
    const host = config.http.hostname.includes(':') ? `[${config.http.hostname}]` : config.http.hostname
    try {
      // reusePort: false — Elysia asks for SO_REUSEPORT, with which a second server on the same
      // port would share its clients (and answer them from its own data) instead of failing.
      app.listen({ hostname: config.http.hostname, port: config.http.port, reusePort: false })
    } catch (error) {
      await background?.stop()
      await store.close()
      throw new Error(listenFailure(`${host}:${config.http.port}`, error))
    }
    // Last-use times, usage counts and retention are not worth dying for: a failed slice is
    // logged, and the work is taken up again next time. Each runs one chain of slices at a time.
    const failed = (msg: string) => (error: unknown) => log.error({ msg, error: String(error) })
    const flushUsage = inSlices(
      async () => {
        await core.usage.flush(USAGE_FLUSH_STEP)
        return core.usage.roundUnfinished
      },
      failed('writing last-use times failed; kept for the next flush'),
      apart((USAGE_FLUSH_STEP / USAGE_WRITES_PER_SECOND) * 1000),
    )
    const { counts } = core.usage
    const pruneCounts = inSlices(
      async () => !stopping && (await counts.prune(config.usageRetentionDays, USAGE_FLUSH_STEP)) === USAGE_FLUSH_STEP,
      failed('pruning old usage counts failed; retried at the next flush'),
    )
    const flushCounts = inSlices(
      async () => {
        if (stopping) return false
        await counts.flush(USAGE_FLUSH_STEP)
        if (counts.roundUnfinished) return true
        void pruneCounts()
        return false
      },
      failed('writing usage counts failed; kept for the next flush'),
    )
    const flusher = setInterval(() => {
      void flushUsage()
      void flushCounts()
    }, config.usageFlushSeconds * 1000)
    const days = config.auditRetentionDays
    let pruner: ReturnType<typeof setInterval> | null = null
    if (days !== null) {
      const prune = inSlices(() => pruneAuditSlice(core, days), failed('deleting old audit events failed'))
      void prune()
      pruner = setInterval(() => void prune(), RETENTION_CHECK_MS)
    }
    keepMemoryDown(() => activity.answered)
    const server = app.server!
    const browsable = host === '0.0.0.0' || host === '[::]' ? '127.0.0.1' : host
    const url = `http://${browsable}:${server.port}`
    await bootstrap(core, url)
    log.info({ msg: 'listening', url, database: describeLocation(config.database), version: VERSION })
    log.flush() // whoever started the server may be waiting for this line

    return new Promise<number>((resolveExit) => {
      const shutdown = async (signal: string) => {
        if (stopping) {
          log.info({ msg: 'second signal, exiting now', signal })
          log.flush()
          process.exit(1)
        }
        stopping = true
        log.info({ msg: 'shutting down', signal })
        await drain(server)
        await server.stop() // stop accepting; in-flight requests finish
        clearInterval(flusher)
        if (pruner !== null) clearInterval(pruner)
        // Everything left, in one go.
        await core.usage.flush().catch(failed('writing last-use times failed at shutdown'))
        await counts.flush().catch(failed('writing usage counts failed at shutdown'))
        await background?.stop()
        await store.close()
        log.info({ msg: 'stopped' })
        log.flush()
        resolveExit(0)
      }
      process.on('SIGTERM', () => void shutdown('SIGTERM'))
      process.on('SIGINT', () => void shutdown('SIGINT'))
    })
  },
}
