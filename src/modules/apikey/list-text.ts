/**
 * GET /apikey/'s whole answer (`{"data": [...]}`) as JSON text, kept for callers that ask
 * again. A dashboard or script polling its keys gets the same list over and over, and making a
 * new 7 KB answer string each time was a fifth of the request (bench/RESULTS.md, scenario b);
 * the same string goes out at a tenth of the cost.
 */
import type { Principal } from '../../access/principal'
import type { Core } from '../../core'
import { derivedOnce } from '../../derived-once'
import type { ApiKeyListFilters } from './model'
import type { ApiKeyRecord } from './repository'
import { listApiKeys } from './service'
import { apiKeyViewsJson } from './view'

interface KeptList {
  /** `UsageTracker.writes` when the text was made: a flush since may show newer last uses. */
  writes: number
  text: string
}

/** Kept texts per caller and query, at most this many per user (then that user's start over). */
const MAX_KEPT_PER_USER = 8
/** At most this many characters of kept text and signatures in all (then all start over): memory stays bounded. */
const MAX_KEPT_CHARS = 2_000_000

/**
 * Kept with the user's cached key list (`listByUser`): any key write forgets that list, and
 * with it these texts. What else the answer depends on is in the signature: the caller's mode
 * and limits (the reach `listApiKeys` filters by) and the query.
 */
let kept = new WeakMap<readonly ApiKeyRecord[], Map<string, KeptList>>()
/** Characters kept since the last start-over (texts dropped since still count: it errs low). */
let keptChars = 0

/** The JSON of a caller's mode and limits, made once per cached principal (which never changes). */
const reachOf = derivedOnce((principal: Principal) =>
  JSON.stringify([principal.mode, principal.limits.limited_to_apps, principal.limits.limited_to_orgs]),
)

/**
 * What a kept text depends on besides the key list: the caller's reach, the page, and the
 * filters when there are any. Serialising all of it on every request was 13.5% of a GET
 * /apikey/'s JavaScript time (bench/RESULTS.md). The reach is a JSON array, the page two
 * numbers, the filters another JSON array or nothing: no two different inputs make the same
 * signature.
 */
function signatureOf(principal: Principal, filters: ApiKeyListFilters): string {
  const { mode, app_id, org_id, limit, page } = filters
  const paged = `${reachOf(principal)} ${limit} ${page}`
  return mode === undefined && app_id === undefined && org_id === undefined ? paged : paged + JSON.stringify([mode, app_id, org_id])
}

export function listApiKeysJson(core: Core, principal: Principal, filters: ApiKeyListFilters): string {
  const keys = core.store.apikeys.listByUser(principal.userId)
  const signature = signatureOf(principal, filters)
  let texts = kept.get(keys)
  if (texts === undefined) kept.set(keys, (texts = new Map()))
  const writes = core.usage.writes
  const known = texts.get(signature)
  if (known !== undefined && known.writes === writes) return known.text
  const text = `{"data":${apiKeyViewsJson(core, listApiKeys(core, principal, filters))}}`
  // The signature counts too: it holds the caller's query (an app_id may be long).
  const size = text.length + signature.length
  if (keptChars + size > MAX_KEPT_CHARS) {
    kept = new WeakMap()
    keptChars = 0
    kept.set(keys, (texts = new Map()))
  } else if (texts.size >= MAX_KEPT_PER_USER) texts.clear()
  texts.set(signature, { writes, text })
  keptChars += size
  return text
}
