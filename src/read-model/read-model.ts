/**
 * The read model: what every request reads, kept in memory. It owns the cached keys (the
 * principal each makes, with its JSON view and last use), memberships, apps, lists of apps
 * and key lists with their JSON answers, all in one cache bounded by an estimate of their
 * bytes (src/read-model/sieve.ts), and keeps them right through one interface, `apply`, fed
 * by the backend (src/read-model/changes.ts). Decisions are then made from what it hands out,
 * without touching storage.
 *
 * - Its sources answer plain values (SQLite) or promises (PostgreSQL): each load is written
 *   once, as steps (src/store/awaitable.ts), so that on SQLite nothing here ever waits.
 * - A load that started before a change was applied stores nothing (a global generation):
 *   with loads that wait (PostgreSQL), a change applied meanwhile would otherwise be undone by
 *   the stale value stored after it.
 * - Keys nobody has are remembered apart, at most MAX_ABSENCES, oldest forgotten first: a
 *   client retrying a deleted key costs no query, and guessing keys evicts nothing found.
 *
 * Cached values are shared by every request: read-only, but for a key's last use.
 */
import { effectiveExpiry, serverLifetimePolicy, type LifetimePolicy } from '../access/lifetime'
import type { Mode } from '../access/modes'
import type { KeyLimits, Principal } from '../access/principal'
import type { RateLimit } from '../access/rate-limit'
import type { Clock } from '../clock'
import { answer, drive } from '../store/awaitable'
import type { AppRecord } from '../store/records'
import type { Awaitable, Repos } from '../store/types'
import { CachedKey } from './cached-key'
import { FOREIGN_COMMITS_POLL_MS, type Change, type ChangeFeed } from './changes'
import { CachedApps, CachedApp, KeyList, KeyPolicies, Memberships, RetiredApp } from './entries'
import { SieveCache, type Slot } from './sieve'

/** The empty limit list every key not limited in a dimension shares. */
const NONE: readonly string[] = Object.freeze([])

/** The feed of a read model that only lives as long as a transaction: nobody else can commit meanwhile. */
const NO_FOREIGN_COMMITS: ChangeFeed = { foreignCommits: () => false }

/** Past this many remembered absences, the oldest is forgotten. */
export const MAX_ABSENCES = 10_000

/** The default size of the read model (`serve --cache-mb`). */
export const DEFAULT_CACHE_MB = 128

/** What the read model loads from: the store's repositories. */
export interface ReadSources {
  apikeys: Pick<Repos['apikeys'], 'findByHash' | 'listByUser'>
  orgs: Pick<Repos['orgs'], 'membershipsOf'>
  apps: Pick<Repos['apps'], 'findById' | 'listForUser' | 'retiredOrgOf'>
  keyPolicies: Pick<Repos['keyPolicies'], 'all'>
}

export interface ReadModelOptions {
  /** At most this many bytes of entries, by their estimates. */
  budgetBytes: number
  /** The rate limit of keys without one of their own (the server's policy). */
  defaultRateLimit: RateLimit | null
  /**
   * This process's maximum key lifetime (--max-key-lifetime-days): kept beside the server
   * policies serve recorded when it is not the one in force (a CLI given its own, a test).
   */
  serverMaxDays: number | null
}

/** How the read model is doing, for /metrics and the benchmark. */
export interface ReadModelStats {
  entries: number
  bytes: number
  budgetBytes: number
  absences: number
  hits: number
  misses: number
}

// Entries other than keys (whose key is the hash: 64 hex digits) and apps (whose id has a
// dot) are keyed with a prefix ending in a space, which neither can hold.
const membershipsKey = (userId: string) => `m ${userId}`
const keyListKey = (userId: string) => `l ${userId}`
const userAppsKey = (userId: string) => `a ${userId}`
const reachedAppsKey = (caller: CachedKey) => `r ${caller.userId} ${caller.reach}`
const KEY_POLICIES = 'p '
const retiredAppKey = (appId: string) => `d ${appId}`
const SERVER = 'server'

