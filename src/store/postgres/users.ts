/** Users on PostgreSQL. */
import type { SQL } from 'bun'
import { emailKey } from '../../validation'
import type { UserRecord } from '../records'
import type { UserRepo } from '../types'

export function userRepository(sql: SQL): UserRepo {
  return {
    async insert(user: UserRecord): Promise<void> {
      await sql`INSERT INTO users (id, email, email_key, name, created_at)
        VALUES (${user.id}, ${user.email}, ${emailKey(user.email)}, ${user.name}, ${user.created_at})`
    },
    /** Case-insensitively beyond ASCII (NFC, then Unicode case folding): see `emailKey`. */
    async findByEmail(email: string): Promise<UserRecord | null> {
      const [row] = await sql<UserRecord[]>`SELECT id, email, name, created_at FROM users WHERE email_key = ${emailKey(email)}`
      return row ?? null
    },
    async list(): Promise<UserRecord[]> {
      return [...(await sql<UserRecord[]>`SELECT id, email, name, created_at FROM users ORDER BY created_at, id`)]
    },
    async count(): Promise<number> {
      const [row] = await sql<{ n: number }[]>`SELECT count(*)::int AS n FROM users`
      return row!.n
    },
  }
}
