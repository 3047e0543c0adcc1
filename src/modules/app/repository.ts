/** Storage of apps. */
import type { Database } from 'bun:sqlite'

// A type alias, not an interface: bun:sqlite binds it as named parameters.
export type AppRecord = {
  app_id: string
  org_id: string
  name: string
  created_at: string
  updated_at: string
}

export function appRepository(db: Database) {
  const insert = db.prepare<never, AppRecord>(
    `INSERT INTO apps (app_id, org_id, name, created_at, updated_at)
     VALUES ($app_id, $org_id, $name, $created_at, $updated_at)`,
  )
  const byId = db.prepare<AppRecord, [string]>('SELECT app_id, org_id, name, created_at, updated_at FROM apps WHERE app_id = ?')

  return {
    insert: (app: AppRecord) => void insert.run(app),
    findById: (appId: string) => byId.get(appId),
  }
}

export type AppRepository = ReturnType<typeof appRepository>
