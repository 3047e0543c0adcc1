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

/**
 * Refuses flags that mean something only to another action of the command (`--mode` with
 * `key list`, say): silently ignored, they would let an operator think they had effect.
 */
export function refuseFlagsOf(action: string, values: Record<string, unknown>, flags: readonly string[]): void {
  const misplaced = flags.find((flag) => values[flag] !== undefined)
  if (misplaced !== undefined) throw new ConfigError(`--${misplaced} is for ${action} only`)
}

/** A subcommand: its help text and what it does; `run` resolves to the exit code. */
export interface Command {
  help: string
  run(argv: string[]): Promise<number>
}
