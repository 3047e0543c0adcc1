import { describe, expect, test } from 'bun:test'
import { ConfigError, parseListenAddress, resolveServeConfig } from '../src/config'
import { describeLocation } from '../src/cli/open'

describe('configuration: flags > environment > defaults', () => {
  test('defaults', () => {
    const config = resolveServeConfig({}, {})
    expect(config.http).toEqual({ hostname: '127.0.0.1', port: 8090 })
    expect(config.database).toEqual({ kind: 'sqlite', dir: expect.stringMatching(/\/codepushgo_data$/) })
    expect(config.policy).toEqual({ maxKeyLifetimeDays: null, keyRateLimit: null })
    expect(config.limits).toEqual({ authFailureLimit: { requests: 100, per_seconds: 60 } })
    expect(config.usageFlushSeconds).toBe(5)
    expect(config.usageRetentionDays).toBe(90)
    expect(config.cacheMb).toBe(128)
    expect(config.auditRetentionDays).toBeNull()
    expect(config.metrics).toBe(false)
    expect(config.trustedProxies).toBeNull()
  })

  test('trusted proxies, from the environment or the flag', () => {
    const fromEnv = resolveServeConfig({}, { CODEPUSHGO_TRUSTED_PROXIES: '10.0.0.0/8, ::1' })!.trustedProxies!
    expect([fromEnv.check('10.9.9.9', 'ipv4'), fromEnv.check('::1', 'ipv6'), fromEnv.check('11.0.0.1', 'ipv4')]).toEqual([true, true, false])
    const fromFlag = resolveServeConfig({ 'trusted-proxies': '127.0.0.1' }, { CODEPUSHGO_TRUSTED_PROXIES: '10.0.0.0/8' })!.trustedProxies!
    expect([fromFlag.check('127.0.0.1', 'ipv4'), fromFlag.check('10.9.9.9', 'ipv4')]).toEqual([true, false])
    expect(() => resolveServeConfig({ 'trusted-proxies': '127.0.0.1,nginx' }, {})).toThrow('invalid --trusted-proxies entry "nginx"')
  })

  test('environment, then flags over it', () => {
    const env = {
      CODEPUSHGO_HTTP: '0.0.0.0:9000', CODEPUSHGO_DIR: '/data', CODEPUSHGO_MAX_KEY_LIFETIME_DAYS: '90',
      CODEPUSHGO_KEY_RATE_LIMIT: '100/60', CODEPUSHGO_AUTH_FAILURE_LIMIT: '10/60', CODEPUSHGO_USAGE_FLUSH_SECONDS: '2', CODEPUSHGO_METRICS: '1',
      CODEPUSHGO_USAGE_RETENTION_DAYS: '30',
      CODEPUSHGO_CACHE_MB: '256', CODEPUSHGO_AUDIT_RETENTION_DAYS: '365',
    }
    const fromEnv = resolveServeConfig({}, env)
    expect(fromEnv).toMatchObject({
      http: { hostname: '0.0.0.0', port: 9000 }, database: { kind: 'sqlite', dir: '/data' }, policy: { maxKeyLifetimeDays: 90, keyRateLimit: { requests: 100, per_seconds: 60 } },
      limits: { authFailureLimit: { requests: 10, per_seconds: 60 } },
      usageFlushSeconds: 2, usageRetentionDays: 30, metrics: true, cacheMb: 256, auditRetentionDays: 365,
    })
    const fromFlags = resolveServeConfig(
      { http: '[::1]:1', 'max-key-lifetime-days': '7', 'key-rate-limit': '5/1', 'usage-retention-days': '365', 'cache-mb': '8', 'audit-retention-days': '30' },
      env,
    )
    expect(fromFlags).toMatchObject({
      http: { hostname: '::1', port: 1 }, policy: { maxKeyLifetimeDays: 7, keyRateLimit: { requests: 5, per_seconds: 1 } },
      usageRetentionDays: 365, cacheMb: 8, auditRetentionDays: 30,
    })
  })

  test('the database: SQLite in the directory unless a PostgreSQL URL is given, by flag or environment', () => {
    const url = 'postgres://keys:secret@db.internal:5432/keys'
    const socket = 'postgresql://keys@/keys?host=/run/postgresql'
    expect(resolveServeConfig({}, { CODEPUSHGO_DIR: '/data' }).database).toEqual({ kind: 'sqlite', dir: '/data' })
    expect(resolveServeConfig({}, { CODEPUSHGO_DATABASE_URL: url, CODEPUSHGO_DIR: '/data' }).database).toEqual({ kind: 'postgres', url })
    expect(resolveServeConfig({ 'database-url': socket }, { CODEPUSHGO_DATABASE_URL: url }).database).toEqual({ kind: 'postgres', url: socket })
    // An empty variable is unset (as in a compose file's `CODEPUSHGO_DATABASE_URL=`); an empty flag is a mistake.
    expect(resolveServeConfig({}, { CODEPUSHGO_DATABASE_URL: '' }).database.kind).toBe('sqlite')
  })

  test.each([
    [{ http: '127.0.0.1' }],
    [{ http: 'localhost:70000' }],
    [{ http: ':8090' }],
    [{ 'max-key-lifetime-days': '0' }],
    [{ 'max-key-lifetime-days': 'ten' }],
    [{ 'key-rate-limit': '100' }],
    [{ 'key-rate-limit': '0/60' }],
    [{ 'auth-failure-limit': '-1/60' }],
    [{ 'usage-flush-seconds': '0' }],
    [{ 'usage-retention-days': '0' }],
    [{ 'usage-retention-days': '90d' }],
    [{ 'cache-mb': '0' }],
    [{ 'cache-mb': '1.5' }],
    [{ 'cache-mb': '65537' }],
    [{ 'audit-retention-days': '0' }],
    [{ 'audit-retention-days': 'forever' }],
    [{ dir: ' ' }],
    [{ 'database-url': 'mysql://db/keys' }],
    [{ 'database-url': '' }],
    [{ 'database-url': 'postgres://db/keys', dir: '/data' }],
    [{ 'trusted-proxies': '' }],
    [{ 'trusted-proxies': '10.0.0.0/33' }],
    [{ 'trusted-proxies': '10.0.0.1/8/8' }],
    [{ 'trusted-proxies': 'fd00::/129' }],
    [{ 'trusted-proxies': '10.0.0.1,' }],
  ])('%j is a ConfigError with one clear line', (flags) => {
    expect(() => resolveServeConfig(flags, {})).toThrow(ConfigError)
    try {
      resolveServeConfig(flags, {})
    } catch (error) {
      expect((error as Error).message).not.toContain('\n')
    }
  })

  test('an unclear on/off variable is an error, not a guess', () => {
    expect(() => resolveServeConfig({}, { CODEPUSHGO_METRICS: 'maybe' })).toThrow(ConfigError)
    expect(resolveServeConfig({}, { CODEPUSHGO_METRICS: 'off' }).metrics).toBe(false)
  })

  test('listen addresses', () => {
    expect(parseListenAddress('localhost:0')).toEqual({ hostname: 'localhost', port: 0 })
    expect(parseListenAddress('[::]:8090')).toEqual({ hostname: '::', port: 8090 })
  })
})

describe('the database named in logs and messages', () => {
  test.each([
    ['postgres://keys:s3cret@db:5432/keys', 'postgres://keys:***@db:5432/keys'],
    ['postgres://keys@db/keys?password=s3cret&sslmode=require', 'postgres://keys@db/keys?password=***&sslmode=require'],
  ])('%s is shown without its password', (url, shown) => {
    expect(describeLocation({ kind: 'postgres', url })).toBe(shown)
  })
})
