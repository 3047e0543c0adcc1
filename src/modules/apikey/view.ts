import { maskKey } from '../../access/key-format'
import { jsonArray } from '../../http/json-text'
import type { ApiKeyView } from './model'
import type { ApiKeyRecord } from './repository'
import type { LastUse, UsageTracker } from './usage'

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

interface WrittenView {
  /** The last use the text shows (undefined: the record's own). */
  lastUse: LastUse | undefined
  text: string
}

const viewTexts = new WeakMap<ApiKeyRecord, WrittenView>()

/**
 * `toApiKeyView(record, usage)` as JSON text, kept with the record until the tracker writes a
 * newer last use. Records come from the read cache and are never changed, so the text stays
 * right as long as both do (verify and key lists answer from it, bench/RESULTS.md).
 */
export function apiKeyViewJson(record: ApiKeyRecord, usage: Pick<UsageTracker, 'lastWritten'>): string {
  const lastUse = usage.lastWritten(record.id)
  let written = viewTexts.get(record)
  if (written === undefined || written.lastUse !== lastUse) {
    written = { lastUse, text: JSON.stringify(toApiKeyView(record, usage)) }
    viewTexts.set(record, written)
  }
  return written.text
}

/** The records' views as a JSON array, each text kept as `apiKeyViewJson` keeps it. */
export function apiKeyViewsJson(records: readonly ApiKeyRecord[], usage: Pick<UsageTracker, 'lastWritten'>): string {
  return jsonArray(records, (record) => apiKeyViewJson(record, usage))
}
