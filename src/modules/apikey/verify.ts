/**
 * GET /apikey/verify: may the calling key do `mode` (default read) on `app_id` / `org_id`?
 * For reverse proxies, which understand only 2xx, 401 and 403: what is beyond reach answers
 * 403 here, never 404 (it reveals nothing more than a plain refusal).
 */
import type { Mode } from '../../access/modes'
import { decide, effectiveMode, type Decision } from '../../access/policy'
import type { Principal } from '../../access/principal'
import type { Core } from '../../core'
import { forbidden, validationError } from '../../errors'
import { then } from '../../store/awaitable'
import type { Awaitable } from '../../store/types'
import type { VerifyQuery } from './model'

const VERIFY_DENIED = 'The API key does not grant this access'

const CHECKED = ['mode', 'app_id', 'org_id']

/**
 * A parameter given twice is ambiguous: a proxy and this server might read different values.
 * A scan of the raw query, not a URL parse, as this runs on every verify; names are decoded
 * (only) when they hold a `%`, so `mod%65=` counts as `mode=`.
 */
export function refuseRepeatedParameters(url: string): void {
  let from = url.indexOf('?') + 1
  if (from === 0) return
  let seen = 0
  while (from < url.length) {
    let end = url.indexOf('&', from)
    if (end === -1) end = url.length
    const equals = url.indexOf('=', from)
    let name = url.slice(from, equals === -1 || equals > end ? end : equals)
    if (name.includes('%')) name = safeDecode(name)
    const index = CHECKED.indexOf(name)
    if (index !== -1) {
      if (seen & (1 << index)) throw validationError(`Invalid query field '${name}': given more than once`)
      seen |= 1 << index
    }
    from = end + 1
  }
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text)
  } catch {
    return text
  }
}

/**
 * Throws the 403 unless the calling key may do `query.mode` on what the query names; else the
 * key's effective mode there: the lower of its mode and its user's role in the org asked about
 * (the key's own mode when no org or app is named).
 */
export function verifyAccess(core: Core, principal: Principal, query: VerifyQuery): Awaitable<Mode> {
  const mode = query.mode ?? 'read'
  if (query.app_id !== undefined) {
    const orgId = query.org_id
    return then(core.readModel.app(query.app_id), (app) =>
      allowed(
        principal,
        app && (orgId === undefined || app.org_id === orgId) ? decide(principal, { mode, on: 'app', orgId: app.org_id, appId: app.app_id }) : 'hidden',
        app?.org_id,
      ),
    )
  }
  if (query.org_id !== undefined) return allowed(principal, decide(principal, { mode, on: 'org', orgId: query.org_id }), query.org_id)
  return allowed(principal, decide(principal, { mode, on: 'any' }), undefined)
}

/** The key's effective mode in `orgId` (its own mode when none) once allowed; else the 403. */
function allowed(principal: Principal, decision: Decision, orgId: string | undefined): Mode {
  if (decision !== 'allow') throw forbidden(VERIFY_DENIED)
  return orgId === undefined ? principal.mode : effectiveMode(principal, orgId)
}
