/**
 * The read model: what every request reads, kept in memory. It owns the cached keys (the
 * principal each makes, with its JSON view and last use), memberships, apps, lists of apps
 * and key lists with their JSON answers, all in one cache bounded by an estimate of their
 * bytes (src/read-model/sieve.ts), and keeps them right through one interface, `apply`, fed
 * by the backend (src/read-model/changes.ts). Decisions are then made from what it hands out,
 * without touching storage.
 *
 * - A read inside a write transaction is never cached: it may see what is not committed yet.
 * - A load that started before a change was applied stores nothing (a global generation):
 *   with loads that wait (an asynchronous backend), a change applied meanwhile would otherwise
 *   be undone by the stale value stored after it. With SQLite the only such load is one whose
 *   nested read notices another process's commit.
 * - Keys nobody has are remembered apart, at most MAX_ABSENCES, oldest forgotten first: a
 *   client retrying a deleted key costs no query, and guessing keys evicts nothing found.
 *
 * Cached values are shared by every request: read-only, but for a key's last use.
 */
import { effectiveExpiry, serverLifetimePolicy, type LifetimePolicy } from '../access/lifetime'
import type { Mode } from '../access/modes'
import type { KeyLimits } from '../access/principal'
import type { RateLimit } from '../access/rate-limit'
import type { KeyPolicyRepository } from '../db/key-policies'
import type { Clock } from '../clock'
import type { ApiKeyRepository } from '../modules/apikey/repository'
import type { AppRecord, AppRepository } from '../modules/app/repository'
import type { OrganizationRepository } from '../modules/organization/repository'
import { CachedKey } from './cached-key'
import { FOREIGN_COMMITS_POLL_MS, type Change, type ChangeFeed } from './changes'
import { CachedApps, CachedApp, KeyList, KeyPolicies, Memberships, RetiredApp } from './entries'
import { SieveCache, type Slot } from './sieve'

/** The empty limit list every key not limited in a dimension shares. */
const NONE: readonly string[] = Object.freeze([])

/** Past this many remembered absences, the oldest is forgotten. */
export const MAX_ABSENCES = 10_000

/** The default size of the read model (`serve --cache-mb`). */
export const DEFAULT_CACHE_MB = 128

