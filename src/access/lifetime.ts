/**
 * Key lifetime policies (SPEC §6a): the server's `--max-key-lifetime-days` and each org's
 * `key_policy`. A policy bounds every key it governs that was made before it ended, including
 * keys that existed before it came into force: such a key stops at the latest at
 * max(created_at, policy start) + the maximum. Every policy that has ever been in force keeps
 * bounding the keys it governed, so a later policy, looser or lifted, never extends or revives
 * a key.
 */

const DAY_MS = 24 * 60 * 60 * 1000

/** One policy, in force from `since` until `until` (null: still in force). */
export interface LifetimePolicy {
  /** Where it comes from: 'server', or the org's id. */
  scope: string
  /** The longest life of a key, in days; null: no maximum. */
  maxDays: number | null
  /** Every key made under it must expire (implied by a maximum). */
  requireExpiry: boolean
  /** When it came into force (ISO 8601); '' for the start of time. */
  since: string
  /** When it was replaced or lifted; null while in force. */
  until: string | null
}

/** An org's `key_policy` as the API shows and takes it. */
export interface KeyPolicySettings {
  max_key_lifetime_days: number | null
  require_expiry: boolean
}

/** The earlier of two expiries, where null means never. */
export function earlier(a: string | null, b: string | null): string | null {
  if (a === null) return b
  if (b === null) return a
  return a < b ? a : b
}

/** The last instant `policy` lets a key made at `createdAt` live; null: none (no maximum, or made after the policy ended). */
export function policyEnd(policy: LifetimePolicy, createdAt: string): string | null {
  if (policy.maxDays === null || (policy.until !== null && createdAt >= policy.until)) return null
  const start = createdAt > policy.since ? createdAt : policy.since
  return new Date(Date.parse(start) + policy.maxDays * DAY_MS).toISOString()
}

/** A key's effective expiry: the earlier of its own and the end each policy that governs it sets. */
export function effectiveExpiry(own: string | null, createdAt: string, policies: readonly LifetimePolicy[]): string | null {
  let expiry = own
  for (const policy of policies) expiry = earlier(expiry, policyEnd(policy, createdAt))
  return expiry
}

/** How errors name a policy: the org only to a caller that belongs to it. */
export function policyName(policy: LifetimePolicy, canSeeOrg: (orgId: string) => boolean): string {
  if (policy.scope === 'server') return 'server policy'
  return canSeeOrg(policy.scope) ? `key policy of organization ${policy.scope}` : 'key policy of an organization the key is limited to'
}

/**
 * Why a key made at `createdAt` with this (own) expiry breaks `policy`, a policy in force;
 * null when it keeps it.
 */
export function policyBreach(policy: LifetimePolicy, name: string, expiresAt: string | null, createdAt: string): string | null {
  const end = policyEnd(policy, createdAt)
  if (expiresAt === null && (policy.requireExpiry || end !== null))
    return policy.maxDays === null ? `expires_at is required by the ${name}` : `expires_at is required: the ${name} allows keys of at most ${policy.maxDays} days`
  if (end !== null && expiresAt !== null && expiresAt > end) return `expires_at must be within ${policy.maxDays} days (${name}), no later than ${end}`
  return null
}

/** The policy an org's `key_policy` puts in force from `since`. */
export function orgLifetimePolicy(orgId: string, settings: KeyPolicySettings, since: string): LifetimePolicy {
  return { scope: orgId, maxDays: settings.max_key_lifetime_days, requireExpiry: settings.require_expiry, since, until: null }
}

/** The server policy of `--max-key-lifetime-days N`; a maximum always requires an expiry. */
export function serverLifetimePolicy(maxDays: number, since: string): LifetimePolicy {
  return { scope: 'server', maxDays, requireExpiry: true, since, until: null }
}

/** A policy as the API shows it. */
export function policySettings(policy: LifetimePolicy): KeyPolicySettings {
  return { max_key_lifetime_days: policy.maxDays, require_expiry: policy.requireExpiry }
}
