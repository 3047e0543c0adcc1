/** API key management (SPEC §6–7): plain functions over the store, no HTTP. */
import { generateKey, hashKey, keyStart } from '../../access/key-format'
import type { Mode } from '../../access/modes'
import { authorize, isAllowed } from '../../access/policy'
import type { KeyLimits, Principal } from '../../access/principal'
import type { RateLimit } from '../../access/rate-limit'
import type { Actor, Core } from '../../core'
import { checkStanding, expiryMs } from '../../access/authenticate'
import { conflict, notFound, validationError } from '../../errors'
import { pageStart } from '../../http/schemas'
import { recordAudit } from '../audit/service'
import { checkExpiry, earlier, policyBound } from './expiry'
import { resolveLimits } from './limits'
import type { ApiKeyCreateInput, ApiKeyListFilters, ApiKeyUpdateInput, ApiKeyView, Rotated } from './model'
import type { KeyListRow } from '../../read-model/entries'
import type { ApiKeyRecord } from './repository'
import { normalizeName, parseFutureInstant } from './validate'
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

/** Throws the 401 the key would get now, or a 409 when what it may do changed since it got in. */
function stillAdmitted(core: Core, principal: Principal): void {
  const now = core.store.apikeys.findById(principal.keyId)
  checkStanding(core, now && { enabled: now.enabled, expiresAtMs: expiryMs(now.expires_at) })
  // Gone, checkStanding has thrown.
  const { mode, expires_at, limited_to_apps, limited_to_orgs, rate_limit } = now!
  const same =
    mode === principal.mode &&
    expires_at === principal.expiresAt &&
    JSON.stringify([limited_to_apps, limited_to_orgs, rate_limit]) ===
      JSON.stringify([principal.limits.limited_to_apps, principal.limits.limited_to_orgs, principal.ownRateLimit])
  if (!same) throw conflict('The calling API key was changed while this request waited; send it again')
}

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
function reachKey(core: Core, principal: Principal, id: number): ApiKeyRecord {
  const record = core.store.apikeys.findById(id)
  if (!record) throw notFound()
  authorize(principal, { mode: 'all', on: 'key', key: record })
  return record
}

export function getApiKey(core: Core, principal: Principal, id: number): ApiKeyView {
  return toApiKeyView(reachKey(core, principal, id))
}

/** Creates a key within the caller's reach; the view carries the full key, once. */
export function createApiKey(core: Core, principal: Principal, actor: Actor, input: ApiKeyCreateInput): Promise<ApiKeyView> {
  const name = normalizeName(input.name)
  const limits = resolveLimits(core, principal, input)
  // Omitted, the rate limit is the caller's own, like the other limits.
  const rate_limit = input.rate_limit === undefined ? principal.ownRateLimit : input.rate_limit
  authorize(principal, { mode: 'all', on: 'grant', limits, rateLimit: rate_limit ?? core.policy.keyRateLimit })
  // Omitted (or null), the expiry is the caller's own.
  const requested = input.expires_at == null ? principal.expiresAt : parseFutureInstant(input.expires_at, core.clock.now())
  const expires_at = checkExpiry(core, principal, requested)
  return keyWrite(core, principal, () => {
    const settings = { name, mode: input.mode, expires_at, rate_limit, ...limits }
    const { record, key } = issueKey(core, principal.userId, settings)
    recordAudit(core, actor, 'apikey.create', { type: 'apikey', id: record.id }, settings)
    return toApiKeyView(record, key)
  })
}

/** Changes a key within the caller's reach; the result must stay within it (SPEC §6). */
export function updateApiKey(core: Core, principal: Principal, actor: Actor, id: number, input: ApiKeyUpdateInput): Promise<ApiKeyView> {
  if (Object.keys(input).length === 0)
    throw validationError('Nothing to update: send at least one of name, mode, limited_to_apps, limited_to_orgs, expires_at, enabled, rate_limit')
  return keyWrite(core, principal, () => {
    const record = reachKey(core, principal, id)
    const changesLimits = input.limited_to_apps !== undefined || input.limited_to_orgs !== undefined
    const limits = changesLimits ? resolveLimits(core, principal, input, record) : record
    // A rate limit left as it is is not handed out anew; a changed one may not exceed the caller's.
    const rateLimit = input.rate_limit === undefined ? principal.rateLimit : (input.rate_limit ?? core.policy.keyRateLimit)
    authorize(principal, { mode: 'all', on: 'grant', limits, rateLimit })
    const expires_at =
      input.expires_at === undefined
        ? record.expires_at
        : checkExpiry(core, principal, input.expires_at === null ? null : parseFutureInstant(input.expires_at, core.clock.now()))
    const changes = {
      name: input.name === undefined ? record.name : normalizeName(input.name),
      mode: input.mode ?? record.mode,
      limited_to_apps: [...limits.limited_to_apps],
      limited_to_orgs: [...limits.limited_to_orgs],
      expires_at,
      enabled: input.enabled ?? record.enabled,
      rate_limit: input.rate_limit === undefined ? record.rate_limit : input.rate_limit,
      updated_at: core.clock.now().toISOString(),
    }
    core.store.apikeys.update(id, changes)
    recordAudit(core, actor, 'apikey.update', { type: 'apikey', id }, { changed: Object.keys(input), ...changes })
    return toApiKeyView(core.store.apikeys.findById(id)!)
  })
}

/**
 * A new secret with the same settings and a new id; the old key stops at the earlier of its
 * own expiry and now + grace. Neither key outlives the caller, nor the server policy. A new
 * secret is a grant: a caller whose rate limit is tighter than the key's may not rotate it
 * (403), as it may not create such a key, or else it would get round its own limit.
 */
export function rotateApiKey(core: Core, principal: Principal, actor: Actor, id: number, graceSeconds: number): Promise<Rotated> {
  return keyWrite(core, principal, () => {
    const old = reachKey(core, principal, id)
    authorize(principal, { mode: 'all', on: 'grant', limits: old, rateLimit: old.rate_limit ?? core.policy.keyRateLimit })
    const now = core.clock.now()
    // A dead key has nothing left to hand over: its successor would be born expired.
    if (old.expires_at !== null && Date.parse(old.expires_at) <= now.getTime()) throw conflict('The API key has already expired; create a new one instead')
    const bound = earlier(principal.expiresAt, policyBound(core))
    const { record, key } = issueKey(core, principal.userId, {
      name: old.name,
      mode: old.mode,
      limited_to_apps: old.limited_to_apps,
      limited_to_orgs: old.limited_to_orgs,
      expires_at: earlier(old.expires_at, bound),
      rate_limit: old.rate_limit,
      enabled: old.enabled,
      rotated_from: old.id,
    })
    const oldExpiry = earlier(old.expires_at, new Date(now.getTime() + graceSeconds * 1000).toISOString())
    core.store.apikeys.setExpiry(old.id, oldExpiry, now.toISOString())
    recordAudit(core, actor, 'apikey.rotate', { type: 'apikey', id: old.id }, { new_id: record.id, grace_period_seconds: graceSeconds, previous_expires_at: oldExpiry })
    return { apikey: toApiKeyView(record, key), previous: { id: old.id, expires_at: oldExpiry } }
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
