import { maskKey } from '../../access/key-format'
import type { ApiKeyRecord } from './repository'
import type { ApiKeyView } from './model'

/**
 * The public shape of a key. `fullKey` is passed only by the response that creates the key;
 * everywhere else the key is masked. The hash never leaves the repository.
 */
export function toApiKeyView(record: ApiKeyRecord, fullKey?: string): ApiKeyView {
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
    last_used_at: record.last_used_at,
    last_used_ip: record.last_used_ip,
    rate_limit: record.rate_limit,
    rotated_from: record.rotated_from,
  }
}
