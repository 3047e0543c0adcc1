import { maskKey } from '../../access/key-format'
import type { ApiKeyView } from './model'
import type { ApiKeyRecord } from './repository'

type ViewWithoutLastUse = Omit<ApiKeyView, 'last_used_at' | 'last_used_ip'>

function withoutLastUse(record: ApiKeyRecord, fullKey?: string): ViewWithoutLastUse {
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
    expires_at: record.expires_at,
    enabled: record.enabled,
    rate_limit: record.rate_limit,
    rotated_from: record.rotated_from,
  }
}

/**
 * The public shape of a key. `fullKey` is passed only by the response that creates the key;
 * everywhere else the key is masked. The hash never leaves the repository. The last use comes
 * last, as in the JSON texts below.
 */
export function toApiKeyView(record: ApiKeyRecord, fullKey?: string): ApiKeyView {
  return { ...withoutLastUse(record, fullKey), last_used_at: record.last_used_at, last_used_ip: record.last_used_ip }
}

/**
 * The key's view as JSON text without its last use and closing brace: what the read model
 * keeps of a key, so that a last use written later changes only `lastUseJson`'s part.
 */
export function viewHeadJson(record: ApiKeyRecord): string {
  return JSON.stringify(withoutLastUse(record)).slice(0, -1)
}

/** The end of a key's JSON view: its last use, and the closing brace. */
export function lastUseJson(at: string | null, ip: string | null): string {
  return `,"last_used_at":${JSON.stringify(at)},"last_used_ip":${JSON.stringify(ip)}}`
}

/** GET /apikey/verify's answer for a key, up to its last use: joined with `verifiedTailJson`'s, the whole answer. */
export function verifiedHeadJson(record: ApiKeyRecord): string {
  return `{"valid":true,"apikey":${viewHeadJson(record)}`
}

/** The rest of GET /apikey/verify's answer: the key's last use and the closing braces. */
export function verifiedTailJson(at: string | null, ip: string | null): string {
  return `${lastUseJson(at, ip)}}`
}

/** `toApiKeyView(record)` as JSON text. */
export function apiKeyViewJson(record: ApiKeyRecord): string {
  return viewHeadJson(record) + lastUseJson(record.last_used_at, record.last_used_ip)
}
