/** Shared helpers of the subcommands: flag parsing that fails with one clear line. */
import { parseArgs, type ParseArgsConfig } from 'node:util'
import { ConfigError } from '../config'

/** Parses `argv` with the given options; an unknown flag or a missing value is a ConfigError. */
export function parseFlags<T extends NonNullable<ParseArgsConfig['options']>>(argv: string[], options: T) {
  try {
    return parseArgs({ args: argv, options: { ...options, help: { type: 'boolean', short: 'h' } }, allowPositionals: true, strict: true })
  } catch (error) {
    throw new ConfigError((error as Error).message.split('\n')[0]!)
  }
}

/** A subcommand: its help text and what it does; `run` resolves to the exit code. */
export interface Command {
  help: string
  run(argv: string[]): Promise<number>
}