export class ReadModel {
  private readonly cache: SieveCache<string, Slot>
  private readonly absences = new Set<string>()
  /** Bumped by every change applied: a load that saw it move keeps nothing. */
  private generation = 0
  private polledAt = Number.NEGATIVE_INFINITY
  private readonly defaultRateLimit: RateLimit | null
  private readonly serverMaxDays: number | null
  private readonly options: ReadModelOptions
  private hits = 0
  private misses = 0

  constructor(
    private readonly sources: ReadSources,
    private readonly feed: ChangeFeed,
    private readonly clock: Clock,
    options: ReadModelOptions,
  ) {
    this.cache = new SieveCache(options.budgetBytes)
    this.defaultRateLimit = options.defaultRateLimit
    this.serverMaxDays = options.serverMaxDays
    this.options = options
  }

  /**
   * The same questions, asked of `sources` (a write transaction's repositories) and kept
   * nowhere: every answer is read afresh, and sees the transaction's own writes.
   */
  uncached(sources: ReadSources): ReadModel {
    return new ReadModel(sources, NO_FOREIGN_COMMITS, this.clock, { ...this.options, budgetBytes: 0 })
  }

  /**
   * True when `principal` is still what this read model holds for its key, and so what a read
   * inside the write under way would find: no other process has committed since (asked now,
   * not at the poll's pace; a commit seen clears everything), and none of `pending`, what the
   * transaction's writes have changed so far, touches the key or what it was derived from
   * (its user's memberships, its apps, the key policies: every such change clears everything).
   */
  stillHolds(principal: Principal, pending: readonly Change[]): principal is CachedKey {
    if (!(principal instanceof CachedKey) || this.clearedForForeignCommits()) return false
    return (
      this.cache.peek(principal.hash) === principal &&
      pending.every((change) => change.kind === 'last-use' || (change.kind === 'key' && change.hash !== principal.hash))
    )
  }

  /** The key with this hash (the principal it makes), or null when there is none. */
  keyByHash(hash: string): Awaitable<CachedKey | null> {
    this.pollForeignCommits()
    const hit = this.cache.get(hash) as CachedKey | undefined
    if (hit !== undefined) {
      this.hits++
      return hit
    }
    if (this.absences.has(hash)) {
      this.hits++
      return null
    }
    this.misses++
    const generation = this.generation
    return drive(
      function* (this: ReadModel) {
        const key = yield* this.loadKey(hash)
        if (generation === this.generation && this.options.budgetBytes > 0) {
          if (key === null) this.rememberAbsence(hash)
          else this.cache.set(hash, key)
        }
        return key
      }.call(this),
    )
  }

  /**
   * The app, or null when there is none. A kept app is answered before any steps are made:
   * verify asks this on every request, and making the steps' generators costs 100-250 ns a
   * call (docs/performance.md, "PostgreSQL").
   */
  app(appId: string): Awaitable<AppRecord | null> {
    this.pollForeignCommits()
    const kept = this.cache.get(appId) as CachedApp | undefined
    if (kept !== undefined) return kept.record
    return drive(this.appSteps(appId))
  }

  /**
   * The apps of the caller's orgs that its reach allows, as `select` picks them from all the
   * apps of its user's orgs, kept per user and reach. `select` gets the memberships as they
   * are now: the caller's may be older (read before another process's commit was noticed).
   */
  appsReached(caller: CachedKey, select: (apps: readonly CachedApp[], memberships: ReadonlyMap<string, Mode>) => CachedApp[]): Awaitable<readonly CachedApp[]> {
    const sources = this.sources
    return drive(
      function* (this: ReadModel) {
        const reached = yield* this.cached(reachedAppsKey(caller), function* (this: ReadModel) {
          const all = yield* this.cached(userAppsKey(caller.userId), function* () {
            const records = yield* answer(sources.apps.listForUser(caller.userId))
            return new CachedApps(records.map((record) => new CachedApp(record)), true)
          })
          const memberships = yield* this.membershipsOf(caller.userId)
          return new CachedApps(select(all!.apps, memberships.roles), false)
        })
        return reached!.apps
      }.call(this),
    )
  }

  /** The user's keys, newest first, with the answers kept for them. */
  keyList(userId: string): Awaitable<KeyList> {
    return drive(this.keyListSteps(userId))
  }

