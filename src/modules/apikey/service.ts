/** API key management (SPEC §6–7): plain functions over the store, no HTTP. */
import { checkKeyWrite, checkRotation, type ExistingKey, type Granter, type KeyTerms } from '../../access/grant'
import { generateKey, hashKey, keyStart } from '../../access/key-format'
import { earlier, effectiveExpiry } from '../../access/lifetime'
import type { Mode } from '../../access/modes'
import { authorize, isAllowed } from '../../access/policy'
import type { KeyLimits, Principal } from '../../access/principal'
import type { RateLimit } from '../../access/rate-limit'
import { writeAs, type PrincipalTx } from '../../access/write-as'
import type { Actor, Core } from '../../core'
import { alreadyRotated, conflict, notFound, validationError } from '../../errors'
import { normalizeName, parseFutureInstant, unique } from '../../validation'
import { recordAudit } from '../audit/service'
import { pageStart } from '../../http/schemas'
import type { KeyListRow } from '../../read-model/entries'
import type { ApiKeyCreateInput, ApiKeyListFilters, ApiKeyUpdateInput, ApiKeyView, Rotated } from './model'
import { grantFacts } from './policies'
import type { ReadModel } from '../../read-model/read-model'
import type { ApiKeyRecord } from '../../store/records'
import type { Repos, Tx } from '../../store/types'
import { toApiKeyView } from './view'

export const MAX_KEYS_PER_USER = 1000

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
 * Creates a key for `userId` in the transaction and returns the stored record with the full
 * key, which exists nowhere else: only its hash and first characters are stored.
 */
