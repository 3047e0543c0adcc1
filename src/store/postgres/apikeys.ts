/**
 * API keys on PostgreSQL. Ids are bigint identities, which Bun returns as strings: rows are
 * mapped back to numbers (safe to 2^53). The JSON columns are bound as arrays and objects and
 * come back parsed.
 */
import type { SQL } from 'bun'
import type { Change } from '../../read-model/changes'
import type { ApiKeyChanges, ApiKeyRecord, NewApiKey } from '../records'
import type { ApiKeyRepo } from '../types'

interface ApiKeyRow extends Omit<ApiKeyRecord, 'id' | 'rotated_from' | 'successor_id'> {
  id: string
  rotated_from: string | null
  successor_id: string | null
}

/** What the read model knows a key by. */
interface KeyIdentity {
  key_hash: string
  user_id: string
}

const toRecord = (row: ApiKeyRow): ApiKeyRecord => ({
  ...row,
  id: Number(row.id),
  rotated_from: row.rotated_from === null ? null : Number(row.rotated_from),
  successor_id: row.successor_id === null ? null : Number(row.successor_id),
})

export function apiKeyRepository(sql: SQL, note: (change: Change) => void): ApiKeyRepo {
  const columns = sql.unsafe(`id, user_id, name, mode, limited_to_apps, limited_to_orgs, key_start, created_at, updated_at,
    expires_at, enabled, last_used_at, last_used_ip, rotated_from, successor_id, rate_limit`)
  const one = async (rows: Promise<ApiKeyRow[]>): Promise<ApiKeyRecord | null> => {
    const [row] = await rows
    return row ? toRecord(row) : null
  }
  /** Every write below changes one key of one user, and nothing else the read model holds. */
  const noteKey = (written: KeyIdentity | undefined) => {
    if (written) note({ kind: 'key', hash: written.key_hash, userId: written.user_id })
  }

  return {
    /** Stores a new key and returns it as stored. */
    async insert(key: NewApiKey): Promise<ApiKeyRecord> {
      const [row] = await sql<ApiKeyRow[]>`
        INSERT INTO apikeys (user_id, name, mode, limited_to_apps, limited_to_orgs, key_hash, key_start, created_at,
          updated_at, expires_at, enabled, rotated_from, rate_limit)
        VALUES (${key.user_id}, ${key.name}, ${key.mode}, ${key.limited_to_apps}, ${key.limited_to_orgs}, ${key.key_hash},
          ${key.key_start}, ${key.created_at}, ${key.updated_at}, ${key.expires_at}, ${key.enabled}, ${key.rotated_from},
          ${key.rate_limit})
        RETURNING ${columns}`
      noteKey(key)
      return toRecord(row!)
    },
    async update(id: number, changes: ApiKeyChanges): Promise<void> {
      const [written] = await sql<KeyIdentity[]>`
        UPDATE apikeys SET name = ${changes.name}, mode = ${changes.mode}, limited_to_apps = ${changes.limited_to_apps},
          limited_to_orgs = ${changes.limited_to_orgs}, expires_at = ${changes.expires_at}, enabled = ${changes.enabled},
          rate_limit = ${changes.rate_limit}, updated_at = ${changes.updated_at}
        WHERE id = ${id} RETURNING key_hash, user_id`
      noteKey(written)
    },
    /**
     * Records that `successorId` replaced the key, which now stops at `expiresAt` (the end of the
     * grace period). False, and nothing written, when the key had been rotated already.
     */
    async markRotated(id: number, successorId: number, expiresAt: string | null, at: string): Promise<boolean> {
      const [written] = await sql<KeyIdentity[]>`
        UPDATE apikeys SET successor_id = ${successorId}, expires_at = ${expiresAt}, updated_at = ${at}
        WHERE id = ${id} AND successor_id IS NULL RETURNING key_hash, user_id`
      noteKey(written)
      return written !== undefined
    },
    findByHash: (hash: string) => one(sql<ApiKeyRow[]>`SELECT ${columns} FROM apikeys WHERE key_hash = ${hash}`),
    findById: (id: number) => one(sql<ApiKeyRow[]>`SELECT ${columns} FROM apikeys WHERE id = ${id}`),
    /** The user's keys, newest first. */
    async listByUser(userId: string): Promise<ApiKeyRecord[]> {
      return (await sql<ApiKeyRow[]>`SELECT ${columns} FROM apikeys WHERE user_id = ${userId} ORDER BY id DESC`).map(toRecord)
    },
    async countByUser(userId: string): Promise<number> {
      const [row] = await sql<{ n: number }[]>`SELECT count(*)::int AS n FROM apikeys WHERE user_id = ${userId}`
      return row!.n
    },
    async countAll(): Promise<number> {
      const [row] = await sql<{ n: number }[]>`SELECT count(*)::int AS n FROM apikeys`
      return row!.n
    },
    async delete(id: number): Promise<void> {
      const [written] = await sql<KeyIdentity[]>`DELETE FROM apikeys WHERE id = ${id} RETURNING key_hash, user_id`
      noteKey(written)
    },
    /** Unless a later use is written already: instances and flushes write in any order, the latest use wins. */
    async writeLastUse(key, at, ip): Promise<void> {
      await sql`UPDATE apikeys SET last_used_at = ${at}, last_used_ip = ${ip}
        WHERE id = ${key.keyId} AND (last_used_at IS NULL OR last_used_at < ${at})`
      note({ kind: 'last-use', hash: key.hash, keyId: key.keyId, userId: key.userId, at, ip })
    },
  }
}