  /**
   * The answer `make` writes from the user's key list for `signature` (what the answer depends
   * on besides the list: the caller's reach and query), kept with the list.
   */
  keyListText(userId: string, signature: string, make: (list: KeyList) => string): Awaitable<string> {
    return drive(
      function* (this: ReadModel) {
        const list = yield* this.keyListSteps(userId)
        const kept = list.text(signature)
        if (kept !== undefined) return kept
        const text = make(list)
        const bytes = list.keep(signature, text)
        if (this.cache.peek(keyListKey(userId)) === list) this.cache.resize(list, bytes)
        return text
      }.call(this),
    )
  }

  /** The user's role in each org it belongs to. */
  memberships(userId: string): Awaitable<ReadonlyMap<string, Mode>> {
    return drive(
      function* (this: ReadModel) {
        return (yield* this.membershipsOf(userId)).roles
      }.call(this),
    )
  }

  /**
   * Every key lifetime policy (SPEC §6a) that governs a key with these limits: the server's,
   * and those of the orgs it is limited to, directly or through its apps (deleted ones
   * included: a policy keeps bounding the keys it governed).
   */
  lifetimePolicies(limits: KeyLimits): Awaitable<LifetimePolicy[]> {
    return drive(this.lifetimePolicySteps(limits))
  }

  /** The key lifetime policy in force for `scope` ('server' or an org id), or null. */
  keyPolicy(scope: string): Awaitable<LifetimePolicy | null> {
    return drive(
      function* (this: ReadModel) {
        return (yield* this.keyPolicySteps()).get(scope)?.find((policy) => policy.until === null) ?? null
      }.call(this),
    )
  }

  /** When a key stops working: the earlier of its own expiry and what its policies allow. */
  keyExpiry(key: KeyLimits & { expires_at: string | null; created_at: string }): Awaitable<string | null> {
    return drive(this.keyExpirySteps(key))
  }

  /** Applies what a commit changed (src/read-model/changes.ts). */
  apply(changes: readonly Change[]): void {
    this.generation++
    for (const change of changes) {
      if (change.kind === 'all') {
        this.clear()
        return
      }
      if (change.kind === 'key') {
        this.cache.delete(change.hash)
        this.absences.delete(change.hash)
      } else if (change.hash !== null) {
        const key = this.cache.peek(change.hash)
        if (key instanceof CachedKey && key.keyId === change.keyId) key.lastUsed(change.at, change.ip)
      }
      this.cache.delete(keyListKey(change.userId))
    }
  }

  stats(): ReadModelStats {
    return {
      entries: this.cache.size,
      bytes: this.cache.bytes,
      budgetBytes: this.cache.budgetBytes,
      absences: this.absences.size,
      hits: this.hits,
      misses: this.misses,
    }
  }

  private clear(): void {
    this.generation++
    this.cache.clear()
    this.absences.clear()
  }

  /**
   * Another process's commits are looked for at most every FOREIGN_COMMITS_POLL_MS (by the
   * injected clock; a clock set back counts as due), on a read: an idle server asks nothing.
   */
  private pollForeignCommits(): void {
    const now = this.clock.nowMs()
    if (now - this.polledAt < FOREIGN_COMMITS_POLL_MS && now >= this.polledAt) return
    this.clearedForForeignCommits()
  }

  /** Asks the feed now; clears everything, and says so, when another process has committed. */
  private clearedForForeignCommits(): boolean {
    this.polledAt = this.clock.nowMs()
    if (!this.feed.foreignCommits()) return false
    this.clear()
    return true
  }

  /** The cached entry for `key`, else what `load` makes of the sources (null is not kept). */
  private *cached<V extends Slot>(key: string, load: (this: ReadModel) => Generator<unknown, V | null, unknown>): Generator<unknown, V | null, unknown> {
    this.pollForeignCommits()
    const hit = this.cache.get(key)
    if (hit !== undefined) return hit as V
    const generation = this.generation
    const value = yield* load.call(this)
    if (value !== null && generation === this.generation && this.options.budgetBytes > 0) this.cache.set(key, value)
    return value
  }

