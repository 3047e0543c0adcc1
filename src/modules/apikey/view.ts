import { maskKey } from '../../access/key-format'
import type { Mode } from '../../access/modes'
import type { Core } from '../../core'
import { jsonArray } from '../../http/json-text'
import type { ApiKeyView } from './model'
import { keyExpiry } from './policies'
import type { ApiKeyRecord } from './repository'
import type { LastUse } from './usage'

/**
 * The public shape of a key. `fullKey` is passed only by the response that creates the key;
 * everywhere else the key is masked. The hash never leaves the repository. `expires_at` is the
 * effective expiry (SPEC §6a); the usage tracker supplies the last use written since the
 * record was cached (see UsageTracker).
 */
export function toApiKeyView(core: Core, record: ApiKeyRecord, fullKey?: string): ApiKeyView {
  const lastUse = fullKey === undefined ? core.usage.lastWritten(record.id) : undefined
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
    expires_at: keyExpiry(core, record),
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
 * `toApiKeyView(core, record)` as JSON text, kept with the record until the tracker writes a
 * newer last use. Records come from the read cache and are never changed, so the text stays
 * right as long as both do (verify and key lists answer from it, bench/RESULTS.md).
 */
export function apiKeyViewJson(core: Core, record: ApiKeyRecord): string {
  const lastUse = core.usage.lastWritten(record.id)
  let written = viewTexts.get(record)
  if (written === undefined || written.lastUse !== lastUse) {
    written = { lastUse, text: JSON.stringify(toApiKeyView(core, record)) }
    viewTexts.set(record, written)
  }
  return written.text
}

/** The view of a key as verify shows it: `mode` is the effective mode for what was asked (SPEC §7). */
export function verifiedViewJson(core: Core, record: ApiKeyRecord, mode: Mode): string {
  return mode === record.mode ? apiKeyViewJson(core, record) : JSON.stringify({ ...toApiKeyView(core, record), mode })
}

/** The records' views as a JSON array, each text kept as `apiKeyViewJson` keeps it. */
export function apiKeyViewsJson(core: Core, records: readonly ApiKeyRecord[]): string {
  return jsonArray(records, (record) => apiKeyViewJson(core, record))
}
