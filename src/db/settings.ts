/** Server-wide settings that must outlive a restart (the `settings` table of migration 0004). */
import type { Database } from 'bun:sqlite'

/** A setting's value and since when it has had it. */
export interface Setting {
  value: string
  since: string
}

export function settingsRepository(db: Database) {
  const get = db.prepare<Setting, [string]>('SELECT value, since FROM settings WHERE name = ?')
  const put = db.prepare<never, [string, string, string]>(
    'INSERT INTO settings (name, value, since) VALUES (?, ?, ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value, since = excluded.since',
  )
  const remove = db.prepare<never, [string]>('DELETE FROM settings WHERE name = ?')
  return {
    get: (name: string): Setting | null => get.get(name),
    /** Sets the value; `since` becomes `at` only when the value changes. Returns the setting as it now is. */
    keep(name: string, value: string | null, at: string): Setting | null {
      const current = get.get(name)
      if (value === null) {
        if (current !== null) remove.run(name)
        return null
      }
      if (current !== null && current.value === value) return current
      put.run(name, value, at)
      return { value, since: at }
    },
  }
}

export type SettingsRepository = ReturnType<typeof settingsRepository>
