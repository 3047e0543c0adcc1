/** API key management (SPEC §6–7): plain functions over the store, no HTTP. */
import { checkStanding, expiryMs } from '../../access/authenticate'
import { checkKeyWrite, checkRotation, type ExistingKey, type Granter, type KeyTerms } from '../../access/grant'
import { generateKey, hashKey, keyStart } from '../../access/key-format'
import { earlier, effectiveExpiry } from '../../access/lifetime'
import type { Mode } from '../../access/modes'
import { authorize, isAllowed } from '../../access/policy'
import type { KeyLimits, Principal } from '../../access/principal'
import type { RateLimit } from '../../access/rate-limit'
import type { Actor, Core } from '../../core'
import { alreadyRotated, conflict, notFound, validationError } from '../../errors'
import { normalizeName, parseFutureInstant, unique } from '../../validation'
import { recordAudit } from '../audit/service'
import { pageStart } from '../../http/schemas'
import type { KeyListRow } from '../../read-model/entries'
import type { ApiKeyCreateInput, ApiKeyListFilters, ApiKeyUpdateInput, ApiKeyView, Rotated } from './model'
import { grantFacts } from './policies'
import type { ApiKeyRecord } from './repository'
import { toApiKeyView } from './view'

export const MAX_KEYS_PER_USER = 1000

/**
 * The transaction of a key write: a savepoint in the transaction that the key writes arriving
 * together share (src/db/group-commit.ts); it settles once that has committed. The key
 * repository notes what each write changes (that key, hence its user's key list) for the read
 * model; every other cached key stays.
 *
 * The write runs a turn or more after its caller's key was admitted: first the key is read
 * again, so that a key revoked, disabled or narrowed meanwhile (and answered so) writes
 * nothing after that answer.
 */
const keyWrite = <T>(core: Core, principal: Principal, work: () => T): Promise<T> =>
  core.store.groupCommit.run(() => {
    stillAdmitted(core, principal)
    return work()
  })

/**
 * Throws the 401 the key would get now, or a 409 when what it may do changed since it got in:
 * its own terms, its effective expiry (a key policy that came into force meanwhile) or its
 * user's memberships. Inside the write's transaction, so every read here is fresh.
 */
function stillAdmitted(core: Core, principal: Principal): void {
  const now = core.store.apikeys.findById(principal.keyId)
  const life = now && core.readModel.keyExpiry(now)
  checkStanding(core, now && { enabled: now.enabled, expiresAtMs: expiryMs(life) })
  // Gone, checkStanding has thrown.
  const { mode, limited_to_apps, limited_to_orgs, rate_limit } = now!
  const same =
    mode === principal.mode &&
    life === principal.expiresAt &&
    JSON.stringify([limited_to_apps, limited_to_orgs, rate_limit]) ===
      JSON.stringify([principal.limits.limited_to_apps, principal.limits.limited_to_orgs, principal.ownRateLimit]) &&
    sameRoles(core.readModel.memberships(principal.userId), principal.memberships)
  if (!same) throw conflict('The calling API key was changed while this request waited; send it again')
}

function sameRoles(a: ReadonlyMap<string, Mode>, b: ReadonlyMap<string, Mode>): boolean {
  return a.size === b.size && [...a].every(([org, role]) => b.get(org) === role)
}

/** What a new key is made with. */
export interface KeySettings extends KeyLimits {
  name: string
  mode: Mode
  expires_at: string | null
  rate_limit?: RateLimit | null
  enabled?: boolean
  rotated_from?: number | null
}

/**
 * Creates a key for `userId` and returns the stored record with the full key, which exists
 * nowhere else: only its hash and first characters are stored. Call inside a transaction.
 */
export function issueKey(core: Core, userId: string, settings: KeySettings): { record: ApiKeyRecord; key: string } {
  if (core.store.apikeys.countByUser(userId) >= MAX_KEYS_PER_USER)
    throw conflict(`Too many API keys: at most ${MAX_KEYS_PER_USER} per user`)
  const key = generateKey()
  const now = core.clock.now().toISOString()
  const record = core.store.apikeys.insert({
    user_id: userId,
    name: settings.name,
    mode: settings.mode,
    limited_to_apps: [...settings.limited_to_apps],
    limited_to_orgs: [...settings.limited_to_orgs],
    key_hash: hashKey(key),
    key_start: keyStart(key),
    created_at: now,
    updated_at: now,
    expires_at: settings.expires_at,
    rate_limit: settings.rate_limit ?? null,
    enabled: settings.enabled ?? true,
    rotated_from: settings.rotated_from ?? null,
  })
  return { record, key }
}

