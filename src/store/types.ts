/**
 * The one storage interface (SPEC §11): what the services, the read model and the maintenance
 * ask of a database, whatever it is. Two adapters implement it: SQLite (src/store/sqlite/,
 * synchronous inside: its answers are plain values) and PostgreSQL (src/store/postgres/, whose
 * answers are promises). Callers `await` every answer; the read model takes a plain value as
 * it comes, so that on SQLite the hot path never waits.
 */
import type { LifetimePolicy } from '../access/lifetime'
import type { Mode } from '../access/modes'
import type { RateDecision, RateLimit } from '../access/rate-limit'
import type { Change, ChangeFeed } from '../read-model/changes'
import type {
  ApiKeyChanges, ApiKeyRecord, AppRecord, AuditEventRow, AuditFilters, MemberRecord, MemberView, NewApiKey, NewAuditEvent,
  OrgRecord, UsageCountRow, UsageSumRow, UserRecord,
} from './records'

/** A value, or the promise of one: what an adapter answers. */
export type Awaitable<T> = T | Promise<T>

export interface UserRepo {
  insert(user: UserRecord): Awaitable<void>
  /** Case-insensitively beyond ASCII (src/validation.ts `emailKey`). */
  findByEmail(email: string): Awaitable<UserRecord | null>
  list(): Awaitable<UserRecord[]>
  count(): Awaitable<number>
}

export interface OrgRepo {
  insert(org: OrgRecord): Awaitable<void>
  findById(id: string): Awaitable<OrgRecord | null>
  /** The user's orgs with the user's role in each, oldest first. */
  listForUser(userId: string): Awaitable<(OrgRecord & { role: Mode })[]>
  rename(id: string, name: string, at: string): Awaitable<void>
  /** Deletes the org; its members and apps go with it. */
  delete(id: string): Awaitable<void>
  addMember(member: MemberRecord): Awaitable<void>
  membershipsOf(userId: string): Awaitable<{ org_id: string; role: Mode }[]>
  members(orgId: string): Awaitable<MemberView[]>
  member(orgId: string, userId: string): Awaitable<MemberRecord | null>
  setRole(orgId: string, userId: string, role: Mode): Awaitable<void>
  removeMember(orgId: string, userId: string): Awaitable<void>
  countAllMembers(orgId: string): Awaitable<number>
}

export interface AppRepo {
  insert(app: AppRecord): Awaitable<void>
  findById(appId: string): Awaitable<AppRecord | null>
  /** Every app in the orgs the user belongs to, by app id. */
  listForUser(userId: string): Awaitable<AppRecord[]>
  listForOrg(orgId: string): Awaitable<AppRecord[]>
  rename(appId: string, name: string, at: string): Awaitable<void>
  /** Deletes the app and retires its id for good. */
  delete(appId: string, at: string): Awaitable<void>
  /** Retires the ids of every app of an org about to be deleted. */
  retireAppsOf(orgId: string, at: string): Awaitable<void>
  /** The org a deleted app belonged to, when known. */
  retiredOrgOf(appId: string): Awaitable<string | null>
  /** The app id, in any case, that an existing app already has. */
  takenAnyCase(appId: string): Awaitable<string | null>
  /** The id, in any case, of a deleted app that `appId` would be taken for. */
  retiredAnyCase(appId: string): Awaitable<string | null>
}

export interface ApiKeyRepo {
  /** Stores a new key and returns it as stored. */
  insert(key: NewApiKey): Awaitable<ApiKeyRecord>
  update(id: number, changes: ApiKeyChanges): Awaitable<void>
  /** Records the key's successor and its grace end; false, writing nothing, when it had one already. */
  markRotated(id: number, successorId: number, expiresAt: string | null, at: string): Awaitable<boolean>
  findByHash(hash: string): Awaitable<ApiKeyRecord | null>
  findById(id: number): Awaitable<ApiKeyRecord | null>
  /** The user's keys, newest first. */
  listByUser(userId: string): Awaitable<ApiKeyRecord[]>
  countByUser(userId: string): Awaitable<number>
  /** Every key stored (/metrics). */
  countAll(): Awaitable<number>
  delete(id: number): Awaitable<void>
  /**
   * Writes a use of the key, unless a later one is written already (instances and flushes
   * write in any order: the latest use wins). A key deleted since matches no row.
   */
  writeLastUse(key: { keyId: number; userId: string; hash: string }, at: string, ip: string | null): Awaitable<void>
}