/** What the read model loads from: the store's repositories. */
export interface ReadSources {
  apikeys: Pick<ApiKeyRepository, 'findByHash' | 'listByUser'>
  orgs: Pick<OrganizationRepository, 'membershipsOf'>
  apps: Pick<AppRepository, 'findById' | 'listForUser' | 'retiredOrgOf'>
  keyPolicies: Pick<KeyPolicyRepository, 'all'>
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
  }

  /** The key with this hash (the principal it makes), or null when there is none. */
  keyByHash(hash: string): CachedKey | null {
    this.pollForeignCommits()
    if (this.feed.inTransaction()) return this.loadKey(hash)
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
    const key = this.loadKey(hash)
    if (generation === this.generation) {
      if (key === null) this.rememberAbsence(hash)
      else this.cache.set(hash, key)
    }
    return key
  }

  /** The app, or null when there is none. */
  app(appId: string): AppRecord | null {
    return this.cached(appId, () => {
      const record = this.sources.apps.findById(appId)
      return record ? new CachedApp(record) : null
    })?.record ?? null
  }

  /**
   * The apps of the caller's orgs that its reach allows, as `select` picks them from all the
   * apps of its user's orgs, kept per user and reach. `select` gets the memberships as they
   * are now: the caller's may be older (read before another process's commit was noticed).
   */
  appsReached(caller: CachedKey, select: (apps: readonly CachedApp[], memberships: ReadonlyMap<string, Mode>) => CachedApp[]): readonly CachedApp[] {
    return this.cached(reachedAppsKey(caller), () => {
      const all = this.cached(userAppsKey(caller.userId), () => new CachedApps(this.sources.apps.listForUser(caller.userId).map((record) => new CachedApp(record)), true))!
      return new CachedApps(select(all.apps, this.memberships(caller.userId)), false)
    })!.apps
  }

  /** The user's keys, newest first, with the answers kept for them. */
  keyList(userId: string): KeyList {
    return this.cached(keyListKey(userId), () => new KeyList(this.sources.apikeys.listByUser(userId), (record) => this.keyExpiry(record)))!
  }

  /**
   * The answer `make` writes from the user's key list for `signature` (what the answer depends
   * on besides the list: the caller's reach and query), kept with the list.
   */
  keyListText(userId: string, signature: string, make: (list: KeyList) => string): string {
    const list = this.keyList(userId)
    const kept = list.text(signature)
    if (kept !== undefined) return kept
    const text = make(list)
    const bytes = list.keep(signature, text)
    if (this.cache.peek(keyListKey(userId)) === list) this.cache.resize(list, bytes)
    return text
  }

  /** The user's role in each org it belongs to. */
  memberships(userId: string): ReadonlyMap<string, Mode> {
    return this.membershipsOf(userId).roles
  }

  /**
   * Every key lifetime policy (SPEC §6a) that governs a key with these limits: the server's,
   * and those of the orgs it is limited to, directly or through its apps (deleted ones
   * included: a policy keeps bounding the keys it governed).
   */
  lifetimePolicies(limits: KeyLimits): LifetimePolicy[] {
    const byScope = this.keyPolicies()
    const recorded = byScope.get(SERVER) ?? []
    const configured = this.serverMaxDays
    const policies =
      configured === null || recorded.some((policy) => policy.until === null && policy.maxDays === configured)
        ? [...recorded]
        : [...recorded, serverLifetimePolicy(configured, '')]
    if (byScope.size === (byScope.has(SERVER) ? 1 : 0)) return policies
    const orgs = new Set(limits.limited_to_orgs)
    for (const appId of limits.limited_to_apps) {
      const org = this.app(appId)?.org_id ?? this.cached(retiredAppKey(appId), () => new RetiredApp(appId, this.sources.apps.retiredOrgOf(appId)))!.orgId
      if (org !== null) orgs.add(org)
    }
    for (const org of orgs) policies.push(...(byScope.get(org) ?? []))
    return policies
  }

  /** The key lifetime policy in force for `scope` ('server' or an org id), or null. */
  keyPolicy(scope: string): LifetimePolicy | null {
    return this.keyPolicies().get(scope)?.find((policy) => policy.until === null) ?? null
  }

  private keyPolicies(): ReadonlyMap<string, readonly LifetimePolicy[]> {
    return this.cached(KEY_POLICIES, () => new KeyPolicies(this.sources.keyPolicies.all()))!.byScope
  }

  /** When a key stops working: the earlier of its own expiry and what its policies allow. */
  keyExpiry(key: KeyLimits & { expires_at: string | null; created_at: string }): string | null {
    if (this.serverMaxDays === null && this.keyPolicies().size === 0) return key.expires_at
    return effectiveExpiry(key.expires_at, key.created_at, this.lifetimePolicies(key))
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
    this.polledAt = now
    if (this.feed.foreignCommits()) this.clear()
  }

  /** The cached entry for `key`, else `load()`'s (null is not kept). */
  private cached<V extends Slot>(key: string, load: () => V | null): V | null {
    this.pollForeignCommits()
    if (this.feed.inTransaction()) return load()
    const hit = this.cache.get(key)
    if (hit !== undefined) return hit as V
    const generation = this.generation
    const value = load()
    if (value !== null && generation === this.generation) this.cache.set(key, value)
    return value
  }

  private membershipsOf(userId: string): Memberships {
    return this.cached(membershipsKey(userId), () => new Memberships(userId, this.sources.orgs.membershipsOf(userId)))!
  }

  /**
   * The key with its user's memberships and its apps' orgs. Its user id and the ids its limits
   * name are the strings the memberships and apps already hold: a row's strings are new ones.
   */
  private loadKey(hash: string): CachedKey | null {
    const record = this.sources.apikeys.findByHash(hash)
    if (record === null) return null
    const user = this.membershipsOf(record.user_id)
    const orgs = record.limited_to_orgs.length === 0 ? NONE : record.limited_to_orgs.map((orgId) => user.sharedOrgId(orgId))
    let appOrgs: Map<string, string> | null = null
    const apps =
      record.limited_to_apps.length === 0
        ? NONE
        : record.limited_to_apps.map((appId) => {
            const app = this.app(appId)
            if (app === null) return appId
            appOrgs ??= new Map()
            appOrgs.set(app.app_id, app.org_id)
            return app.app_id
          })
    return new CachedKey(hash, record, user, { limited_to_apps: apps, limited_to_orgs: orgs }, appOrgs, this.defaultRateLimit, this.keyExpiry(record))
  }

  private rememberAbsence(hash: string): void {
    if (this.absences.size >= MAX_ABSENCES) this.absences.delete(this.absences.values().next().value!)
    this.absences.add(hash)
  }
}
