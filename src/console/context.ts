/** What every screen is given: the signed-in key, what it may do, where to draw. */
import type { ApiKey } from './api'

export interface Context {
  /** The signed-in key, as GET /apikey/verify describes it. */
  me: ApiKey
  /** What the key's mode and limits allow; the API decides all the same, and its refusals are shown. */
  can: {
    manageKeys: boolean
    readAudit: boolean
    createOrgs: boolean
    /** A key limited to apps sees no organization (it may not act at org level). */
    readOrgs: boolean
  }
  main: HTMLElement
  /** The parameters after `?` in the location's hash. */
  params: URLSearchParams
}

export function capabilities(me: ApiKey): Context['can'] {
  const unlimited = me.limited_to_apps.length === 0 && me.limited_to_orgs.length === 0
  return {
    manageKeys: me.mode === 'all',
    readAudit: me.mode === 'all' && unlimited,
    createOrgs: me.mode === 'all' && unlimited,
    readOrgs: me.limited_to_apps.length === 0,
  }
}