export async function issueKey(core: Core, tx: Tx, userId: string, settings: KeySettings): Promise<{ record: ApiKeyRecord; key: string }> {
  if ((await tx.apikeys.countByUser(userId)) >= MAX_KEYS_PER_USER)
    throw conflict(`Too many API keys: at most ${MAX_KEYS_PER_USER} per user`)
  const key = generateKey()
  const now = core.clock.now().toISOString()
  const record = await tx.apikeys.insert({
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
export async function keysWithinReach(core: Core, principal: Principal): Promise<ApiKeyRecord[]> {
  return (await core.store.apikeys.listByUser(principal.userId)).filter((key) => isAllowed(principal, { mode: 'all', on: 'key', key }))
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
export async function reachKey(repos: Repos, principal: Principal, id: number): Promise<ApiKeyRecord> {
  const record = await repos.apikeys.findById(id)
  if (!record) throw notFound()
  authorize(principal, { mode: 'all', on: 'key', key: record })
  return record
}

export async function getApiKey(core: Core, principal: Principal, id: number): Promise<ApiKeyView> {
  return view(core.readModel, await reachKey(core.store, principal, id))
}

/** A key's view, with its effective expiry (`fullKey`: the response that creates it). */
export async function view(lookups: ReadModel, record: ApiKeyRecord, fullKey?: string): Promise<ApiKeyView> {
  return toApiKeyView(record, { expiresAt: await lookups.keyExpiry(record), fullKey })
}

/**
 * Asks the rule book (src/access/grant.ts) whether the caller may leave a key with `after`'s
 * terms; `before` is the key changed, `inherited` the limits taken as they are.
 */
export async function checkWrite(
  core: Core, fresh: ReadModel, granter: Granter, after: KeyTerms, change: { before?: ExistingKey; inherited?: KeyLimits } = {},
): Promise<void> {
  checkKeyWrite(granter, { ...change, after }, await grantFacts(core, fresh, after, change.before))
}

/** A stored key as the rule book sees it: its successor named only when the caller may see it. */
async function existing({ tx }: PrincipalTx, principal: Principal, record: ApiKeyRecord): Promise<ExistingKey> {
  if (record.successor_id === null) return { ...record, rotated: null }
  const successor = await tx.apikeys.findById(record.successor_id)
  const visible = successor !== null && isAllowed(principal, { mode: 'all', on: 'key', key: successor })
  return { ...record, rotated: { successor: visible ? record.successor_id : null } }
}

/**
 * Creates a key within the caller's reach; the view carries the full key, once. Omitted limits,
 * expiry and rate limit are the caller's own.
 */
export async function createApiKey(core: Core, principal: Principal, actor: Actor, input: ApiKeyCreateInput): Promise<ApiKeyView> {
  const name = normalizeName(input.name)
  const expires_at = input.expires_at == null ? principal.expiresAt : parseFutureInstant(input.expires_at, core.clock.now())
  return writeAs(core, principal, async (at) => {
    const terms: KeyTerms = {
      mode: input.mode,
      limited_to_apps: unique(input.limited_to_apps ?? principal.limits.limited_to_apps),
      limited_to_orgs: unique(input.limited_to_orgs ?? principal.limits.limited_to_orgs),
      expires_at,
      rate_limit: input.rate_limit === undefined ? principal.ownRateLimit : input.rate_limit,
      enabled: true,
      created_at: core.clock.now().toISOString(),
    }
    await checkWrite(core, at.fresh, principal, terms)
    const { record, key } = await issueKey(core, at.tx, principal.userId, { name, ...terms })
    await recordAudit(core, at.tx, actor, 'apikey.create', { type: 'apikey', id: record.id }, {
      name, mode: terms.mode, limited_to_apps: terms.limited_to_apps, limited_to_orgs: terms.limited_to_orgs, expires_at, rate_limit: terms.rate_limit,
    })
    return view(at.fresh, record, key)
  })
}

/**
 * Changes a key within the caller's reach. A change that gives the key anything it had not
 * must leave it within the caller's bounds in every dimension (SPEC §6).
 */
export async function updateApiKey(core: Core, principal: Principal, actor: Actor, id: number, input: ApiKeyUpdateInput): Promise<ApiKeyView> {
  if (Object.keys(input).length === 0)
    throw validationError('Nothing to update: send at least one of name, mode, limited_to_apps, limited_to_orgs, expires_at, enabled, rate_limit')
  const name = input.name === undefined ? undefined : normalizeName(input.name)
  const expiresAt = input.expires_at == null ? input.expires_at : parseFutureInstant(input.expires_at, core.clock.now())
  return writeAs(core, principal, async (at) => {
    const record = await reachKey(at.tx, principal, id)
    const terms: KeyTerms = {
      mode: input.mode ?? record.mode,
      limited_to_apps: input.limited_to_apps === undefined ? record.limited_to_apps : unique(input.limited_to_apps),
      limited_to_orgs: input.limited_to_orgs === undefined ? record.limited_to_orgs : unique(input.limited_to_orgs),
      expires_at: expiresAt === undefined ? record.expires_at : expiresAt,
      rate_limit: input.rate_limit === undefined ? record.rate_limit : input.rate_limit,
      enabled: input.enabled ?? record.enabled,
      created_at: record.created_at,
    }
    await checkWrite(core, at.fresh, principal, terms, { before: await existing(at, principal, record) })
    const { created_at: _, limited_to_apps, limited_to_orgs, ...settings } = terms
    const changes = {
      ...settings, limited_to_apps: [...limited_to_apps], limited_to_orgs: [...limited_to_orgs], name: name ?? record.name, updated_at: core.clock.now().toISOString(),
    }
    await at.tx.apikeys.update(id, changes)
    await recordAudit(core, at.tx, actor, 'apikey.update', { type: 'apikey', id }, { changed: Object.keys(input), ...changes })
    return view(at.fresh, (await at.tx.apikeys.findById(id))!)
  })
}

/**
 * A new secret with the same settings and a new id, once per key (SPEC §6): a key that has a
 * successor answers 409 `already_rotated`. The successor is a new key of the caller's: it
 * never outlives the caller nor the policies, and the rule book judges it like any new key
 * (a caller whose rate limit is tighter than the key's may not rotate it: 403). The old key
 * stops at the earlier of its own (effective) expiry and now + grace.
 */
export async function rotateApiKey(core: Core, principal: Principal, actor: Actor, id: number, graceSeconds: number): Promise<Rotated> {
  return writeAs(core, principal, async (at) => {
    const record = await reachKey(at.tx, principal, id)
    const old = await existing(at, principal, record)
    const now = core.clock.now()
    const facts = await grantFacts(core, at.fresh, old, old)
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
    await checkWrite(core, at.fresh, principal, terms, { inherited: old })
    const { record: successor, key } = await issueKey(core, at.tx, principal.userId, { ...terms, name: record.name, rotated_from: id })
    const oldExpiry = earlier(oldLife, new Date(now.getTime() + graceSeconds * 1000).toISOString())
    // Rotations that raced: writers take turns, and the later one finds the earlier one's successor.
    if (!(await at.tx.apikeys.markRotated(id, successor.id, oldExpiry, now.toISOString()))) throw alreadyRotated(null)
    await recordAudit(core, at.tx, actor, 'apikey.rotate', { type: 'apikey', id }, { new_id: successor.id, grace_period_seconds: graceSeconds, previous_expires_at: oldExpiry })
    return { apikey: await view(at.fresh, successor, key), previous: { id, expires_at: oldExpiry } }
  })
}

/** Deletes (revokes) a key within the reach of an `all` key; any key may delete itself. */
export async function deleteApiKey(core: Core, principal: Principal, actor: Actor, id: number): Promise<void> {
  // A key below `all` asking for another key is refused here, before the write transaction.
  authorize(principal, { mode: 'all', on: 'revoke', keyId: id })
  await writeAs(core, principal, async ({ tx }) => {
    const found = await tx.apikeys.findById(id)
    authorize(principal, { mode: 'all', on: 'revoke', keyId: id, key: found })
    const record = found!
    await tx.apikeys.delete(id)
    await recordAudit(core, tx, actor, 'apikey.delete', { type: 'apikey', id }, { name: record.name, mode: record.mode })
  })
}
