/**
 * GET /apikey/'s whole answer (`{"data": [...]}`) as JSON text, kept with the user's key list
 * in the read model for callers that ask again. A dashboard or script polling its keys gets
 * the same list over and over, and making a new 7 KB answer each time was a fifth of the
 * request; the same string goes out at a tenth of the cost (docs/performance.md, "Answers kept
 * as text"). Any write of one of the user's keys, or of its last use, drops the list and its
 * answers.
 */
import type { Core } from '../../core'
import { jsonArray } from '../../http/json-text'
import { pageStart } from '../../http/schemas'
import type { CachedKey } from '../../read-model/cached-key'
import type { Awaitable } from '../../store/types'
import type { ApiKeyListFilters } from './model'
import { listApiKeys } from './service'

/**
 * What a kept text depends on besides the key list: the caller's reach (kept with the cached
 * key), the page or cursor, and the filters when there are any. The reach is a JSON array,
 * the paging numbers, the filters another JSON array or nothing: no two different inputs make
 * the same signature.
 */
function signatureOf(caller: CachedKey, filters: ApiKeyListFilters): string {
  const { mode, app_id, org_id, limit, page, after } = filters
  const paged = `${caller.reach} ${limit} ${page} ${after}`
  return mode === undefined && app_id === undefined && org_id === undefined ? paged : paged + JSON.stringify([mode, app_id, org_id])
}

/** GET /apikey/'s answer for the caller (400 for `page` with `after`). */
export function listApiKeysJson(core: Core, caller: CachedKey, filters: ApiKeyListFilters): Awaitable<string> {
  pageStart(filters)
  return core.readModel.keyListText(caller.userId, signatureOf(caller, filters), (list) =>
    `{"data":${jsonArray(listApiKeys(list.rows, caller, filters), (row) => row.json)}}`,
  )
}
