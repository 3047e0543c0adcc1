/** Storage of users. */
import type { Database } from 'bun:sqlite'

// A type alias, not an interface: bun:sqlite binds it as named parameters.
export type UserRecord = {
  id: string
  email: string
  name: string
  created_at: string
}

export function userRepository(db: Database) {
  const insert = db.prepare<never, UserRecord>(
    'INSERT INTO users (id, email, name, created_at) VALUES ($id, $email, $name, $created_at)',
  )
  const byEmail = db.prepare<UserRecord, [string]>('SELECT id, email, name, created_at FROM users WHERE email = ?')
  const all = db.prepare<UserRecord, []>('SELECT id, email, name, created_at FROM users ORDER BY created_at, id')
  const count = db.prepare<{ n: number }, []>('SELECT count(*) AS n FROM users')

  return {
    insert: (user: UserRecord) => void insert.run(user),
    /** Case-insensitive, as emails are unique regardless of case. */
    findByEmail: (email: string) => byEmail.get(email),
    list: () => all.all(),
    count: () => count.get()!.n,
  }
}

export type UserRepository = ReturnType<typeof userRepository>
