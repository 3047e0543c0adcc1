/** Storage of API keys. Statements are prepared once per database. */
import type { Database } from 'bun:sqlite'
import type { Mode } from '../../access/modes'
import type { RateLimit } from '../../access/rate-limit'
import type { ReadCache } from '../../db/read-cache'

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

interface ApiKeyRow extends Omit<ApiKeyRecord, 'limited_to_apps' | 'limited_to_orgs' | 'enabled' | 'rate_limit'> {
  limited_to_apps: string
  limited_to_orgs: string
  enabled: number
  rate_limit: string | null
}

/** What the read cache knows a key by. */
interface KeyIdentity {
  key_hash: string
  user_id: string
}

const COLUMNS = `id, user_id, name, mode, limited_to_apps, limited_to_orgs, key_start, created_at, updated_at,
  expires_at, enabled, last_used_at, last_used_ip, rotated_from, successor_id, rate_limit`

/** Where the read cache keeps what the gate made of the key with a hash (see `cachedByHash`). */
const keyCacheKey = (hash: string) => `key:${hash}`
const keysOfCacheKey = (userId: string) => `keys-of:${userId}`

function toRecord(row: ApiKeyRow | null): ApiKeyRecord | null {
  if (!row) return null
  return {
    ...row,
    limited_to_apps: JSON.parse(row.limited_to_apps),
    limited_to_orgs: JSON.parse(row.limited_to_orgs),
    enabled: row.enabled === 1,
    rate_limit: row.rate_limit === null ? null : JSON.parse(row.rate_limit),
  }
}

export function apiKeyRepository(db: Database, cache: ReadCache) {
  const insert = db.prepare<ApiKeyRow, Record<string, string | number | null>>(
    `INSERT INTO apikeys (user_id, name, mode, limited_to_apps, limited_to_orgs, key_hash, key_start, created_at,
       updated_at, expires_at, enabled, rotated_from, rate_limit)
     VALUES ($user_id, $name, $mode, $limited_to_apps, $limited_to_orgs, $key_hash, $key_start, $created_at,
       $updated_at, $expires_at, $enabled, $rotated_from, $rate_limit)
     RETURNING ${COLUMNS}`,
  )
  // Key writes return what the cache knows the key by (its hash, its user), to forget it.
  const update = db.prepare<KeyIdentity, Record<string, string | number | null>>(
    `UPDATE apikeys SET name = $name, mode = $mode, limited_to_apps = $limited_to_apps, limited_to_orgs = $limited_to_orgs,
       expires_at = $expires_at, enabled = $enabled, rate_limit = $rate_limit, updated_at = $updated_at
     WHERE id = $id RETURNING key_hash, user_id`,
  )
  // Only a key not rotated yet: two rotations that raced give one successor, not two.
  const rotated = db.prepare<KeyIdentity, [number, string | null, string, number]>(
    'UPDATE apikeys SET successor_id = ?, expires_at = ?, updated_at = ? WHERE id = ? AND successor_id IS NULL RETURNING key_hash, user_id',
  )
  const byHash = db.prepare<ApiKeyRow, [string]>(`SELECT ${COLUMNS} FROM apikeys WHERE key_hash = ?`)
  const byId = db.prepare<ApiKeyRow, [number]>(`SELECT ${COLUMNS} FROM apikeys WHERE id = ?`)
  const byUser = db.prepare<ApiKeyRow, [string]>(`SELECT ${COLUMNS} FROM apikeys WHERE user_id = ? ORDER BY id DESC`)
  const countByUser = db.prepare<{ n: number }, [string]>('SELECT count(*) AS n FROM apikeys WHERE user_id = ?')
  const remove = db.prepare<KeyIdentity, [number]>('DELETE FROM apikeys WHERE id = ? RETURNING key_hash, user_id')

  /**
   * Every write below changes one key of one user, and nothing else that is cached: it forgets
   * that key and the user's key list, and the other cached keys stay (a write emptied the
   * whole cache before: 10,000 keys reloaded after each key created, bench/RESULTS.md).
   * Reads inside the write's transaction bypass the cache, so forgetting after the statement
   * is the same as before it.
   */
  const forgetKeyOf = (hash: string, userId: string) => {
    cache.forget(keyCacheKey(hash))
    cache.forget(keysOfCacheKey(userId))
  }
  const forgetKey = (written: KeyIdentity | null) => {
    if (written) forgetKeyOf(written.key_hash, written.user_id)
  }

  return {
    /** Stores a new key and returns it as stored. */
    insert(key: NewApiKey): ApiKeyRecord {
      forgetKeyOf(key.key_hash, key.user_id)
      return toRecord(insert.get({
        ...key,
        limited_to_apps: JSON.stringify(key.limited_to_apps),
        limited_to_orgs: JSON.stringify(key.limited_to_orgs),
        enabled: key.enabled ? 1 : 0,
        rate_limit: key.rate_limit === null ? null : JSON.stringify(key.rate_limit),
      }))!
    },
    update(id: number, changes: ApiKeyChanges): void {
      const written = update.get({
        ...changes,
        id,
        limited_to_apps: JSON.stringify(changes.limited_to_apps),
        limited_to_orgs: JSON.stringify(changes.limited_to_orgs),
        enabled: changes.enabled ? 1 : 0,
        rate_limit: changes.rate_limit === null ? null : JSON.stringify(changes.rate_limit),
      })
      forgetKey(written)
    },
    /**
     * Records that `successorId` replaced the key, which now stops at `expiresAt` (the end of the
     * grace period). False, and nothing written, when the key had been rotated already.
     */
    markRotated(id: number, successorId: number, expiresAt: string | null, at: string): boolean {
      const written = rotated.get(successorId, expiresAt, at, id)
      forgetKey(written)
      return written !== null
    },
    findByHash: (hash: string) => toRecord(byHash.get(hash)),
    /**
     * What `load` makes of the key with this hash (the gate's principal), or that there is no
     * such key, kept in the read cache until a write of that key forgets it (see above).
     */
    cachedByHash: <T>(hash: string, load: () => T): T => cache.get(keyCacheKey(hash), load, true),
    findById: (id: number) => toRecord(byId.get(id)),
    /** The user's keys, newest first (cached; read-only). */
    listByUser: (userId: string) => cache.get(keysOfCacheKey(userId), () => byUser.all(userId).map((row) => toRecord(row)!)),
    countByUser: (userId: string) => countByUser.get(userId)!.n,
    delete(id: number): void {
      forgetKey(remove.get(id))
    },
  }
}

export type ApiKeyRepository = ReturnType<typeof apiKeyRepository>
