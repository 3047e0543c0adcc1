/**
 * The PostgreSQL adapter of the store (src/store/types.ts), for several instances on one
 * database (SPEC §11). Answers are promises.
 *
 * - Reads outside `write` go to a pool of read-only sessions (`default_transaction_read_only`:
 *   a write there is refused by the server) and see what is committed.
 * - `write` is a real transaction on a pool of its own. Its first statement bumps the commit
 *   counter (migration 0003): the row lock makes writers take turns across instances, so the
 *   services' check-then-write holds as on SQLite, and numbers the commit. Its last statements
 *   send the notes its repositories pushed in NOTIFYs, delivered only if it commits; once committed,
 *   the notes go to this instance's `onCommit` listeners.
 * - Other instances' notes come through the CommitFeed (commit-feed.ts), pushed to the same
 *   listeners; the read model polls nothing (`feed.foreignCommits()` is always false).
 * - Rate limit buckets are shared (buckets.ts).
 * - Bun's client has no query timeout: every call races a deadline, so that a server that
 *   stops answering costs a 503 (`isDatabaseUnavailable`), not a request that hangs.
 */
import { SQL } from 'bun'
import { AsyncLocalStorage } from 'node:async_hooks'
import { conflict, notFound } from '../../errors'
import { EVERYTHING } from '../../read-model/changes'
import { DatabaseDeadlineError, isDatabaseUnavailable } from '../database-errors'
import type { Change } from '../../read-model/changes'
import type { Repos, Store } from '../types'
import { apiKeyRepository } from './apikeys'
import { appRepository } from './apps'
import { auditRepository } from './audit'
import { postgresBuckets, type PostgresBuckets } from './buckets'
import { CommitFeed, COMMITS_CHANNEL, noticePayloads } from './commit-feed'
import { keyPolicyRepository } from './key-policies'
import { migratePostgres } from './migrate'
import { organizationRepository } from './orgs'
import { usageRepository } from './usage'
import { userRepository } from './users'

export interface PostgresStoreOptions {
  /** How often the commit counter is read, to converge when a notification was lost (ms; default 50). */
  pollMs?: number
  /** How long a commit seen by the poll may wait for its notification before everything goes (ms; default 20). */
  graceMs?: number
  /** The longest any call may take before it fails as `database unavailable` (ms; default 5,000). */
  deadlineMs?: number
  /** How long opening a connection may take (seconds; Bun's default is 30). */
  connectionTimeout?: number
  /**
   * Connections (opened when needed) for reads (default 8), write transactions (default 4:
   * writers take turns anyway) and rate limit buckets (default 4, apart, so that writers
   * waiting for their turn never hold up a request's take).
   */
  readConnections?: number
  writeConnections?: number
  bucketConnections?: number
  /** `application_name` of the sessions (pg_stat_activity). */
  applicationName?: string
}

/** How long after the server's own deadline (statement_timeout) a write stops waiting for it. */
const CLIENT_DEADLINE_GRACE_MS = 1_000

/** A PostgreSQL store, with what only it has. */
export interface PostgresStore extends Store {
  readonly backend: 'postgres'
  readonly buckets: PostgresBuckets
  /** This instance's id, in its notifications. */
  readonly instanceId: string
}

/** `promise`, or a DatabaseDeadlineError once `ms` have passed. */
function withDeadline<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: Timer | undefined
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new DatabaseDeadlineError(ms)), ms)
  })
  return Promise.race([promise, expired]).finally(() => clearTimeout(timer))
}

/** The repositories on one connection handle (the read pool, or a transaction). */
function repositories(sql: SQL, note: (change: Change) => void): Repos {
  return {
    users: userRepository(sql),
    orgs: organizationRepository(sql, note),
    apps: appRepository(sql, note),
    apikeys: apiKeyRepository(sql, note),
    audit: auditRepository(sql),
    keyPolicies: keyPolicyRepository(sql, note),
    usage: usageRepository(sql),
  }
}

/** `repos` with every call raced against the deadline. */
function withDeadlines(repos: Repos, ms: number): Repos {
  const wrap = <R extends object>(repo: R): R =>
    Object.fromEntries(
      Object.entries(repo).map(([name, method]) => [name, (...args: unknown[]) => withDeadline((method as (...a: unknown[]) => Promise<unknown>)(...args), ms)]),
    ) as R
  return Object.fromEntries(Object.entries(repos).map(([name, repo]) => [name, wrap(repo)])) as unknown as Repos
}

/** A unique violation inside a write is the client's conflict (409); `detail`, which holds the duplicate value, is never shown. */
const CONFLICTS: Record<string, string> = {
  users_pkey: 'A user with this id already exists',
  users_email_nocase: 'A user with this email already exists',
  users_by_email_key: 'A user with this email already exists',
  orgs_pkey: 'An organization with this id already exists',
  org_members_pkey: 'The user is already a member of this organization',
  apps_pkey: 'App id is already taken',
  apikeys_key_hash_key: 'An API key with this secret already exists',
}

/**
 * A foreign-key violation inside a write: the org it names was deleted by a transaction that
 * committed while this one ran (404 for that org, as if it had been gone when asked).
 */
const MISSING: Record<string, string> = {
  apps_org_id_fkey: 'Organization not found',
  org_members_org_id_fkey: 'Organization not found',
}

