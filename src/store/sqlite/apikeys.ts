/** API keys on SQLite. Statements are prepared once per connection. */
import type { Database } from 'bun:sqlite'
import type { Change } from '../../read-model/changes'
import type { ApiKeyChanges, ApiKeyRecord, NewApiKey } from '../records'
import type { ApiKeyRepo } from '../types'

interface ApiKeyRow extends Omit<ApiKeyRecord, 'limited_to_apps' | 'limited_to_orgs' | 'enabled' | 'rate_limit'> {
  limited_to_apps: string
  limited_to_orgs: string
  enabled: number
  rate_limit: string | null
}

/** What the read model knows a key by. */
interface KeyIdentity {
  key_hash: string
  user_id: string
}

const COLUMNS = `id, user_id, name, mode, limited_to_apps, limited_to_orgs, key_start, created_at, updated_at,
  expires_at, enabled, last_used_at, last_used_ip, rotated_from, successor_id, rate_limit`

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

export function apiKeyRepository(db: Database, note: (change: Change) => void): ApiKeyRepo {
  const insert = db.prepare<ApiKeyRow, Record<string, string | number | null>>(
    `INSERT INTO apikeys (user_id, name, mode, limited_to_apps, limited_to_orgs, key_hash, key_start, created_at,
       updated_at, expires_at, enabled, rotated_from, rate_limit)
     VALUES ($user_id, $name, $mode, $limited_to_apps, $limited_to_orgs, $key_hash, $key_start, $created_at,
       $updated_at, $expires_at, $enabled, $rotated_from, $rate_limit)
     RETURNING ${COLUMNS}`,
  )
  // Key writes return what the read model knows the key by (its hash, its user).
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
  const lastUse = db.prepare<never, [string, string | null, number]>(
    'UPDATE apikeys SET last_used_at = ?1, last_used_ip = ?2 WHERE id = ?3 AND (last_used_at IS NULL OR last_used_at < ?1)',
  )
  const countAll = db.prepare<{ n: number }, []>('SELECT count(*) AS n FROM apikeys')

  /** Every write below changes one key of one user, and nothing else the read model holds. */
  const noteKey = (written: KeyIdentity | null) => {
    if (written) note({ kind: 'key', hash: written.key_hash, userId: written.user_id })
  }

  return {
    /** Stores a new key and returns it as stored. */
    insert(key: NewApiKey): ApiKeyRecord {
      noteKey(key)
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
      noteKey(written)
    },
    /**
     * Records that `successorId` replaced the key, which now stops at `expiresAt` (the end of the
     * grace period). False, and nothing written, when the key had been rotated already.
     */
    markRotated(id: number, successorId: number, expiresAt: string | null, at: string): boolean {
      const written = rotated.get(successorId, expiresAt, at, id)
      noteKey(written)
      return written !== null
    },
    findByHash: (hash: string) => toRecord(byHash.get(hash)),
    findById: (id: number) => toRecord(byId.get(id)),
    /** The user's keys, newest first. */
    listByUser: (userId: string) => byUser.all(userId).map((row) => toRecord(row)!),
    countByUser: (userId: string) => countByUser.get(userId)!.n,
    countAll: () => countAll.get()!.n,
    delete(id: number): void {
      noteKey(remove.get(id))
    },
    writeLastUse(key, at, ip): void {
      lastUse.run(at, ip, key.keyId)
      note({ kind: 'last-use', hash: key.hash, keyId: key.keyId, userId: key.userId, at, ip })
    },
  }
}

