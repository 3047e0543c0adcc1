/** The rows of the data model (SPEC §3) as every backend hands them over. */
import type { Mode } from '../access/modes'
import type { RateLimit } from '../access/rate-limit'

// Type aliases, not interfaces, where bun:sqlite binds them as named parameters.
export type UserRecord = {
  id: string
  email: string
  name: string
  created_at: string
}

export type OrgRecord = {
  id: string
  name: string
  created_by: string
  created_at: string
  updated_at: string
}

export type MemberRecord = {
  org_id: string
  user_id: string
  role: Mode
  created_at: string
}

/** A member with the user's email and name, as lists show them. */
export type MemberView = { user_id: string; email: string; name: string; role: Mode; created_at: string }

export type AppRecord = {
  app_id: string
  org_id: string
  name: string
  created_at: string
  updated_at: string
}

/** A stored key as the core sees it. It holds the hash only for lookup; views never carry it. */
export interface ApiKeyRecord {
  id: number
  user_id: string
  name: string
  mode: Mode
  limited_to_apps: string[]
  limited_to_orgs: string[]
  key_start: string
  created_at: string
  updated_at: string
  expires_at: string | null
  enabled: boolean
  last_used_at: string | null
  last_used_ip: string | null
  rotated_from: number | null
  /** The key that replaced this one by rotation (set once, never cleared); not shown by the API. */
  successor_id: number | null
  rate_limit: RateLimit | null
}

export type NewApiKey = Omit<ApiKeyRecord, 'id' | 'last_used_at' | 'last_used_ip' | 'successor_id'> & { key_hash: string }

/** What an update may change. */
export type ApiKeyChanges = Pick<ApiKeyRecord, 'name' | 'mode' | 'limited_to_apps' | 'limited_to_orgs' | 'expires_at' | 'enabled' | 'rate_limit' | 'updated_at'>

export interface NewAuditEvent {
  at: string
  user_id: string
  actor_key_id: number | null
  action: string
  target_type: string
  target_id: string
  ip: string | null
  user_agent: string | null
  /** Never a secret: callers pass ids, names and modes, not keys or hashes. */
  details: Record<string, unknown>
}

/** Which events to list; an absent field matches every event. */
export interface AuditFilters {
  action?: string
  target_type?: string
  target_id?: string
  actor_key_id?: number
}

/** An event as stored: `details` is its JSON text. */
export type AuditEventRow = Omit<NewAuditEvent, 'details'> & { id: number; details: string }

/** Counts of one key in one hour (`hour`: Unix seconds of its start), to add to what is stored. */
export interface UsageCountRow {
  keyId: number
  hour: number
  allowed: number
  forbidden: number
  rate_limited: number
  rejected: number
}

/** Counts of an hour summed over some keys. */
export type UsageSumRow = Omit<UsageCountRow, 'keyId'>
