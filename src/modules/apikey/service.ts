/** API key management (SPEC §6–7): plain functions over the store, no HTTP. */
import { checkStanding, expiryMs } from '../../access/authenticate'
import { checkKeyWrite, type Granter, type KeyTerms } from '../../access/grant'
import { generateKey, hashKey, keyStart } from '../../access/key-format'
import { earlier } from '../../access/lifetime'
import type { Mode } from '../../access/modes'
import { authorize, isAllowed } from '../../access/policy'
import type { KeyLimits, Principal } from '../../access/principal'
import type { RateLimit } from '../../access/rate-limit'
import type { Actor, Core } from '../../core'
import { alreadyRotated, conflict, notFound, validationError } from '../../errors'
import { normalizeName, parseFutureInstant, unique } from '../../validation'
import { recordAudit } from '../audit/service'
import type { ApiKeyCreateInput, ApiKeyListFilters, ApiKeyUpdateInput, ApiKeyView, Rotated } from './model'
import { grantFacts, keyExpiry } from './policies'
import type { ApiKeyRecord } from './repository'
import { toApiKeyView } from './view'

export const MAX_KEYS_PER_USER = 1000

/**
 * The transaction of a key write: a savepoint in the transaction that the key writes arriving
 * together share (src/db/group-commit.ts); it settles once that has committed. The key
 * repository forgets the cached entries each write changes (that key, its user's key list);
 * every other cached key stays.
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

/** Throws the 401 the key would get now, or a 409 when what it may do changed since it got in. */
function stillAdmitted(core: Core, principal: Principal): void {
  const now = core.store.apikeys.findById(principal.keyId)
  checkStanding(core, now && { enabled: now.enabled, expiresAtMs: expiryMs(now.expires_at) })
  // Gone, checkStanding has thrown.
  const { mode, expires_at, limited_to_apps, limited_to_orgs, rate_limit } = now!
  const then = principal.record
  const same =
    mode === then.mode &&
    expires_at === then.expires_at &&
    JSON.stringify([limited_to_apps, limited_to_orgs, rate_limit]) === JSON.stringify([then.limited_to_apps, then.limited_to_orgs, then.rate_limit])
  if (!same) throw conflict('The calling API key was changed while this request waited; send it again')
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

/** The caller's keys within its reach, newest first, filtered and paginated. */
export function listApiKeys(core: Core, principal: Principal, filters: ApiKeyListFilters): ApiKeyRecord[] {
  const { limit = 100, page = 0, mode, app_id, org_id } = filters
  const visible = core.store.apikeys
    .listByUser(principal.userId)
    .filter((key) => isAllowed(principal, { mode: 'all', on: 'key', key }))
    .filter(
      (key) =>
        (mode === undefined || key.mode === mode) &&
        (app_id === undefined || key.limited_to_apps.includes(app_id)) &&
        (org_id === undefined || key.limited_to_orgs.includes(org_id)),
    )
  return visible.slice(page * limit, page * limit + limit)
}

/** A key of the caller's within its reach, else 404 as if it did not exist. */
function reachKey(core: Core, principal: Principal, id: number): ApiKeyRecord {
  const record = core.store.apikeys.findById(id)
  if (!record) throw notFound()
  authorize(principal, { mode: 'all', on: 'key', key: record })
  return record
}

export function getApiKey(core: Core, principal: Principal, id: number): ApiKeyView {
  return toApiKeyView(core, reachKey(core, principal, id))
}

/** Asks the rule book (src/access/grant.ts) whether the caller may leave a key with `after`'s terms. */
export function checkWrite(core: Core, granter: Granter, after: KeyTerms, before?: ApiKeyRecord): void {
  checkKeyWrite(granter, { before, after }, grantFacts(core, after))
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
      rate_limit: input.rate_limit === undefined ? principal.record.rate_limit : input.rate_limit,
      enabled: true,
      created_at: core.clock.now().toISOString(),
    }
    checkWrite(core, principal, terms)
    const settings = { name, ...terms }
    const { record, key } = issueKey(core, principal.userId, settings)
    recordAudit(core, actor, 'apikey.create', { type: 'apikey', id: record.id }, { name, mode: terms.mode, limited_to_apps: terms.limited_to_apps, limited_to_orgs: terms.limited_to_orgs, expires_at, rate_limit: terms.rate_limit })
    return toApiKeyView(core, record, key)
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
    checkWrite(core, principal, terms, record)
    const { created_at: _, limited_to_apps, limited_to_orgs, ...settings } = terms
    const changes = {
      ...settings, limited_to_apps: [...limited_to_apps], limited_to_orgs: [...limited_to_orgs], name: name ?? record.name, updated_at: core.clock.now().toISOString(),
    }
    core.store.apikeys.update(id, changes)
    recordAudit(core, actor, 'apikey.update', { type: 'apikey', id }, { changed: Object.keys(input), ...changes })
    return toApiKeyView(core, core.store.apikeys.findById(id)!)
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
    const old = reachKey(core, principal, id)
    if (old.successor_id !== null) throw alreadyRotated(old.successor_id)
    const now = core.clock.now()
    const oldLife = keyExpiry(core, old)
    // A dead key has nothing left to hand over: its successor would be born expired.
    if (oldLife !== null && Date.parse(oldLife) <= now.getTime()) throw conflict('The API key has already expired; create a new one instead')
    const terms: KeyTerms = {
      mode: old.mode,
      limited_to_apps: old.limited_to_apps,
      limited_to_orgs: old.limited_to_orgs,
      expires_at: earlier(oldLife, principal.expiresAt),
      rate_limit: old.rate_limit,
      enabled: old.enabled,
      created_at: now.toISOString(),
    }
    checkWrite(core, principal, terms)
    const { record, key } = issueKey(core, principal.userId, { ...terms, name: old.name, rotated_from: old.id })
    const oldExpiry = earlier(oldLife, new Date(now.getTime() + graceSeconds * 1000).toISOString())
    if (!core.store.apikeys.markRotated(old.id, record.id, oldExpiry, now.toISOString())) throw alreadyRotated(core.store.apikeys.findById(old.id)!.successor_id!)
    recordAudit(core, actor, 'apikey.rotate', { type: 'apikey', id: old.id }, { new_id: record.id, grace_period_seconds: graceSeconds, previous_expires_at: oldExpiry })
    return { apikey: toApiKeyView(core, record, key), previous: { id: old.id, expires_at: oldExpiry } }
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
