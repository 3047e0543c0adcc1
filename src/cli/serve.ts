import { createApp } from '../app'
import { resolveServeConfig } from '../config'
import type { Core } from '../core'
import { closeDatabase } from '../db/database'
import { jsonLogger } from '../http/logger'
import { keepMemoryDown } from '../memory'
import { createUser } from '../modules/user/service'
import { VERSION } from '../version'
import { parseFlags, type Command } from './args'
import { openCore } from './open'

const help = `Usage: codepushgo serve [--http HOST:PORT] [--dir DIR] [options]

Migrates the database, creates a first user if there is none, and serves the API.

Options (each also as an environment variable):
  --http HOST:PORT               address to listen on
                                 (CODEPUSHGO_HTTP, default 127.0.0.1:8090)
  --dir DIR                      data directory (CODEPUSHGO_DIR, default ./codepushgo_data);
                                 created 0700, its database files 0600
  --max-key-lifetime-days N      every key must expire within N days
                                 (CODEPUSHGO_MAX_KEY_LIFETIME_DAYS, default: no limit)
  --key-rate-limit N/S           at most N requests per S seconds for keys without a
                                 rate_limit of their own (CODEPUSHGO_KEY_RATE_LIMIT, default off)
  --auth-failure-limit N/S       failed authentications allowed per client address; past
                                 it, further failures get 429 (valid keys still get in)
                                 (CODEPUSHGO_AUTH_FAILURE_LIMIT, default 100/60)
  --usage-flush-seconds N        how often last-use times and usage counts are written
                                 (CODEPUSHGO_USAGE_FLUSH_SECONDS, default 5)
  --usage-retention-days N       how many days of hourly usage counts per key are kept
                                 (CODEPUSHGO_USAGE_RETENTION_DAYS, default 90)
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

/** First run: an admin user, its org and an `all` key, printed once in a banner on stderr. */
function bootstrap(core: Core, url: string): void {
  if (core.store.users.count() > 0) return
  const { user, organization, apikey } = createUser(core, { email: 'admin@localhost', name: 'admin', orgName: 'Default' })
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
 * Keys written per transaction by the periodic last-use flush. In id order, a step of 200 keys
 * takes about 0.7 ms (10,000 at once took 70-110 ms; in first-use order, steps took 2-4 ms).
 * Usage counts are written, and pruned, in steps of as many rows.
 */
const USAGE_FLUSH_STEP = 200

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
      'max-key-lifetime-days': { type: 'string' },
      'key-rate-limit': { type: 'string' },
      'auth-failure-limit': { type: 'string' },
      'usage-flush-seconds': { type: 'string' },
      'usage-retention-days': { type: 'string' },
      metrics: { type: 'boolean' },
      'trusted-proxies': { type: 'string' },
    })
    const config = resolveServeConfig(values)
    const core = openCore(config.dir, config.policy, true)
    const log = jsonLogger()
    let stopping = false
    const activity = { answered: 0 }
    const app = createApp({
      ...core, log, version: VERSION, limits: config.limits, metrics: config.metrics, draining: () => stopping, activity,
      trustedProxies: config.trustedProxies,
    })
    const host = config.http.hostname.includes(':') ? `[${config.http.hostname}]` : config.http.hostname
    try {
      // reusePort: false — Elysia asks for SO_REUSEPORT, with which a second server on the same
      // port would share its clients (and answer them from its own data) instead of failing.
      app.listen({ hostname: config.http.hostname, port: config.http.port, reusePort: false })
    } catch (error) {
      closeDatabase(core.store.db)
      throw new Error(listenFailure(`${host}:${config.http.port}`, error))
    }
    /**
     * Last-use times are not worth dying for: a failed flush is logged and retried next time.
     * `limit` splits a large flush into a round of transactions of that many keys, one per turn
     * of the event loop, so requests are served between them: 10,000 keys written at once held the
     * loop for about 100 ms, which showed in the p99 (bench/RESULTS.md).
     */
    const flushUsage = (limit?: number): number => {
      try {
        return core.usage.flush(limit)
      } catch (error) {
        log.error({ msg: 'writing last-use times failed; kept for the next flush', error: String(error) })
        return 0
      }
    }
    const flushInSteps = () => {
      flushUsage(USAGE_FLUSH_STEP)
      if (core.usage.roundUnfinished) setImmediate(flushInSteps)
    }
    /** Usage counts likewise, and then the counts past the retention window, a slice per turn. */
    const { counts } = core.usage
    const flushCounts = (limit?: number): void => {
      try {
        counts.flush(limit)
      } catch (error) {
        log.error({ msg: 'writing usage counts failed; kept for the next flush', error: String(error) })
      }
    }
    const pruneInSteps = () => {
      if (stopping) return // the shutdown writes what is left, then closes the database
      try {
        if (counts.prune(config.usageRetentionDays, USAGE_FLUSH_STEP) === USAGE_FLUSH_STEP) setImmediate(pruneInSteps)
      } catch (error) {
        log.error({ msg: 'pruning old usage counts failed; retried at the next flush', error: String(error) })
      }
    }
    const countsInSteps = () => {
      if (stopping) return
      flushCounts(USAGE_FLUSH_STEP)
      setImmediate(counts.roundUnfinished ? countsInSteps : pruneInSteps)
    }
    const flusher = setInterval(() => {
      flushInSteps()
      countsInSteps()
    }, config.usageFlushSeconds * 1000)
    keepMemoryDown(() => activity.answered)
    const server = app.server!
    const browsable = host === '0.0.0.0' || host === '[::]' ? '127.0.0.1' : host
    const url = `http://${browsable}:${server.port}`
    bootstrap(core, url)
    log.info({ msg: 'listening', url, dir: config.dir, version: VERSION })
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
        flushUsage() // everything, in one go
        flushCounts()
        closeDatabase(core.store.db)
        log.info({ msg: 'stopped' })
        log.flush()
        resolveExit(0)
      }
      process.on('SIGTERM', () => void shutdown('SIGTERM'))
      process.on('SIGINT', () => void shutdown('SIGINT'))
    })
  },
}
