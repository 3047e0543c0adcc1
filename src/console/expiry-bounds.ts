/**
 * What bounds the expiry a key form may offer (SPEC §6, §6a): the signed-in key's own expiry,
 * the key policies of the orgs the key is limited to (directly or through its apps), and, for a
 * key rotated away or expired, its own end. The server judges all the same; the form uses this
 * to offer only what it will accept, and to say why.
 */
import type { ApiKey, App, Organization } from './api'
import { day } from './dom'

const DAY = 24 * 60 * 60 * 1000

export interface ExpiryBounds {
  /** The latest instant allowed, in ms; Infinity: none. */
  latest: number
  /** Whether the key must have an expiry. */
  required: boolean
  /** Each bound in words, for the form's hint. */
  reasons: string[]
}

/** The orgs a key with these limits is limited to, directly or through its apps. */
export function governingOrgs(limits: { orgs: readonly string[]; apps: readonly string[] }, apps: readonly App[]): Set<string> {
  const orgOf = new Map(apps.map((app) => [app.app_id, app.org_id]))
  const orgs = new Set(limits.orgs)
  for (const appId of limits.apps) {
    const org = orgOf.get(appId)
    if (org !== undefined) orgs.add(org)
  }
  return orgs
}

export interface BoundsInput {
  /** The signed-in key. */
  me: ApiKey
  /** The orgs and apps the signed-in key reaches (orgs carry their key policy). */
  reach: { orgs: readonly Organization[]; apps: readonly App[] }
  /** The key's limits as the write would leave them. */
  limits: { orgs: readonly string[]; apps: readonly string[] }
  /** The key edited; absent when creating one. */
  key?: ApiKey
  /** The edited key has a successor: its expiry can never move past its grace end. */
  rotatedAway?: boolean
  now: number
}

/** The bounds on the expiry of a key being created or edited. */
export function expiryBounds({ me, reach, limits, key, rotatedAway = false, now }: BoundsInput): ExpiryBounds {
  const bounds: ExpiryBounds = { latest: Number.POSITIVE_INFINITY, required: false, reasons: [] }
  const cap = (latest: number) => (bounds.latest = Math.min(bounds.latest, latest))

  if (key?.expires_at != null && (rotatedAway || Date.parse(key.expires_at) <= now)) {
    cap(Date.parse(key.expires_at))
    bounds.required = true
    bounds.reasons.push(rotatedAway
      ? `It was rotated: it stops at the end of its grace period (${day(new Date(key.expires_at))}) at the latest.`
      : 'It has expired and cannot be brought back: create a new key instead.')
  }

  // A policy counts a key's life from its creation (a key made before the policy, from the
  // policy's start, which the API does not show: its present expiry is then a safe bound).
  const governedNow = key ? governingOrgs({ orgs: key.limited_to_orgs, apps: key.limited_to_apps }, reach.apps) : new Set<string>()
  const from = key ? Date.parse(key.created_at ?? '') || now : now
  for (const orgId of governingOrgs(limits, reach.apps)) {
    const org = reach.orgs.find((o) => o.id === orgId)
    const policy = org?.key_policy
    if (!org || !policy) continue
    bounds.required ||= policy.require_expiry || policy.max_key_lifetime_days !== null
    if (policy.max_key_lifetime_days === null) {
      bounds.reasons.push(`${org.name}’s key policy: every key must have an expiry.`)
      continue
    }
    let end = from + policy.max_key_lifetime_days * DAY
    if (governedNow.has(orgId) && key?.expires_at != null) end = Math.max(end, Date.parse(key.expires_at))
    cap(end)
    bounds.reasons.push(`${org.name}’s key policy: at most ${policy.max_key_lifetime_days} days${key ? ' from its creation' : ''}, so no later than ${day(new Date(end))}.`)
  }

  if (me.expires_at !== null) {
    cap(Date.parse(me.expires_at))
    bounds.required = true
    bounds.reasons.push(`The signed-in key expires on ${day(new Date(me.expires_at))}: no key it makes or changes may outlive it.`)
  }
  return bounds
}
