#!/usr/bin/env bun
/** The `codepushgo` command: dispatches to a subcommand; errors are one line, never a trace. */
import type { Command } from './cli/args'
import { backup } from './cli/backup'
import { healthcheck } from './cli/healthcheck'
import { key } from './cli/key'
import { migrate } from './cli/migrate'
import { serve } from './cli/serve'
import { user } from './cli/user'
import { ConfigError } from './config'
import { VERSION } from './version'

const usage = `codepushgo ${VERSION} — self-hosted CodePushGo API key server

Usage: codepushgo <command> [options]

Commands:
  serve         serve the API (default address 127.0.0.1:8090, data in ./codepushgo_data)
  migrate       apply pending database migrations
  user create   create a user with an org and an \`all\` API key (JSON on stdout)
  user list     list users (JSON)
  key list      list a user's keys, masked (JSON): key list --email EMAIL
  key create    a new key for a user who has none that works: key create --email EMAIL
  key revoke    revoke a key by its numeric id: key revoke ID
  backup        write a consistent copy of the database, safe while serve runs: backup FILE
  healthcheck   exit 0 if the server's /health answers ok
  version       print the version

Run "codepushgo <command> --help" for a command's options.
`

const version: Command = {
  help: 'Usage: codepushgo version\n\nPrints the version.\n',
  async run() {
    process.stdout.write(`${VERSION}\n`)
    return 0
  },
}

const commands: Record<string, Command> = { serve, migrate, user, key, backup, healthcheck, version }

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv
  if (name === undefined || name === 'help' || name === '--help' || name === '-h') {
    process.stdout.write(usage)
    return 0
  }
  if (name === '--version') return version.run([])
  const command = commands[name]
  if (!command) {
    process.stderr.write(`codepushgo: unknown command "${name}" (run "codepushgo --help" for the list)\n`)
    return 2
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(command.help)
    return 0
  }
  try {
    return await command.run(rest)
  } catch (error) {
    // One clear line, never a stack trace (set CODEPUSHGO_DEBUG=1 to see one).
    if (process.env.CODEPUSHGO_DEBUG) console.error(error)
    process.stderr.write(`codepushgo ${name}: ${(error as Error).message ?? String(error)}\n`)
    return error instanceof ConfigError ? 2 : 1
  }
}

process.exit(await main(process.argv.slice(2)))
