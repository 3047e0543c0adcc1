/**
 * Key lifetime policies (SPEC §6a): the server's `--max-key-lifetime-days` and each org's
 * `key_policy`. A policy bounds every key it governs, including keys that existed before it
 * came into force: their effective expiry is the earlier of their own and
 * max(created_at, policy start) + the maximum.
 */

const DAY_MS = 24 * 60 * 60 * 1000

/** One policy in force. */
export interface LifetimePolicy {
  /** What errors call it: "server policy", "key policy of organization org_…". */
  name: string
  /** The longest life of a key, in days; null: no maximum. */
  maxDays: number | null
  /** Every key must expire (implied by a maximum). */
  requireExpiry: boolean
  /** When the policy came into force (ISO 8601). */
  since: string
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

/** The last instant `policy` lets a key created at `createdAt` live; null: no maximum. */
export function policyEnd(policy: LifetimePolicy, createdAt: string): string | null {
  if (policy.maxDays === null) return null
  const start = createdAt > policy.since ? createdAt : policy.since
  return new Date(Date.parse(start) + policy.maxDays * DAY_MS).toISOString()
}

/** A key's effective expiry: the earlier of its own and the end each governing policy sets. */
export function effectiveExpiry(own: string | null, createdAt: string, policies: readonly LifetimePolicy[]): string | null {
  let expiry = own
  for (const policy of policies) expiry = earlier(expiry, policyEnd(policy, createdAt))
  return expiry
}

/**
 * Whether a key created at `createdAt` with this (own) expiry keeps `policy`; the message of
 * the 400 naming the policy when it does not.
 */
export function policyBreach(policy: LifetimePolicy, expiresAt: string | null, createdAt: string): string | null {
  const end = policyEnd(policy, createdAt)
  if (expiresAt === null && (policy.requireExpiry || end !== null))
    return policy.maxDays === null
      ? `expires_at is required by the ${policy.name}`
      : `expires_at is required: the ${policy.name} allows keys of at most ${policy.maxDays} days`
  if (end !== null && expiresAt !== null && expiresAt > end)
    return `expires_at must be within ${policy.maxDays} days (${policy.name}), no later than ${end}`
  return null
}

/** The org policy as a LifetimePolicy, or null when the org has none. */
export function orgLifetimePolicy(orgId: string, settings: KeyPolicySettings | null, since: string | null): LifetimePolicy | null {
  if (settings === null || since === null || (settings.max_key_lifetime_days === null && !settings.require_expiry)) return null
  return {
    name: `key policy of organization ${orgId}`,
    maxDays: settings.max_key_lifetime_days,
    requireExpiry: settings.require_expiry,
    since,
  }
}

/** The server policy (`--max-key-lifetime-days N`, in force since `since`) as a LifetimePolicy. */
export function serverLifetimePolicy(maxDays: number | null, since: string): LifetimePolicy | null {
  return maxDays === null ? null : { name: 'server policy', maxDays, requireExpiry: true, since }
}
