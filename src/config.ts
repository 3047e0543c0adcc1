/**
 * Configuration: flags > environment (`CODEPUSHGO_*`) > defaults. Invalid values throw a
 * ConfigError whose message is the one line the CLI prints.
 */
import { resolve } from 'node:path'
import { DEFAULT_AUTH_FAILURE_LIMIT, type GateLimits } from './access/gate'
import { parseRateLimit, type RateLimit } from './access/rate-limit'
import type { KeyPolicy } from './core'
import { parseTrustedProxies, type TrustedProxies } from './http/client-address'
import { DEFAULT_CACHE_MB } from './read-model/read-model'

export class ConfigError extends Error {
  override name = 'ConfigError'
}

export const DEFAULT_HTTP = '127.0.0.1:8090'
export const DEFAULT_DIR = './codepushgo_data'
export const DEFAULT_USAGE_RETENTION_DAYS = 90

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

/** Where the data lives: SQLite in a directory (the default), or a PostgreSQL database. */
export type DatabaseLocation = { kind: 'sqlite'; dir: string } | { kind: 'postgres'; url: string }

export interface ServeConfig {
  http: ListenAddress
  database: DatabaseLocation
  policy: KeyPolicy
  limits: GateLimits
  /** How often pending last-use times and usage counts are written. */
  usageFlushSeconds: number
  /** How many days of hourly usage counts are kept. */
  usageRetentionDays: number
  /** The read model's size, MiB. */
  cacheMb: number
  /** Audit events older than this many days are deleted; null: kept forever. */
  auditRetentionDays: number | null
  /** Serve GET /metrics. */
  metrics: boolean
  /** Proxies whose X-Forwarded-For names the client; null: the socket's peer is the client. */
  trustedProxies: TrustedProxies | null
}

/** The flags `serve` takes; each has a CODEPUSHGO_* environment variable. */
export interface ServeFlags {
  http?: string
  dir?: string
  'database-url'?: string
  'max-key-lifetime-days'?: string
  'key-rate-limit'?: string
  'auth-failure-limit'?: string
  'usage-flush-seconds'?: string
  'usage-retention-days'?: string
  'cache-mb'?: string
  'audit-retention-days'?: string
  metrics?: boolean
  'trusted-proxies'?: string
}

type Env = Record<string, string | undefined>

/** The data directory: `--dir`, else CODEPUSHGO_DIR, else ./codepushgo_data. */
export function resolveDir(flag: string | undefined, env: Env = process.env): string {
  const dir = flag ?? env.CODEPUSHGO_DIR ?? DEFAULT_DIR
  if (dir.trim() === '') throw new ConfigError('the data directory (--dir / CODEPUSHGO_DIR) must not be empty')
  return resolve(dir)
}

/**
 * The database: `--database-url` (or CODEPUSHGO_DATABASE_URL) selects PostgreSQL, e.g.
 * `postgres://user:password@host:5432/db` or, over a unix socket,
 * `postgres://user@/db?host=/run/postgresql`; without it, SQLite in the data directory.
 */
export function resolveDatabase(flags: { dir?: string; 'database-url'?: string }, env: Env = process.env): DatabaseLocation {
  const url = flags['database-url'] ?? env.CODEPUSHGO_DATABASE_URL
  if (url === undefined || (flags['database-url'] === undefined && url.trim() === '')) return { kind: 'sqlite', dir: resolveDir(flags.dir, env) }
  if (!/^postgres(ql)?:\/\/\S*$/.test(url.trim()))
    throw new ConfigError('invalid --database-url: expected postgres://USER:PASSWORD@HOST:PORT/DATABASE (or postgres://USER@/DATABASE?host=/socket/dir)')
  if (flags.dir !== undefined) throw new ConfigError('--dir and --database-url exclude each other: the data is in one or the other')
  return { kind: 'postgres', url: url.trim() }
}

/** A whole number in [min, max] from a flag or its environment variable. */
function wholeNumber(value: string, name: string, min: number, max: number): number {
  const n = /^\d{1,9}$/.test(value.trim()) ? Number(value) : Number.NaN
  if (!(n >= min && n <= max)) throw new ConfigError(`invalid ${name} "${value}": expected a whole number from ${min} to ${max}`)
  return n
}

