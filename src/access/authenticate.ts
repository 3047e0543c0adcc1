/** Turns the `authorization` header into a Principal, or the 401 of SPEC §5 that fits. */
import type { Core } from '../core'
import { apiKeyDisabled, apiKeyExpired, invalidApiKey, missingApiKey } from '../errors'
import { hashKey, isWellFormedKey } from './key-format'
import type { Principal } from './principal'

/** The key in an `authorization` header value: bare, or after `Bearer `. */
export function keyFromHeader(header: string | null | undefined): string | null {
  if (header === null || header === undefined) return null
  const value = header.trim()
  if (value === '') return null
  const bearer = /^bearer\s+/i.exec(value)
  return bearer ? value.slice(bearer[0].length).trim() : value
}

export function authenticate(core: Core, header: string | null | undefined): Principal {
  const key = keyFromHeader(header)
  if (key === null) throw missingApiKey()
  // Shape and checksum first: garbage never reaches the database.
  if (!isWellFormedKey(key)) throw invalidApiKey()
  // Lookup by hash: no secret is compared, so there is nothing to time.
  const record = core.store.apikeys.findByHash(hashKey(key))
  if (!record) throw invalidApiKey()
  if (!record.enabled) throw apiKeyDisabled()
  if (record.expires_at !== null && record.expires_at <= core.clock.now().toISOString()) throw apiKeyExpired()
  return {
    keyId: record.id,
    userId: record.user_id,
    mode: record.mode,
    limits: { limited_to_apps: record.limited_to_apps, limited_to_orgs: record.limited_to_orgs },
    expiresAt: record.expires_at,
    rateLimit: record.rate_limit,
    memberships: core.store.orgs.membershipsOf(record.user_id),
    appOrgs: new Map(
      record.limited_to_apps.flatMap((appId) => {
        const app = core.store.apps.findById(appId)
        return app ? [[appId, app.org_id] as const] : []
      }),
    ),
  }
}
