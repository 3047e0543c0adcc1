/** Storage of apps. */
import type { Database } from 'bun:sqlite'
import type { ReadCache } from '../../db/read-cache'

// A type alias, not an interface: bun:sqlite binds it as named parameters.
export type AppRecord = {
  app_id: string
  org_id: string
  name: string
  created_at: string
  updated_at: string
}

const COLUMNS = 'app_id, org_id, name, created_at, updated_at'

export function appRepository(db: Database, cache: ReadCache) {
  const insert = db.prepare<never, AppRecord>(
    `INSERT INTO apps (app_id, org_id, name, created_at, updated_at)
     VALUES ($app_id, $org_id, $name, $created_at, $updated_at)`,
  )
  const byId = db.prepare<AppRecord, [string]>(`SELECT ${COLUMNS} FROM apps WHERE app_id = ?`)
  const ofUser = db.prepare<AppRecord, [string]>(
    `SELECT ${COLUMNS} FROM apps WHERE org_id IN (SELECT org_id FROM org_members WHERE user_id = ?) ORDER BY app_id`,
  )
  const rename = db.prepare<never, [string, string, string]>('UPDATE apps SET name = ?, updated_at = ? WHERE app_id = ?')
  const remove = db.prepare<never, [string]>('DELETE FROM apps WHERE app_id = ?')
  const retire = db.prepare<never, [string, string]>(
    'INSERT OR IGNORE INTO retired_app_ids (app_id, retired_at, org_id) SELECT app_id, ?, org_id FROM apps WHERE app_id = ?',
  )
  const retireOrg = db.prepare<never, [string, string]>(
    'INSERT OR IGNORE INTO retired_app_ids (app_id, retired_at, org_id) SELECT app_id, ?, org_id FROM apps WHERE org_id = ?',
  )
  const retiredOrg = db.prepare<{ org_id: string | null }, [string]>('SELECT org_id FROM retired_app_ids WHERE app_id = ?')
  // App ids are unique and retired case-insensitively (the indexes of migration 0004).
  const takenAnyCase = db.prepare<{ app_id: string }, [string]>('SELECT app_id FROM apps WHERE app_id = ? COLLATE NOCASE LIMIT 1')
  const retiredAnyCase = db.prepare<{ app_id: string }, [string]>('SELECT app_id FROM retired_app_ids WHERE app_id = ? COLLATE NOCASE LIMIT 1')
  const ofOrg = db.prepare<AppRecord, [string]>(`SELECT ${COLUMNS} FROM apps WHERE org_id = ? ORDER BY app_id`)

  return {
    insert: (app: AppRecord) => void insert.run(app),
    /** Cached; read-only. */
    findById: (appId: string) => cache.get(`app:${appId}`, () => byId.get(appId)),
    /** Every app in the orgs the user belongs to (cached; read-only). */
    listForUser: (userId: string) => cache.get(`apps-of:${userId}`, () => ofUser.all(userId)),
    rename: (appId: string, name: string, at: string) => void rename.run(name, at, appId),
    /** Deletes the app and retires its id for good. */
    delete(appId: string, at: string): void {
      retire.run(at, appId)
      remove.run(appId)
    },
    /** The org an app belongs to, or belonged to before it was deleted (cached); null when unknown. */
    orgOf: (appId: string): string | null =>
      cache.get(`app-org:${appId}`, () => byId.get(appId)?.org_id ?? retiredOrg.get(appId)?.org_id ?? null) ?? null,
    /** Retires the ids of every app of an org about to be deleted. */
    retireAppsOf: (orgId: string, at: string) => void retireOrg.run(at, orgId),
    /** The app id, in any case, that an existing app already has. */
    takenAnyCase: (appId: string) => takenAnyCase.get(appId)?.app_id ?? null,
    /** The id, in any case, of a deleted app that `appId` would be taken for. */
    retiredAnyCase: (appId: string) => retiredAnyCase.get(appId)?.app_id ?? null,
    /** The apps of one org. */
    listForOrg: (orgId: string) => ofOrg.all(orgId),
  }
}

export type AppRepository = ReturnType<typeof appRepository>
