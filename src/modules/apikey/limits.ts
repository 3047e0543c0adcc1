/**
 * Resolution of `limited_to_orgs` / `limited_to_apps` for a new or changed key (SPEC §6,
 * attenuation): an omitted dimension keeps `inherited` (for a new key, the caller's list; for
 * a changed one, its own); given ids must name orgs and apps the
 * caller can see. Unknown, foreign and out-of-reach ids get one and the same 400, so a limited
 * key learns nothing about what lies beyond its reach.
 */
import type { KeyLimits, Principal } from '../../access/principal'
import type { Core } from '../../core'
import { AppError } from '../../errors'
import { unique } from './validate'

interface RequestedLimits {
  limited_to_apps?: readonly string[]
  limited_to_orgs?: readonly string[]
}

export function resolveLimits(core: Core, principal: Principal, requested: RequestedLimits, inherited: KeyLimits = principal.limits): KeyLimits {
  const caller = principal.limits
  const orgs = unique(requested.limited_to_orgs ?? inherited.limited_to_orgs)
  const apps = unique(requested.limited_to_apps ?? inherited.limited_to_apps)

  const visibleOrgs = (org: string) =>
    principal.memberships.has(org) && (caller.limited_to_orgs.length === 0 || caller.limited_to_orgs.includes(org))
  const badOrgs = orgs.filter((org) => !visibleOrgs(org))
  if (badOrgs.length > 0)
    throw new AppError(400, 'invalid_limited_to_orgs', `limited_to_orgs names unknown or foreign orgs: ${badOrgs.join(', ')}`)

  const badApps = apps.filter((appId) => {
    const app = core.readModel.app(appId)
    return (
      !app ||
      !visibleOrgs(app.org_id) ||
      (caller.limited_to_apps.length > 0 && !caller.limited_to_apps.includes(appId)) ||
      (orgs.length > 0 && !orgs.includes(app.org_id))
    )
  })
  if (badApps.length > 0)
    throw new AppError(
      400,
      'invalid_limited_to_apps',
      `limited_to_apps names unknown or foreign apps${orgs.length > 0 ? ' (or apps outside limited_to_orgs)' : ''}: ${badApps.join(', ')}`,
    )
  return { limited_to_apps: apps, limited_to_orgs: orgs }
}
