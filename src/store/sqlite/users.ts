/** Users on SQLite. */
import type { Database } from 'bun:sqlite'
import { emailKey } from '../../validation'
import type { UserRecord } from '../records'
import type { UserRepo } from '../types'

const COLUMNS = 'id, email, name, created_at'

export function userRepository(db: Database): UserRepo {
  const insert = db.prepare<never, UserRecord & { email_key: string }>(
    'INSERT INTO users (id, email, email_key, name, created_at) VALUES ($id, $email, $email_key, $name, $created_at)',
  )
  const byEmailKey = db.prepare<UserRecord, [string]>(`SELECT ${COLUMNS} FROM users WHERE email_key = ?`)
  const all = db.prepare<UserRecord, []>(`SELECT ${COLUMNS} FROM users ORDER BY created_at, id`)
  const count = db.prepare<{ n: number }, []>('SELECT count(*) AS n FROM users')

  return {
    insert: (user: UserRecord) => void insert.run({ ...user, email_key: emailKey(user.email) }),
    /** Case-insensitively beyond ASCII (NFC, then Unicode case folding): see `emailKey`. */
    findByEmail: (email: string) => byEmailKey.get(emailKey(email)),
    list: () => all.all(),
    count: () => count.get()!.n,
  }
}