/** The caller's keys within its reach, newest first. */
export function keysWithinReach(core: Core, principal: Principal): ApiKeyRecord[] {
  return core.store.apikeys.listByUser(principal.userId).filter((key) => isAllowed(principal, { mode: 'all', on: 'key', key }))
}

/**
 * The caller's keys within its reach, newest first, filtered and paginated: `after` (keyset:
 * keys with a lower id, found by binary search) or `page`, from the user's key list in the
 * read model.
 */
export function listApiKeys(rows: readonly KeyListRow[], principal: Principal, filters: ApiKeyListFilters): KeyListRow[] {
  const { limit = 100, mode, app_id, org_id } = filters
  const start = pageStart(filters)
  const after = 'after' in start ? start.after : undefined
  const shown = (key: KeyListRow) =>
    isAllowed(principal, { mode: 'all', on: 'key', key }) &&
    (mode === undefined || key.mode === mode) &&
    (app_id === undefined || key.limited_to_apps.includes(app_id)) &&
    (org_id === undefined || key.limited_to_orgs.includes(org_id))
  let skip = 'page' in start ? start.page * limit : 0
  const out: KeyListRow[] = []
  for (let i = after === undefined ? 0 : firstBelow(rows, after); i < rows.length && out.length < limit; i++) {
    if (!shown(rows[i]!)) continue
    if (skip > 0) skip--
    else out.push(rows[i]!)
  }
  return out
}

/** The index of the first row (ids descending) whose id is below `id`. */
function firstBelow(rows: readonly { id: number }[], id: number): number {
  let low = 0
  let high = rows.length
  while (low < high) {
    const middle = (low + high) >> 1
    if (rows[middle]!.id < id) high = middle
    else low = middle + 1
  }
  return low
}

/** A key of the caller's within its reach, else 404 as if it did not exist. */
export function reachKey(core: Core, principal: Principal, id: number): ApiKeyRecord {
  const record = core.store.apikeys.findById(id)
  if (!record) throw notFound()
  authorize(principal, { mode: 'all', on: 'key', key: record })
  return record
}

export function getApiKey(core: Core, principal: Principal, id: number): ApiKeyView {
  return view(core, reachKey(core, principal, id))
}

/** A key's view, with its effective expiry (`fullKey`: the response that creates it). */
export function view(core: Core, record: ApiKeyRecord, fullKey?: string): ApiKeyView {
  return toApiKeyView(record, { expiresAt: core.readModel.keyExpiry(record), fullKey })
}

/**
 * Asks the rule book (src/access/grant.ts) whether the caller may leave a key with `after`'s
 * terms; `before` is the key changed, `inherited` the limits taken as they are.
 */
export function checkWrite(core: Core, granter: Granter, after: KeyTerms, change: { before?: ExistingKey; inherited?: KeyLimits } = {}): void {
  checkKeyWrite(granter, { ...change, after }, grantFacts(core, after, change.before))
}

/** A stored key as the rule book sees it: its successor named only when the caller may see it. */
function existing(core: Core, principal: Principal, record: ApiKeyRecord): ExistingKey {
  if (record.successor_id === null) return { ...record, rotated: null }
  const successor = core.store.apikeys.findById(record.successor_id)
  const visible = successor !== null && isAllowed(principal, { mode: 'all', on: 'key', key: successor })
  return { ...record, rotated: { successor: visible ? record.successor_id : null } }
}

/**
 * Creates a key within the caller's reach; the view carries the full key, once. Omitted limits,
 * expiry and rate limit are the caller's own.
 */
export function createApiKey(core: Core, principal: Principal, actor: Actor, input: ApiKeyCreateInput): Promise<ApiKeyView> {
  const name = normalizeName(input.name)
  const expires_at = input.expires_at == null ? principal.expiresAt : parseFutureInstant(input.expires_at, core.clock.now())
  return keyWrite(core, principal, () => {
    const terms: KeyTerms = {
      mode: input.mode,
      limited_to_apps: unique(input.limited_to_apps ?? principal.limits.limited_to_apps),
      limited_to_orgs: unique(input.limited_to_orgs ?? principal.limits.limited_to_orgs),
      expires_at,
      rate_limit: input.rate_limit === undefined ? principal.ownRateLimit : input.rate_limit,
      enabled: true,
      created_at: core.clock.now().toISOString(),
    }
    checkWrite(core, principal, terms)
    const settings = { name, ...terms }
    const { record, key } = issueKey(core, principal.userId, settings)
    recordAudit(core, actor, 'apikey.create', { type: 'apikey', id: record.id }, { name, mode: terms.mode, limited_to_apps: terms.limited_to_apps, limited_to_orgs: terms.limited_to_orgs, expires_at, rate_limit: terms.rate_limit })
    return view(core, record, key)
  })
}