/** An on/off environment variable: 1/true/yes or 0/false/no (unset: off). */
function switchOn(value: string | undefined, name: string): boolean {
  if (value === undefined || /^(0|false|no|off|)$/i.test(value.trim())) return false
  if (/^(1|true|yes|on)$/i.test(value.trim())) return true
  throw new ConfigError(`invalid ${name} "${value}": expected 1 or 0`)
}

function trustedProxies(value: string): TrustedProxies {
  const proxies = parseTrustedProxies(value)
  if ('invalid' in proxies)
    throw new ConfigError(`invalid --trusted-proxies entry "${proxies.invalid}": expected IP addresses or CIDR ranges, comma-separated, e.g. 127.0.0.1,10.0.0.0/8`)
  return proxies
}

function rateLimit(value: string, name: string): RateLimit {
  const limit = parseRateLimit(value)
  if (!limit) throw new ConfigError(`invalid ${name} "${value}": expected REQUESTS/SECONDS, e.g. 100/60`)
  return limit
}

/**
 * The key policy (--max-key-lifetime-days, --key-rate-limit and their CODEPUSHGO_* variables),
 * for every command that makes keys.
 */
export function resolveKeyPolicy(flags: Pick<ServeFlags, 'max-key-lifetime-days' | 'key-rate-limit'>, env: Env = process.env): KeyPolicy {
  const days = flags['max-key-lifetime-days'] ?? env.CODEPUSHGO_MAX_KEY_LIFETIME_DAYS
  const keyRate = flags['key-rate-limit'] ?? env.CODEPUSHGO_KEY_RATE_LIMIT
  return {
    maxKeyLifetimeDays: days === undefined ? null : wholeNumber(days, '--max-key-lifetime-days', 1, 36_500),
    keyRateLimit: keyRate === undefined ? null : rateLimit(keyRate, '--key-rate-limit'),
  }
}

export function resolveServeConfig(flags: ServeFlags, env: Env = process.env): ServeConfig {
  const authFailures = flags['auth-failure-limit'] ?? env.CODEPUSHGO_AUTH_FAILURE_LIMIT
  const flush = flags['usage-flush-seconds'] ?? env.CODEPUSHGO_USAGE_FLUSH_SECONDS
  const usageRetention = flags['usage-retention-days'] ?? env.CODEPUSHGO_USAGE_RETENTION_DAYS
  const proxies = flags['trusted-proxies'] ?? env.CODEPUSHGO_TRUSTED_PROXIES
  const cacheMb = flags['cache-mb'] ?? env.CODEPUSHGO_CACHE_MB
  const auditRetention = flags['audit-retention-days'] ?? env.CODEPUSHGO_AUDIT_RETENTION_DAYS
  return {
    http: parseListenAddress(flags.http ?? env.CODEPUSHGO_HTTP ?? DEFAULT_HTTP),
    database: resolveDatabase(flags, env),
    policy: resolveKeyPolicy(flags, env),
    limits: {
      authFailureLimit: authFailures === undefined ? DEFAULT_AUTH_FAILURE_LIMIT : rateLimit(authFailures, '--auth-failure-limit'),
    },
    usageFlushSeconds: flush === undefined ? 5 : wholeNumber(flush, '--usage-flush-seconds', 1, 3600),
    usageRetentionDays: usageRetention === undefined ? DEFAULT_USAGE_RETENTION_DAYS : wholeNumber(usageRetention, '--usage-retention-days', 1, 36_500),
    cacheMb: cacheMb === undefined ? DEFAULT_CACHE_MB : wholeNumber(cacheMb, '--cache-mb', 1, 65_536),
    auditRetentionDays: auditRetention === undefined ? null : wholeNumber(auditRetention, '--audit-retention-days', 1, 36_500),
    metrics: flags.metrics ?? switchOn(env.CODEPUSHGO_METRICS, 'CODEPUSHGO_METRICS'),
    trustedProxies: proxies === undefined ? null : trustedProxies(proxies),
  }
}
