/**
 * GET /apikey/verify: may the calling key do `mode` (default read) on `app_id` / `org_id`?
 * For reverse proxies, which understand only 2xx, 401 and 403: what is beyond reach answers
 * 403 here, never 404 (it reveals nothing more than a plain refusal).
 */
import { authorize } from '../../access/policy'
import type { Principal } from '../../access/principal'
import type { Core } from '../../core'
import { AppError, forbidden, notFound, validationError } from '../../errors'
import type { ApiKeyView, VerifyQuery } from './model'
import { toApiKeyView } from './view'

const VERIFY_DENIED = 'The API key does not grant this access'

/** A parameter given twice is ambiguous: a proxy and this server might read different values. */
export function refuseRepeatedParameters(url: string): void {
  const query = url.slice(url.indexOf('?') + 1)
  const seen = new Set<string>()
  // A scan of the raw query, not a URL parse: this runs on every verify.
  for (const [, name] of query.matchAll(/(?:^|&)(mode|app_id|org_id)(?==|&|$)/g)) {
    if (seen.has(name!)) throw validationError(`Invalid query field '${name}': given more than once`)
    seen.add(name!)
  }
}

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
  return toApiKeyView(principal.record)
}