/**
 * Changes a key within the caller's reach. A change that gives the key anything it had not
 * must leave it within the caller's bounds in every dimension (SPEC §6).
 */
export function updateApiKey(core: Core, principal: Principal, actor: Actor, id: number, input: ApiKeyUpdateInput): Promise<ApiKeyView> {
  if (Object.keys(input).length === 0)
    throw validationError('Nothing to update: send at least one of name, mode, limited_to_apps, limited_to_orgs, expires_at, enabled, rate_limit')
  const name = input.name === undefined ? undefined : normalizeName(input.name)
  const expiresAt = input.expires_at == null ? input.expires_at : parseFutureInstant(input.expires_at, core.clock.now())
  return keyWrite(core, principal, () => {
    const record = reachKey(core, principal, id)
    const terms: KeyTerms = {
      mode: input.mode ?? record.mode,
      limited_to_apps: input.limited_to_apps === undefined ? record.limited_to_apps : unique(input.limited_to_apps),
      limited_to_orgs: input.limited_to_orgs === undefined ? record.limited_to_orgs : unique(input.limited_to_orgs),
      expires_at: expiresAt === undefined ? record.expires_at : expiresAt,
      rate_limit: input.rate_limit === undefined ? record.rate_limit : input.rate_limit,
      enabled: input.enabled ?? record.enabled,
      created_at: record.created_at,
    }
    checkWrite(core, principal, terms, { before: existing(core, principal, record) })
    const { created_at: _, limited_to_apps, limited_to_orgs, ...settings } = terms
    const changes = {
      ...settings, limited_to_apps: [...limited_to_apps], limited_to_orgs: [...limited_to_orgs], name: name ?? record.name, updated_at: core.clock.now().toISOString(),
    }
    core.store.apikeys.update(id, changes)
    recordAudit(core, actor, 'apikey.update', { type: 'apikey', id }, { changed: Object.keys(input), ...changes })
    return view(core, core.store.apikeys.findById(id)!)
  })
}

/**
 * A new secret with the same settings and a new id, once per key (SPEC §6): a key that has a
 * successor answers 409 `already_rotated`. The successor is a new key of the caller's: it
 * never outlives the caller nor the policies, and the rule book judges it like any new key
 * (a caller whose rate limit is tighter than the key's may not rotate it: 403). The old key
 * stops at the earlier of its own (effective) expiry and now + grace.
 */
export function rotateApiKey(core: Core, principal: Principal, actor: Actor, id: number, graceSeconds: number): Promise<Rotated> {
  return keyWrite(core, principal, () => {
    const record = reachKey(core, principal, id)
    const old = existing(core, principal, record)
    const now = core.clock.now()
    const facts = grantFacts(core, old, old)
    checkRotation(old, facts)
    const oldLife = effectiveExpiry(old.expires_at, old.created_at, facts.policies.before)
    const terms: KeyTerms = {
      mode: old.mode,
      limited_to_apps: old.limited_to_apps,
      limited_to_orgs: old.limited_to_orgs,
      expires_at: earlier(oldLife, principal.expiresAt),
      rate_limit: old.rate_limit,
      enabled: old.enabled,
      created_at: now.toISOString(),
    }
    checkWrite(core, principal, terms, { inherited: old })
    const { record: successor, key } = issueKey(core, principal.userId, { ...terms, name: record.name, rotated_from: id })
    const oldExpiry = earlier(oldLife, new Date(now.getTime() + graceSeconds * 1000).toISOString())
    // Two rotations that raced: the second finds the first's successor (src/db/group-commit.ts runs them one after the other).
    if (!core.store.apikeys.markRotated(id, successor.id, oldExpiry, now.toISOString())) throw alreadyRotated(null)
    recordAudit(core, actor, 'apikey.rotate', { type: 'apikey', id }, { new_id: successor.id, grace_period_seconds: graceSeconds, previous_expires_at: oldExpiry })
    return { apikey: view(core, successor, key), previous: { id, expires_at: oldExpiry } }
  })
}

/** Deletes (revokes) a key within the reach of an `all` key; any key may delete itself. */
export function deleteApiKey(core: Core, principal: Principal, actor: Actor, id: number): Promise<void> {
  // A key below `all` asking for another key is refused here, before the write transaction.
  authorize(principal, { mode: 'all', on: 'revoke', keyId: id })
  return keyWrite(core, principal, () => {
    const found = core.store.apikeys.findById(id)
    authorize(principal, { mode: 'all', on: 'revoke', keyId: id, key: found })
    const record = found!
    core.store.apikeys.delete(id)
    recordAudit(core, actor, 'apikey.delete', { type: 'apikey', id }, { name: record.name, mode: record.mode })
  })
}
