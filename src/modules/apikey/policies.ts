/**
 * The facts behind a key's terms, gathered from the store for the rule book
 * (src/access/grant.ts): the lifetime policies that govern a key, the orgs of the apps it names,
 * and its effective expiry.
 */
import type { GrantFacts, KeyTerms } from '../../access/grant'
import { effectiveExpiry, policyEnd, serverLifetimePolicy, type LifetimePolicy } from '../../access/lifetime'
import type { KeyLimits } from '../../access/principal'
import type { Core } from '../../core'
import type { SettingsRepository } from '../../db/settings'

const LIFETIME_SETTING = 'max_key_lifetime_days'

/**
 * The server's maximum key lifetime and since when it has been in force (SPEC §6a). `serve`
 * records the maximum it enforces: a new one comes into force when serve first runs with it.
 * Other commands use what serve recorded unless given a maximum of their own (then a recorded
 * start of the same maximum, else none: keys count from their creation).
 */
export function serverLifetime(
  settings: SettingsRepository, configured: number | null, now: string, record: boolean,
): { maxDays: number | null; since: string | undefined } {
  if (record) return { maxDays: configured, since: settings.keep(LIFETIME_SETTING, configured === null ? null : String(configured), now)?.since }
  const recorded = settings.get(LIFETIME_SETTING)
  if (configured === null) return recorded === null ? { maxDays: null, since: undefined } : { maxDays: Number(recorded.value), since: recorded.since }
  return { maxDays: configured, since: recorded !== null && recorded.value === String(configured) ? recorded.since : undefined }
}

/** The server's policy (--max-key-lifetime-days), or null. */
export function serverPolicy(core: Core): LifetimePolicy | null {
  return serverLifetimePolicy(core.policy.maxKeyLifetimeDays, core.policy.maxKeyLifetimeSince ?? '')
}

/** The orgs a key with these limits is limited to, directly or through its apps. */
function governingOrgs(core: Core, limits: KeyLimits): Set<string> {
  const orgs = new Set(limits.limited_to_orgs)
  for (const appId of limits.limited_to_apps) {
    const app = core.store.apps.findById(appId)
    if (app) orgs.add(app.org_id)
  }
  return orgs
}

/** Every policy that governs a key with these limits: the server's, and those of the orgs it is limited to. */
export function governingPolicies(core: Core, limits: KeyLimits): LifetimePolicy[] {
  const server = serverPolicy(core)
  const orgPolicies = core.store.orgs.keyPolicies()
  const policies = server === null ? [] : [server]
  // Most servers have no org policy: no app needs to be looked up then.
  if (orgPolicies.size === 0) return policies
  for (const org of governingOrgs(core, limits)) {
    const policy = orgPolicies.get(org)
    if (policy !== undefined) policies.push(policy)
  }
  return policies
}

/** When the key stops working: the earlier of its own expiry and what its policies allow. */
export function keyExpiry(core: Core, key: KeyLimits & { expires_at: string | null; created_at: string }): string | null {
  if (core.policy.maxKeyLifetimeDays === null && core.store.orgs.keyPolicies().size === 0) return key.expires_at
  return effectiveExpiry(key.expires_at, key.created_at, governingPolicies(core, key))
}

/** The latest expiry the server policy allows a key made now (null: no maximum). */
export function newKeyPolicyEnd(core: Core): string | null {
  const server = serverPolicy(core)
  return server === null ? null : policyEnd(server, core.clock.now().toISOString())
}

/** What the rule book needs to judge a write that leaves a key with `after`'s terms. */
export function grantFacts(core: Core, after: KeyTerms): GrantFacts {
  const appOrgs = new Map<string, string>()
  for (const appId of after.limited_to_apps) {
    const app = core.store.apps.findById(appId)
    if (app) appOrgs.set(appId, app.org_id)
  }
  return { now: core.clock.now(), appOrgs, defaultRateLimit: core.policy.keyRateLimit, policies: governingPolicies(core, after) }
}
