/** Hourly usage of keys (SPEC §7: GET /apikey/:id/usage, GET /apikey/usage): plain functions, no HTTP. */
import type { Principal } from '../../access/principal'
import type { Core } from '../../core'
import { validationError } from '../../errors'
import type { UsageQuery } from './model'
import { keysWithinReach, reachKey } from './service'
import { HOUR_MS, type UsageBucket } from '../../usage/counts'
import { parseInstant } from '../../validation'

/** At most this many days of hourly buckets per request. */
export const MAX_USAGE_DAYS = 90
/** The range when none is given: the last 7 days, up to the end of the current hour. */
const DEFAULT_USAGE_DAYS = 7

function instant(value: string, field: 'from' | 'to'): number {
  const ms = parseInstant(value)
  if (Number.isNaN(ms)) throw validationError(`Invalid query field '${field}': expected an ISO 8601 date-time with a time zone, e.g. 2026-01-01T00:00:00Z`)
  return ms
}

/**
 * The hours (since the epoch) a query asks for, `from` up to but not including `to`: every
 * hour that overlaps [from, to). Without `to`, up to the end of the current hour; without
 * `from`, the 7 days before `to`.
 */
export function usageHours(query: UsageQuery, nowMs: number): { from: number; to: number } {
  const toMs = query.to === undefined ? (Math.floor(nowMs / HOUR_MS) + 1) * HOUR_MS : instant(query.to, 'to')
  const fromMs = query.from === undefined ? toMs - DEFAULT_USAGE_DAYS * 24 * HOUR_MS : instant(query.from, 'from')
  if (fromMs > toMs) throw validationError("Invalid query: 'from' is after 'to'")
  const from = Math.floor(fromMs / HOUR_MS)
  const to = Math.ceil(toMs / HOUR_MS)
  if (to - from > MAX_USAGE_DAYS * 24)
    throw validationError(`The range holds more than ${MAX_USAGE_DAYS} days of hourly buckets; ask for ${MAX_USAGE_DAYS} days at a time`)
  return { from, to }
}

/** One key's hourly usage, for a key within the caller's reach (else 404, as GET /apikey/:id/). */
export async function keyUsage(core: Core, principal: Principal, id: number, query: UsageQuery): Promise<UsageBucket[]> {
  const { from, to } = usageHours(query, core.clock.nowMs())
  await reachKey(core.store, principal, id)
  return core.usage.counts.hourly([id], from, to)
}

/** The hourly usage of all the caller's keys within its reach, summed. */
export async function totalUsage(core: Core, principal: Principal, query: UsageQuery): Promise<UsageBucket[]> {
  const { from, to } = usageHours(query, core.clock.nowMs())
  const ids = (await keysWithinReach(core, principal)).map((key) => key.id)
  return core.usage.counts.hourly(ids, from, to)
}
