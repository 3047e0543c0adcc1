/**
 * The facts behind a key's terms, gathered from the store for the rule book
 * (src/access/grant.ts): the lifetime policies that govern a key, the orgs of the apps it
 * names, and its effective expiry.
 */
import type { GrantFacts, KeyTerms } from '../../access/grant'
import { earlier, effectiveExpiry, policyEnd, serverLifetimePolicy, type LifetimePolicy } from '../../access/lifetime'
import type { KeyLimits } from '../../access/principal'
import type { Core } from '../../core'
import type { KeyPolicyRepository } from '../../db/key-policies'

const SERVER = 'server'

/**
 * Makes `configured` the server policy in force (serve, at start): a new maximum comes into
 * force now, and the one it replaces keeps bounding the keys made under it. Call inside a transaction.
 */
export function recordServerPolicy(policies: KeyPolicyRepository, configured: number | null, now: string): void {
  const current = policies.current(SERVER)
  if ((current?.maxDays ?? null) === configured) return
  policies.replace(SERVER, configured === null ? null : { maxDays: configured, requireExpiry: true }, now)
}

/**
 * The server's policies: every one serve has put in force, and this process's own maximum
 * when it is not the one in force (a CLI command given --max-key-lifetime-days, a test): keys
 * then keep both.
 */
function serverPolicies(core: Core): readonly LifetimePolicy[] {
  const recorded = core.store.keyPolicies.byScope().get(SERVER) ?? []
  const configured = core.policy.maxKeyLifetimeDays
  if (configured === null || recorded.some((policy) => policy.until === null && policy.maxDays === configured)) return recorded
  return [...recorded, serverLifetimePolicy(configured, '')]
}

/** Every policy that governs a key with these limits: the server's, and those of the orgs it is limited to, directly or through its apps. */
export function keyPolicies(core: Core, limits: KeyLimits): LifetimePolicy[] {
  const policies = [...serverPolicies(core)]
  const byScope = core.store.keyPolicies.byScope()
  if (byScope.size === (byScope.has(SERVER) ? 1 : 0)) return policies
  const orgs = new Set(limits.limited_to_orgs)
  for (const appId of limits.limited_to_apps) {
    const org = core.store.apps.orgOf(appId)
    if (org !== null) orgs.add(org)
  }
  for (const org of orgs) policies.push(...(byScope.get(org) ?? []))
  return policies
}

/** When the key stops working: the earlier of its own expiry and what its policies allow. */
export function keyExpiry(core: Core, key: KeyLimits & { expires_at: string | null; created_at: string }): string | null {
  if (core.policy.maxKeyLifetimeDays === null && core.store.keyPolicies.byScope().size === 0) return key.expires_at
  return effectiveExpiry(key.expires_at, key.created_at, keyPolicies(core, key))
}

/** The latest expiry the server policies allow a key made now (null: no maximum). */
export function newKeyPolicyEnd(core: Core): string | null {
  const now = core.clock.now().toISOString()
  return serverPolicies(core).reduce<string | null>((end, policy) => earlier(end, policyEnd(policy, now)), null)
}

/** What the rule book needs to judge a write that leaves a key with `after`'s terms (and had `before`'s). */
export function grantFacts(core: Core, after: KeyTerms, before?: KeyLimits): GrantFacts {
  const appOrgs = new Map<string, string>()
  for (const appId of after.limited_to_apps) {
    const app = core.store.apps.findById(appId)
    if (app) appOrgs.set(appId, app.org_id)
  }
  return {
    now: core.clock.now(),
    appOrgs,
    defaultRateLimit: core.policy.keyRateLimit,
    policies: { after: keyPolicies(core, after), before: before === undefined ? [] : keyPolicies(core, before) },
  }
}