export interface AuditRepo {
  insert(event: NewAuditEvent): Awaitable<void>
  /** The user's events that match `filters`, newest first: below `before` (keyset), `limit` of them after `offset`. */
  listByUser(userId: string, filters: AuditFilters, page: { before: number; offset: number }, limit: number): Awaitable<AuditEventRow[]>
  /** Deletes events older than `cutoff` among the `slice` oldest; returns how many. */
  pruneOlderThan(cutoff: string, slice: number): Awaitable<number>
}

export interface KeyPolicyRepo {
  /** Every key lifetime policy ever in force, oldest first. */
  all(): Awaitable<LifetimePolicy[]>
  /** Ends the policy in force for `scope` at `at` and puts `next` (unless null) in force from then. */
  replace(scope: string, next: Pick<LifetimePolicy, 'maxDays' | 'requireExpiry'> | null, at: string): Awaitable<void>
}

export interface UsageRepo {
  /** Adds counts to each row's key and hour; rows of keys deleted since are dropped. */
  add(rows: readonly UsageCountRow[]): Awaitable<void>
  /** Sums per hour over these keys, hours (Unix seconds) in [from, to). */
  sums(keyIds: readonly number[], from: number, to: number): Awaitable<UsageSumRow[]>
  /** Deletes at most `limit` rows older than `before` (Unix seconds); returns how many. */
  prune(before: number, limit: number): Awaitable<number>
}

/**
 * Token buckets every instance shares (PostgreSQL: per-key rate limits and the failed-auth
 * throttle hold across the cluster). SQLite has none: one process keeps them in memory.
 */
export interface SharedBuckets {
  /** Takes a token from bucket `id` (full at first, refilled at `limit`) at `nowMs` when there is one. */
  take(id: string, limit: RateLimit, nowMs: number): Promise<RateDecision>
}

/** Every repository, as a transaction or the store sees them. */
export interface Repos {
  users: UserRepo
  orgs: OrgRepo
  apps: AppRepo
  apikeys: ApiKeyRepo
  audit: AuditRepo
  keyPolicies: KeyPolicyRepo
  usage: UsageRepo
}

/** The repositories inside a write transaction: reads see its own writes. */
export type Tx = Repos

/** Which database it is. */
export type Backend = 'sqlite' | 'postgres'

/**
 * A database. Reads through it see what is committed. Writes happen in `write`: every write
 * notes what it changed (src/read-model/changes.ts), and once the transaction has committed
 * the notes go to the `onCommit` listeners (the read model) — and, on PostgreSQL, to the other
 * instances.
 */
export interface Store extends Repos {
  readonly backend: Backend
  /**
   * Runs `work` in a write transaction and settles once it has committed (or failed and
   * changed nothing). SQLite runs the writes that arrive together in one transaction, each in a
   * savepoint of its own (group commit), one transaction at a time, never interleaved with
   * another across an `await`; PostgreSQL runs real transactions, writers taking turns.
   * `work` may await only the transaction's own repositories, and must have finished with them
   * when it settles. Every change a caller's standing depends on (keys, orgs, members, apps,
   * key policies) notes itself: on SQLite the notes are what tells a write that the read model
   * no longer holds its caller as the transaction would read it (src/access/write-as.ts).
   */
  write<T>(work: (tx: Tx) => Promise<T> | T): Promise<T>
  /**
   * Inside a write: what the transactions under way have changed so far, which the read model
   * has not heard of yet; null when others may commit meanwhile without the read model hearing
   * at once (PostgreSQL), so that only a read in the transaction tells how things stand.
   */
  pendingChanges(): readonly Change[] | null
  /** Hears what each transaction changed, once it has committed (this process's writes). */
  onCommit(listener: (changes: readonly Change[]) => void): void
  /** How the read model hears of what other processes commit. */
  readonly feed: ChangeFeed
  /** Buckets shared with other instances; null: keep them in this process. */
  readonly buckets: SharedBuckets | null
  /** Throws when the database cannot be used (GET /health). */
  ping(): Awaitable<void>
  /** Finishes what is under way and closes the connections. */
  close(): Promise<void>
}
