import { createApp } from '../app'
import { resolveServeConfig } from '../config'
import type { Core } from '../core'
import { closeDatabase } from '../db/database'
import { jsonLogger } from '../http/logger'
import { createUser } from '../modules/user/service'
import { VERSION } from '../version'
import { parseFlags, type Command } from './args'
import { openCore } from './open'

const help = `Usage: codepushgo serve [--http HOST:PORT] [--dir DIR]

Migrates the database, creates a first user if there is none, and serves the API.

Options:
  --http HOST:PORT  address to listen on (env CODEPUSHGO_HTTP, default 127.0.0.1:8090)
  --dir DIR         data directory (env CODEPUSHGO_DIR, default ./codepushgo_data)
  -h, --help        show this help

On first run it creates admin@localhost with an org "Default" and prints an \`all\` API key
once, on stderr. SIGTERM or SIGINT stop it gracefully; a second signal forces the exit.
`

/** First run: an admin user, its org and an `all` key, printed once in a banner on stderr. */
function bootstrap(core: Core, docsUrl: string): void {
  if (core.store.users.count() > 0) return
  const { user, organization, apikey } = createUser(core, { email: 'admin@localhost', name: 'admin', orgName: 'Default' })
  const line = '='.repeat(72)
  process.stderr.write(
    `${line}\n  CodePushGo first run: created user ${user.email} and org "${organization.name}".\n\n` +
      `  Your API key (mode "all"), shown only this once:\n\n      CODEPUSHGO_KEY=${apikey.key}\n\n` +
      `  Try it:  curl -H "authorization: $CODEPUSHGO_KEY" ${docsUrl.replace('/swagger', '/apikey/')}\n` +
      `  Docs:    ${docsUrl}\n${line}\n`,
  )
}

export const serve: Command = {
  help,
  async run(argv) {
    const { values } = parseFlags(argv, { http: { type: 'string' }, dir: { type: 'string' } })
    const config = resolveServeConfig(values)
    const core = openCore(config.dir)
    const log = jsonLogger()
    const app = createApp({ ...core, log, version: VERSION }).listen({ hostname: config.http.hostname, port: config.http.port })
    const server = app.server!
    const host = config.http.hostname.includes(':') ? `[${config.http.hostname}]` : config.http.hostname
    const browsable = host === '0.0.0.0' || host === '[::]' ? '127.0.0.1' : host
    const url = `http://${browsable}:${server.port}`
    bootstrap(core, `${url}/swagger`)
    log.info({ msg: 'listening', url, dir: config.dir, version: VERSION })

    return new Promise<number>((resolveExit) => {
      let stopping = false
      const shutdown = async (signal: string) => {
        if (stopping) {
          log.info({ msg: 'second signal, exiting now', signal })
          process.exit(1)
        }
        stopping = true
        log.info({ msg: 'shutting down', signal })
        await server.stop() // stop accepting; in-flight requests finish
        // Elysia writes request log lines just after each response: let the last ones out.
        await new Promise((resolve) => setImmediate(resolve))
        closeDatabase(core.store.db)
        log.info({ msg: 'stopped' })
        resolveExit(0)
      }
      process.on('SIGTERM', () => void shutdown('SIGTERM'))
      process.on('SIGINT', () => void shutdown('SIGINT'))
    })
  },
}
