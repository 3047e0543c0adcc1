import { maskKey } from '../../access/key-format'
import type { ApiKeyRecord } from './repository'
import type { ApiKeyView } from './model'

/**
 * Masked views, made once per record: records come from the read cache and never change (a
 * write loads new ones), and listing or verifying keys would otherwise rebuild the same views
 * on every request.
 */
const maskedViews = new WeakMap<ApiKeyRecord, ApiKeyView>()

/**
 * The public shape of a key. `fullKey` is passed only by the response that creates the key;
 * everywhere else the key is masked. The hash never leaves the repository. Shared: read-only.
 */
export function toApiKeyView(record: ApiKeyRecord, fullKey?: string): ApiKeyView {
  if (fullKey !== undefined) return view(record, fullKey)
  let masked = maskedViews.get(record)
  if (masked === undefined) {
    masked = view(record, maskKey(record.key_start))
    maskedViews.set(record, masked)
  }
  return masked
}

function view(record: ApiKeyRecord, key: string): ApiKeyView {
  return {
    id: record.id,
    key,
    mode: record.mode,
    name: record.name,
    user_id: record.user_id,
    created_at: record.created_at,
    updated_at: record.updated_at,
    limited_to_apps: record.limited_to_apps,
    limited_to_orgs: record.limited_to_orgs,
    expires_at: record.expires_at,
    enabled: record.enabled,
    last_used_at: record.last_used_at,
    last_used_ip: record.last_used_ip,
    rate_limit: record.rate_limit,
    rotated_from: record.rotated_from,
  }
}
