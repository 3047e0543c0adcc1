/**
 * The facts behind a key's terms for the rule book (src/access/grant.ts): the lifetime policies
 * that govern a key, the orgs of the apps it names (asked of a transaction's uncached read
 * model), and the server policy that `serve` puts in force.
 */
import type { GrantFacts, KeyTerms } from '../../access/grant'
import { earlier, policyEnd } from '../../access/lifetime'
import type { KeyLimits } from '../../access/principal'
import type { Core } from '../../core'
import type { ReadModel } from '../../read-model/read-model'
import type { KeyPolicyRepo } from '../../store/types'

const SERVER = 'server'

/**
 * Makes `configured` the server policy in force (serve, at start): a new maximum comes into
 * force now, and the one it replaces keeps bounding the keys made under it. In a transaction.
 */
export async function recordServerPolicy(policies: KeyPolicyRepo, configured: number | null, now: string): Promise<void> {
  const current = (await policies.all()).find((policy) => policy.scope === SERVER && policy.until === null)
  if ((current?.maxDays ?? null) === configured) return
  await policies.replace(SERVER, configured === null ? null : { maxDays: configured, requireExpiry: true }, now)
}

/** The latest expiry the server policies allow a key made now (null: no maximum). */
export async function newKeyPolicyEnd(core: Core, lookups: ReadModel): Promise<string | null> {
  const now = core.clock.now().toISOString()
  const server = await lookups.lifetimePolicies({ limited_to_apps: [], limited_to_orgs: [] })
  return server.reduce<string | null>((end, policy) => earlier(end, policyEnd(policy, now)), null)
}

/** What the rule book needs to judge a write that leaves a key with `after`'s terms (and had `before`'s). */
export async function grantFacts(core: Core, lookups: ReadModel, after: KeyTerms, before?: KeyLimits): Promise<GrantFacts> {
  const appOrgs = new Map<string, string>()
  for (const appId of after.limited_to_apps) {
    const app = await lookups.app(appId)
    if (app) appOrgs.set(appId, app.org_id)
  }
  return {
    now: core.clock.now(),
    appOrgs,
    defaultRateLimit: core.policy.keyRateLimit,
    policies: { after: await lookups.lifetimePolicies(after), before: before === undefined ? [] : await lookups.lifetimePolicies(before) },
  }
}
