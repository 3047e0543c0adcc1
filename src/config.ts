/**
 * Configuration: flags > environment (`CODEPUSHGO_*`) > defaults. Invalid values throw a
 * ConfigError whose message is the one line the CLI prints.
 */
import { resolve } from 'node:path'

export class ConfigError extends Error {
  override name = 'ConfigError'
}

export const DEFAULT_HTTP = '127.0.0.1:8090'
export const DEFAULT_DIR = './codepushgo_data'

export interface ListenAddress {
  hostname: string
  port: number
}

/** `HOST:PORT` (IPv6 hosts in brackets: `[::1]:8090`). Port 0 picks a free port. */
export function parseListenAddress(value: string): ListenAddress {
  const match = /^(?:\[([0-9a-fA-F:.]+)\]|([^:\s]+)):(\d{1,5})$/.exec(value.trim())
  const port = match ? Number(match[3]) : Number.NaN
  if (!match || port > 65535) throw new ConfigError(`invalid --http address "${value}": expected HOST:PORT, e.g. 127.0.0.1:8090`)
  return { hostname: (match[1] ?? match[2])!, port }
}

export interface ServeConfig {
  http: ListenAddress
  dir: string
}

type Env = Record<string, string | undefined>

/** The data directory: `--dir`, else CODEPUSHGO_DIR, else ./codepushgo_data. */
export function resolveDir(flag: string | undefined, env: Env = process.env): string {
  const dir = flag ?? env.CODEPUSHGO_DIR ?? DEFAULT_DIR
  if (dir.trim() === '') throw new ConfigError('the data directory (--dir / CODEPUSHGO_DIR) must not be empty')
  return resolve(dir)
}

export function resolveServeConfig(flags: { http?: string; dir?: string }, env: Env = process.env): ServeConfig {
  return {
    http: parseListenAddress(flags.http ?? env.CODEPUSHGO_HTTP ?? DEFAULT_HTTP),
    dir: resolveDir(flags.dir, env),
  }
}
