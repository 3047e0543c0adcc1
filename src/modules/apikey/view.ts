import { maskKey } from '../../access/key-format'
import type { Mode } from '../../access/modes'
import type { KeyLimits } from '../../access/principal'
import type { RateLimit } from '../../access/rate-limit'
import type { ApiKeyView } from './model'
import type { ApiKeyRecord } from '../../store/records'

/** How a view shows a key beyond its record. */
export interface ViewOf {
  /** The key's effective expiry (SPEC §6a): the read model's `keyExpiry`. */
  expiresAt: string | null
  /** Only in the response that creates the key: the key itself, shown once. */
  fullKey?: string
}

/**
 * The public shape of a key: masked everywhere except the response that creates it, with its
 * effective expiry. The hash never leaves the repository.
 */
export function toApiKeyView(record: ApiKeyRecord, { expiresAt, fullKey }: ViewOf): ApiKeyView {
  return {
    id: record.id,
    key: fullKey ?? maskKey(record.key_start),
    mode: record.mode,
    name: record.name,
    user_id: record.user_id,
    created_at: record.created_at,
    updated_at: record.updated_at,
    limited_to_apps: record.limited_to_apps,
    limited_to_orgs: record.limited_to_orgs,
    expires_at: expiresAt,
    enabled: record.enabled,
    rate_limit: record.rate_limit,
    rotated_from: record.rotated_from,
    last_used_at: record.last_used_at,
    last_used_ip: record.last_used_ip,
  }
}

/** `toApiKeyView` as JSON text. */
export function apiKeyViewJson(record: ApiKeyRecord, expiresAt: string | null): string {
  return JSON.stringify(toApiKeyView(record, { expiresAt }))
}

/**
 * What a key's view is made of as the read model keeps it (src/read-model/cached-key.ts):
 * its strings already as JSON (quoted and escaped), so that the answer is put together
 * without escaping anything; two strings that are the same are one.
 */
export interface KeyViewParts {
  readonly keyId: number
  /** The masked key, as JSON. */
  readonly keyJson: string
  readonly mode: Mode
  readonly nameJson: string
  readonly userIdJson: string
  readonly createdAtJson: string
  readonly updatedAtJson: string
  readonly limits: KeyLimits
  readonly expiresAt: string | null
  readonly enabled: boolean
  readonly ownRateLimit: RateLimit | null
  readonly rotatedFrom: number | null
  readonly lastUsedAt: string | null
  readonly lastUsedIp: string | null
}

const listJson = (ids: readonly string[]) => (ids.length === 0 ? '[]' : JSON.stringify(ids))
const textJson = (text: string | null) => (text === null ? 'null' : JSON.stringify(text))

/**
 * GET /apikey/verify's answer for a key, as `toApiKeyView`'s JSON would write it, `mode` the
 * effective one for what was asked (the
 * cache-differential test compares them). Put together per request: keeping each key's 400
 * bytes of answer took two fifths of what a cached key costs, and this costs about 0.1 us
 * (docs/performance.md, "Read model").
 */
export function verifiedJson(k: KeyViewParts, mode: Mode = k.mode): string {
  const rate = k.ownRateLimit === null ? 'null' : JSON.stringify(k.ownRateLimit)
  return (
    `{"valid":true,"apikey":{"id":${k.keyId},"key":${k.keyJson},"mode":"${mode}","name":${k.nameJson},"user_id":${k.userIdJson},` +
    `"created_at":${k.createdAtJson},"updated_at":${k.updatedAtJson},"limited_to_apps":${listJson(k.limits.limited_to_apps)},` +
    `"limited_to_orgs":${listJson(k.limits.limited_to_orgs)},"expires_at":${textJson(k.expiresAt)},"enabled":${k.enabled},` +
    `"rate_limit":${rate},"rotated_from":${k.rotatedFrom},"last_used_at":${textJson(k.lastUsedAt)},"last_used_ip":${textJson(k.lastUsedIp)}}}`
  )
}
