/**
 * The facts behind a key's terms for the rule book (src/access/grant.ts): the lifetime policies
 * that govern a key (kept by the read model), the orgs of the apps it names, and the server
 * policy that `serve` puts in force.
 */
import type { GrantFacts, KeyTerms } from '../../access/grant'
import { earlier, policyEnd } from '../../access/lifetime'
import type { KeyLimits } from '../../access/principal'
import type { Core } from '../../core'
import type { KeyPolicyRepository } from '../../db/key-policies'

const SERVER = 'server'

/**
 * Makes `configured` the server policy in force (serve, at start): a new maximum comes into
 * force now, and the one it replaces keeps bounding the keys made under it. Call inside a transaction.
 */
export function recordServerPolicy(policies: KeyPolicyRepository, configured: number | null, now: string): void {
  const current = policies.all().find((policy) => policy.scope === SERVER && policy.until === null)
  if ((current?.maxDays ?? null) === configured) return
  policies.replace(SERVER, configured === null ? null : { maxDays: configured, requireExpiry: true }, now)
}

/** The latest expiry the server policies allow a key made now (null: no maximum). */
export function newKeyPolicyEnd(core: Core): string | null {
  const now = core.clock.now().toISOString()
  const server = core.readModel.lifetimePolicies({ limited_to_apps: [], limited_to_orgs: [] })
  return server.reduce<string | null>((end, policy) => earlier(end, policyEnd(policy, now)), null)
}

/** What the rule book needs to judge a write that leaves a key with `after`'s terms (and had `before`'s). */
export function grantFacts(core: Core, after: KeyTerms, before?: KeyLimits): GrantFacts {
  const appOrgs = new Map<string, string>()
  for (const appId of after.limited_to_apps) {
    const app = core.readModel.app(appId)
    if (app) appOrgs.set(appId, app.org_id)
  }
  return {
    now: core.clock.now(),
    appOrgs,
    defaultRateLimit: core.policy.keyRateLimit,
    policies: { after: core.readModel.lifetimePolicies(after), before: before === undefined ? [] : core.readModel.lifetimePolicies(before) },
  }
}