function asConflict(error: unknown): unknown {
  if (!(error instanceof SQL.PostgresError)) return error
  if (error.errno === '23505') return conflict(CONFLICTS[error.constraint ?? ''] ?? 'The change conflicts with data already stored')
  if (error.errno === '23503' && error.constraint && error.constraint in MISSING) return notFound(MISSING[error.constraint])
  return error
}

const refuseWrite = () => {
  throw new Error('a write outside store.write()')
}

/**
 * Connects to `url`, applies the pending migrations (under their advisory lock), subscribes
 * to other instances' commits and returns the store. Rejects when the database cannot be
 * reached or migrated (nothing is left open then).
 */
export async function openPostgresStore(url: string, options: PostgresStoreOptions = {}): Promise<PostgresStore> {
  const deadlineMs = options.deadlineMs ?? 5_000
  // The server gives up on a statement, or a wait for a lock, at the deadline: a write that
  // outlives it rolls back there, and is not left to commit after its 503. The client's own
  // deadline comes a moment later, for a server that does not answer at all.
  const client = (max: number, readOnly: boolean, bounded = true) =>
    new SQL(url, {
      max,
      connectionTimeout: options.connectionTimeout ?? 5,
      connection: {
        application_name: options.applicationName ?? 'codepushgo',
        ...(readOnly ? { default_transaction_read_only: 'on' } : {}),
        ...(bounded ? { statement_timeout: String(deadlineMs), lock_timeout: String(deadlineMs) } : {}),
      },
    })
  const reads = client(options.readConnections ?? 8, true)
  const writes = client(options.writeConnections ?? 4, false)
  const bucketPool = client(options.bucketConnections ?? 4, false)
  const pools = [reads, writes, bucketPool]
  const buckets = postgresBuckets(bucketPool)
  const instanceId = crypto.randomUUID()
  const listeners: ((changes: readonly Change[]) => void)[] = []
  const deliver = (changes: readonly Change[]) => {
    for (const listener of listeners) listener(changes)
  }
  const feed = new CommitFeed(reads, instanceId, (changes) => {
    try {
      deliver(changes)
    } catch (error) {
      // A listener's failure must not become the listen connection's uncaught exception.
      console.error(error)
    }
  }, { pollMs: options.pollMs ?? 50, graceMs: options.graceMs ?? 20 })
  try {
    // Migrations may take long on a large database: their own session, without the deadline.
    const migrator = client(1, false, false)
    try {
      await migratePostgres(migrator)
    } finally {
      await migrator.close({ timeout: 1 })
    }
    await withDeadline(feed.start(), deadlineMs)
  } catch (error) {
    await feed.close()
    await Promise.all(pools.map((pool) => pool.close({ timeout: 0 })))
    throw error
  }

  // Marks the writes under way, to refuse a write started inside another one: it would wait
  // for the counter row its own transaction holds.
  const inWrite = new AsyncLocalStorage<true>()
  const writing = new Set<Promise<unknown>>()

  return {
    backend: 'postgres',
    instanceId,
    ...withDeadlines(repositories(reads, refuseWrite), deadlineMs),
    write<T>(work: (tx: Repos) => Promise<T> | T): Promise<T> {
      if (inWrite.getStore()) throw new Error('store.write() inside a write: use the transaction it was given')
      const notes: Change[] = []
      const committed = writes
        .begin(async (tx) => {
          const [row] = await tx<{ n: string }[]>`UPDATE codepushgo_commits SET n = n + 1 RETURNING n`
          const value = await inWrite.run(true, () => work(repositories(tx, (change) => notes.push(change))))
          for (const payload of noticePayloads(instanceId, Number(row!.n), notes)) await tx`SELECT pg_notify(${COMMITS_CHANNEL}, ${payload})`
          // Boxed: begin() would await a returned array's promises.
          return { value }
        })
        .then(
          ({ value }) => {
            if (notes.length > 0) deliver(notes)
            return value
          },
          (error) => {
            // Lost on the way (connection, deadline): it may have committed all the same, its
            // acknowledgement lost, so nothing cached stays.
            if (isDatabaseUnavailable(error)) deliver([EVERYTHING])
            throw asConflict(error)
          },
        )
      writing.add(committed)
      committed.catch(() => {}).finally(() => writing.delete(committed))
      return withDeadline(committed, deadlineMs + CLIENT_DEADLINE_GRACE_MS)
    },
    // Other instances commit while a transaction runs: the read model cannot stand in for it.
    pendingChanges: () => null,
    onCommit: (listener) => void listeners.push(listener),
    feed: { foreignCommits: () => false },
    buckets: { take: (id, limit, nowMs) => withDeadline(buckets.take(id, limit, nowMs), deadlineMs), prune: buckets.prune },
    async ping(): Promise<void> {
      await withDeadline(reads`SELECT 1`.then(() => {}), deadlineMs)
    },
    /** Waits for the writes under way (at most the deadline: a server that stops answering does not hold the exit). */
    async close(): Promise<void> {
      await withDeadline(Promise.all([feed.close(), Promise.allSettled(writing)]), deadlineMs).catch(() => {})
      await Promise.all(pools.map((pool) => pool.close({ timeout: 1 })))
    },
  }
}
