import { maskKey } from '../../access/key-format'
import type { ApiKeyRecord } from './repository'
import type { ApiKeyView } from './model'
import type { UsageTracker } from './usage'

/**
 * The public shape of a key. `fullKey` is passed only by the response that creates the key;
 * everywhere else the key is masked. The hash never leaves the repository. `usage` supplies
 * the last use written since the record was cached (see UsageTracker).
 */
export function toApiKeyView(record: ApiKeyRecord, usage: Pick<UsageTracker, 'lastWritten'> | null, fullKey?: string): ApiKeyView {
  const lastUse = usage?.lastWritten(record.id)
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
    last_used_at: lastUse ? lastUse.at : record.last_used_at,
    last_used_ip: lastUse ? lastUse.ip : record.last_used_ip,
    rate_limit: record.rate_limit,
    rotated_from: record.rotated_from,
  }
}
