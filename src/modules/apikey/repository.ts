/** Storage of API keys. Statements are prepared once per database. */
import type { Database } from 'bun:sqlite'
import type { Mode } from '../../access/modes'

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
  rotated_from: number | null
}

export type NewApiKey = Omit<ApiKeyRecord, 'id' | 'last_used_at' | 'enabled'> & { key_hash: string }

interface ApiKeyRow extends Omit<ApiKeyRecord, 'limited_to_apps' | 'limited_to_orgs' | 'enabled'> {
  limited_to_apps: string
  limited_to_orgs: string
  enabled: number
}

const COLUMNS = `id, user_id, name, mode, limited_to_apps, limited_to_orgs, key_start, created_at, updated_at,
  expires_at, enabled, last_used_at, rotated_from`

function toRecord(row: ApiKeyRow | null): ApiKeyRecord | null {
  if (!row) return null
  return {
    ...row,
    limited_to_apps: JSON.parse(row.limited_to_apps),
    limited_to_orgs: JSON.parse(row.limited_to_orgs),
    enabled: row.enabled === 1,
  }
}

export function apiKeyRepository(db: Database) {
  const insert = db.prepare<{ id: number }, Record<string, string | number | null>>(
    `INSERT INTO apikeys (user_id, name, mode, limited_to_apps, limited_to_orgs, key_hash, key_start, created_at,
       updated_at, expires_at, rotated_from)
     VALUES ($user_id, $name, $mode, $limited_to_apps, $limited_to_orgs, $key_hash, $key_start, $created_at,
       $updated_at, $expires_at, $rotated_from)
     RETURNING id`,
  )
  const byHash = db.prepare<ApiKeyRow, [string]>(`SELECT ${COLUMNS} FROM apikeys WHERE key_hash = ?`)
  const byId = db.prepare<ApiKeyRow, [number]>(`SELECT ${COLUMNS} FROM apikeys WHERE id = ?`)
  const byUser = db.prepare<ApiKeyRow, [string]>(`SELECT ${COLUMNS} FROM apikeys WHERE user_id = ? ORDER BY id DESC`)
  const countByUser = db.prepare<{ n: number }, [string]>('SELECT count(*) AS n FROM apikeys WHERE user_id = ?')
  const remove = db.prepare<never, [number]>('DELETE FROM apikeys WHERE id = ?')

  return {
    insert(key: NewApiKey): number {
      return insert.get({
        ...key,
        limited_to_apps: JSON.stringify(key.limited_to_apps),
        limited_to_orgs: JSON.stringify(key.limited_to_orgs),
      })!.id
    },
    findByHash: (hash: string) => toRecord(byHash.get(hash)),
    findById: (id: number) => toRecord(byId.get(id)),
    /** The user's keys, newest first. */
    listByUser: (userId: string) => byUser.all(userId).map((row) => toRecord(row)!),
    countByUser: (userId: string) => countByUser.get(userId)!.n,
    /** True when a row was deleted. */
    delete: (id: number) => remove.run(id).changes === 1,
  }
}

export type ApiKeyRepository = ReturnType<typeof apiKeyRepository>
