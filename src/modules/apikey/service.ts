/** API key management (SPEC §6–7): plain functions over the store, no HTTP. */
import { generateKey, hashKey, keyStart } from '../../access/key-format'
import type { Mode } from '../../access/modes'
import { authorize, isAllowed } from '../../access/policy'
import type { KeyLimits, Principal } from '../../access/principal'
import type { Actor, Core } from '../../core'
import { inTransaction } from '../../db/database'
import { AppError, conflict, forbidden, invalidExpiresAt, notFound } from '../../errors'
import { recordAudit } from '../audit/service'
import type { ApiKeyCreateInput, ApiKeyListFilters, ApiKeyView, VerifyQuery } from './model'
import type { ApiKeyRecord } from './repository'
import { resolveLimits } from './limits'
import { normalizeName, parseFutureInstant } from './validate'
import { toApiKeyView } from './view'

export const MAX_KEYS_PER_USER = 1000

export interface KeySettings extends KeyLimits {
  name: string
  mode: Mode
  expires_at: string | null
  rotated_from?: number | null
}

/**
 * Creates a key for `userId` and returns the stored record with the full key, which exists
 * nowhere else: only its hash and first characters are stored. Call inside a transaction.
 */
export function issueKey(core: Core, userId: string, settings: KeySettings): { record: ApiKeyRecord; key: string } {
  const key = generateKey()
  const now = core.clock.now().toISOString()
  const id = core.store.apikeys.insert({
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
    rotated_from: settings.rotated_from ?? null,
  })
  return { record: core.store.apikeys.findById(id)!, key }
}

/** The caller's keys within its reach, newest first, filtered and paginated. */
export function listApiKeys(core: Core, principal: Principal, filters: ApiKeyListFilters): ApiKeyView[] {
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
  return visible.slice(page * limit, page * limit + limit).map((key) => toApiKeyView(key))
}

/** Creates a key within the caller's reach; the view carries the full key, once. */
export function createApiKey(core: Core, principal: Principal, actor: Actor, input: ApiKeyCreateInput): ApiKeyView {
  const name = normalizeName(input.name)
  const limits = resolveLimits(core, principal, input)
  authorize(principal, { mode: 'all', on: 'grant', limits })
  const expires_at = resolveExpiry(core, principal, input.expires_at ?? null)
  return inTransaction(core.store.db, () => {
    if (core.store.apikeys.countByUser(principal.userId) >= MAX_KEYS_PER_USER)
      throw conflict(`Too many API keys: at most ${MAX_KEYS_PER_USER} per user`)
    const { record, key } = issueKey(core, principal.userId, { name, mode: input.mode, expires_at, ...limits })
    recordAudit(core, actor, 'apikey.create', { type: 'apikey', id: record.id }, {
      name, mode: record.mode, ...limits, expires_at,
    })
    return toApiKeyView(record, key)
  })
}

/** Deletes (revokes) a key within the caller's reach; a key may delete itself. */
export function deleteApiKey(core: Core, principal: Principal, actor: Actor, id: number): void {
  inTransaction(core.store.db, () => {
    const record = core.store.apikeys.findById(id)
    if (!record) throw notFound()
    authorize(principal, { mode: 'all', on: 'key', key: record })
    core.store.apikeys.delete(id)
    recordAudit(core, actor, 'apikey.delete', { type: 'apikey', id }, { name: record.name, mode: record.mode })
  })
}

/** A new key never outlives the calling key; omitted, it inherits the caller's expiry. */
function resolveExpiry(core: Core, principal: Principal, requested: string | null): string | null {
  if (requested === null) return principal.expiresAt
  const expires = parseFutureInstant(requested, core.clock.now())
  if (principal.expiresAt !== null && expires > principal.expiresAt)
    throw invalidExpiresAt('expires_at must not be later than the expiry of the calling key')
  return expires
}

/**
 * GET /apikey/verify: may the calling key do `mode` (default read) on `app_id` / `org_id`?
 * For reverse proxies, which understand only 2xx, 401 and 403: what is beyond reach answers
 * 403 here, never 404 (it reveals nothing more than a plain refusal).
 */
export function verifyApiKey(core: Core, principal: Principal, query: VerifyQuery): ApiKeyView {
  const mode = query.mode ?? 'read'
  try {
    if (query.app_id !== undefined) {
      const app = core.store.apps.findById(query.app_id)
      if (!app || (query.org_id !== undefined && app.org_id !== query.org_id)) throw notFound()
      authorize(principal, { mode, on: 'app', orgId: app.org_id, appId: app.app_id })
    } else if (query.org_id !== undefined) {
      authorize(principal, { mode, on: 'org', orgId: query.org_id })
    } else {
      authorize(principal, { mode, on: 'any' })
    }
  } catch (error) {
    if (error instanceof AppError && (error.status === 404 || error.status === 403)) throw forbidden(VERIFY_DENIED)
    throw error
  }
  return toApiKeyView(core.store.apikeys.findById(principal.keyId)!)
}

const VERIFY_DENIED = 'The API key does not grant this access'

/** Operator (offline CLI) view of a user's keys, masked: for finding a lost or leaked key. */
export function listKeysOfUser(core: Core, userId: string): ApiKeyView[] {
  return core.store.apikeys.listByUser(userId).map((key) => toApiKeyView(key))
}

/** Operator revocation, outside any key's reach rules; audited in the owner's log, with no actor key. */
export function revokeKey(core: Core, id: number): void {
  inTransaction(core.store.db, () => {
    const record = core.store.apikeys.findById(id)
    if (!record) throw notFound()
    core.store.apikeys.delete(id)
    const operator: Actor = { userId: record.user_id, keyId: null, ip: null, userAgent: 'codepushgo-cli' }
    recordAudit(core, operator, 'apikey.revoke', { type: 'apikey', id }, { name: record.name, mode: record.mode })
  })
}