  private *appSteps(appId: string): Generator<unknown, AppRecord | null, unknown> {
    const sources = this.sources
    const app = yield* this.cached(appId, function* () {
      const record = yield* answer(sources.apps.findById(appId))
      return record ? new CachedApp(record) : null
    })
    return app?.record ?? null
  }

  private *keyListSteps(userId: string): Generator<unknown, KeyList, unknown> {
    const list = yield* this.cached(keyListKey(userId), function* (this: ReadModel) {
      const records = yield* answer(this.sources.apikeys.listByUser(userId))
      const expiries: (string | null)[] = []
      for (const record of records) expiries.push(yield* this.keyExpirySteps(record))
      return new KeyList(records, expiries)
    })
    return list!
  }

  private *membershipsOf(userId: string): Generator<unknown, Memberships, unknown> {
    const sources = this.sources
    const memberships = yield* this.cached(membershipsKey(userId), function* () {
      return new Memberships(userId, yield* answer(sources.orgs.membershipsOf(userId)))
    })
    return memberships!
  }

  private *keyPolicySteps(): Generator<unknown, ReadonlyMap<string, readonly LifetimePolicy[]>, unknown> {
    const sources = this.sources
    const policies = yield* this.cached(KEY_POLICIES, function* () {
      return new KeyPolicies(yield* answer(sources.keyPolicies.all()))
    })
    return policies!.byScope
  }

  private *lifetimePolicySteps(limits: KeyLimits): Generator<unknown, LifetimePolicy[], unknown> {
    const byScope = yield* this.keyPolicySteps()
    const recorded = byScope.get(SERVER) ?? []
    const configured = this.serverMaxDays
    const policies =
      configured === null || recorded.some((policy) => policy.until === null && policy.maxDays === configured)
        ? [...recorded]
        : [...recorded, serverLifetimePolicy(configured, '')]
    if (byScope.size === (byScope.has(SERVER) ? 1 : 0)) return policies
    const orgs = new Set(limits.limited_to_orgs)
    const sources = this.sources
    for (const appId of limits.limited_to_apps) {
      const app = yield* this.appSteps(appId)
      const org =
        app?.org_id ??
        (yield* this.cached(retiredAppKey(appId), function* () {
          return new RetiredApp(appId, yield* answer(sources.apps.retiredOrgOf(appId)))
        }))!.orgId
      if (org !== null) orgs.add(org)
    }
    for (const org of orgs) policies.push(...(byScope.get(org) ?? []))
    return policies
  }

  private *keyExpirySteps(key: KeyLimits & { expires_at: string | null; created_at: string }): Generator<unknown, string | null, unknown> {
    if (this.serverMaxDays === null && (yield* this.keyPolicySteps()).size === 0) return key.expires_at
    return effectiveExpiry(key.expires_at, key.created_at, yield* this.lifetimePolicySteps(key))
  }

  /**
   * The key with its user's memberships and its apps' orgs. Its user id and the ids its limits
   * name are the strings the memberships and apps already hold: a row's strings are new ones.
   */
  private *loadKey(hash: string): Generator<unknown, CachedKey | null, unknown> {
    const record = yield* answer(this.sources.apikeys.findByHash(hash))
    if (record === null) return null
    const user = yield* this.membershipsOf(record.user_id)
    const orgs = record.limited_to_orgs.length === 0 ? NONE : record.limited_to_orgs.map((orgId) => user.sharedOrgId(orgId))
    let appOrgs: Map<string, string> | null = null
    let apps: readonly string[] = NONE
    if (record.limited_to_apps.length > 0) {
      const ids: string[] = []
      for (const appId of record.limited_to_apps) {
        const app = yield* this.appSteps(appId)
        if (app === null) ids.push(appId)
        else {
          appOrgs ??= new Map()
          appOrgs.set(app.app_id, app.org_id)
          ids.push(app.app_id)
        }
      }
      apps = ids
    }
    const expiresAt = yield* this.keyExpirySteps(record)
    return new CachedKey(hash, record, user, { limited_to_apps: apps, limited_to_orgs: orgs }, appOrgs, this.defaultRateLimit, expiresAt)
  }

  private rememberAbsence(hash: string): void {
    if (this.absences.size >= MAX_ABSENCES) this.absences.delete(this.absences.values().next().value!)
    this.absences.add(hash)
  }
}
