/**
 * The read model's entries besides keys (src/read-model/cached-key.ts): memberships, apps, lists
 * of apps and key lists with their answers' JSON texts. Each estimates the bytes it keeps alive
 * (strings at a byte a character, which is what JSC uses for Latin-1 text; objects and map
 * entries at sizes measured with bun:jsc's heapStats, docs/performance.md, "Read model").
 */
import type { LifetimePolicy } from '../access/lifetime'
import type { Mode } from '../access/modes'
import type { KeyLimits } from '../access/principal'
import type { ApiKeyRecord } from '../store/records'
import { apiKeyViewJson } from '../modules/apikey/view'
import type { AppRecord } from '../store/records'
import type { Slot } from './sieve'

const OBJECT_BYTES = 80
const MAP_ENTRY_BYTES = 64
const ARRAY_SLOT_BYTES = 8

/**
 * A user's role in each org it belongs to, shared by the user's cached keys, which also share
 * its strings: the user's id (and its JSON), and the org ids their limits name.
 */
export class Memberships implements Slot {
  visited = false
  readonly bytes: number
  readonly roles: ReadonlyMap<string, Mode>
  /** The user's id as JSON, for the keys' views. */
  readonly userIdJson: string

  constructor(
    readonly userId: string,
    rows: readonly { org_id: string; role: Mode }[],
  ) {
    this.roles = new Map(rows.map((m) => [m.org_id, m.role] as const))
    this.userIdJson = JSON.stringify(userId)
    this.bytes = 2 * OBJECT_BYTES + 2 * userId.length + rows.reduce((sum, m) => sum + MAP_ENTRY_BYTES + m.org_id.length, 0)
  }

  /** `orgId` as the string this entry holds, when the user belongs to that org. */
  sharedOrgId(orgId: string): string {
    for (const id of this.roles.keys()) if (id === orgId) return id
    return orgId
  }
}

/** An app and its JSON text (lists of apps are joined from these). */
export class CachedApp implements Slot {
  visited = false
  readonly bytes: number
  readonly json: string

  constructor(readonly record: AppRecord) {
    this.json = JSON.stringify(record)
    // The record's strings and the text, which repeats them.
    this.bytes = 2 * OBJECT_BYTES + 2 * this.json.length
  }
}

/** Some apps: the apps of a user's orgs, or those of them a caller's reach allows. */
export class CachedApps implements Slot {
  visited = false
  readonly bytes: number

  constructor(readonly apps: readonly CachedApp[], ownsApps: boolean) {
    this.bytes = OBJECT_BYTES + apps.length * ARRAY_SLOT_BYTES + (ownsApps ? apps.reduce((sum, app) => sum + app.bytes, 0) : 0)
  }
}

/** A key as key lists show it: what filtering needs, and its view as JSON text. */
export interface KeyListRow extends KeyLimits {
  id: number
  user_id: string
  mode: Mode
  /** The key's public view as JSON text (masked; its last use as stored). */
  json: string
}

/** At most this many answers are kept per key list (different callers, pages or filters). */
const MAX_TEXTS_PER_LIST = 8

/**
 * A user's keys, newest first, and answers made of them (GET /apikey/'s, by the caller's reach
 * and query). A dashboard polling its keys gets the same answer over and over.
 */
export class KeyList implements Slot {
  visited = false
  bytes: number
  readonly rows: readonly KeyListRow[]
  private readonly texts = new Map<string, string>()

  /** `expiries`: each key's effective expiry (SPEC §6a), which its view shows. */
  constructor(records: readonly ApiKeyRecord[], expiries: readonly (string | null)[]) {
    this.rows = records.map((record, i) => ({
      id: record.id,
      user_id: record.user_id,
      mode: record.mode,
      limited_to_apps: record.limited_to_apps,
      limited_to_orgs: record.limited_to_orgs,
      json: apiKeyViewJson(record, expiries[i]!),
    }))
    this.bytes = OBJECT_BYTES + this.rows.reduce((sum, row) => sum + 2 * OBJECT_BYTES + row.json.length + row.limited_to_apps.length * 48 + row.limited_to_orgs.length * 48, 0)
  }

  /** The kept answer for `signature`, if any. */
  text(signature: string): string | undefined {
    return this.texts.get(signature)
  }

  /**
   * Keeps an answer, dropping the oldest past MAX_TEXTS_PER_LIST. Returns the list's size with
   * it, for the cache to account (`SieveCache.resize`), which sets `bytes`.
   */
  keep(signature: string, text: string): number {
    let bytes = this.bytes + MAP_ENTRY_BYTES + signature.length + text.length
    if (this.texts.size >= MAX_TEXTS_PER_LIST) {
      const [oldest, oldText] = this.texts.entries().next().value as [string, string]
      this.texts.delete(oldest)
      bytes -= MAP_ENTRY_BYTES + oldest.length + oldText.length
    }
    this.texts.set(signature, text)
    return bytes
  }
}

/** Every key lifetime policy that has been in force, by scope ('server' or an org id): few. */
export class KeyPolicies implements Slot {
  visited = false
  readonly bytes: number
  readonly byScope: ReadonlyMap<string, readonly LifetimePolicy[]>

  constructor(policies: readonly LifetimePolicy[]) {
    const byScope = new Map<string, LifetimePolicy[]>()
    for (const policy of policies) byScope.set(policy.scope, [...(byScope.get(policy.scope) ?? []), policy])
    this.byScope = byScope
    this.bytes = OBJECT_BYTES + policies.length * (2 * OBJECT_BYTES + 100)
  }
}

/** The org a deleted app belonged to (null: not known), which keeps governing keys limited to the app. */
export class RetiredApp implements Slot {
  visited = false
  readonly bytes: number

  constructor(
    appId: string,
    readonly orgId: string | null,
  ) {
    this.bytes = 2 * OBJECT_BYTES + appId.length + (orgId?.length ?? 0)
  }
}
