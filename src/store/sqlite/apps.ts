/** Storage of apps. */
import type { Database } from 'bun:sqlite'
import { EVERYTHING, type Change } from '../../read-model/changes'
import type { AppRecord } from '../records'
import type { AppRepo } from '../types'

const COLUMNS = 'app_id, org_id, name, created_at, updated_at'

/** Every write here notes that everything the read model holds may have changed (apps decide app-limited keys and lists of apps). */
export function appRepository(db: Database, note: (change: Change) => void): AppRepo {
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

  const changed = () => note(EVERYTHING)

  return {
    insert(app: AppRecord): void {
      insert.run(app)
      changed()
    },
    findById: (appId: string) => byId.get(appId),
    /** Every app in the orgs the user belongs to. */
    listForUser: (userId: string) => ofUser.all(userId),
    rename(appId: string, name: string, at: string): void {
      rename.run(name, at, appId)
      changed()
    },
    /** Deletes the app and retires its id for good. */
    delete(appId: string, at: string): void {
      retire.run(at, appId)
      remove.run(appId)
      changed()
    },
    /** The org a deleted app belonged to, when known. */
    retiredOrgOf: (appId: string): string | null => retiredOrg.get(appId)?.org_id ?? null,
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

