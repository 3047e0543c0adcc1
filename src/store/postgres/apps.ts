/** Apps and the ids of deleted apps on PostgreSQL. */
import type { SQL } from 'bun'
import { EVERYTHING, type Change } from '../../read-model/changes'
import type { AppRecord } from '../records'
import type { AppRepo } from '../types'

/** Every write here notes that everything the read model holds may have changed (apps decide app-limited keys and lists of apps). */
export function appRepository(sql: SQL, note: (change: Change) => void): AppRepo {
  const changed = () => note(EVERYTHING)
  /** The first id of `table` equal to `appId` but for ASCII case (lower() folds A-Z only in COLLATE "C", as NOCASE). */
  const anyCase = async (table: 'apps' | 'retired_app_ids', appId: string): Promise<string | null> => {
    const [row] = await sql<{ app_id: string }[]>`SELECT app_id FROM ${sql(table)} WHERE lower(app_id) = lower(${appId}) LIMIT 1`
    return row?.app_id ?? null
  }
  return {
    async insert(app: AppRecord): Promise<void> {
      await sql`INSERT INTO apps (app_id, org_id, name, created_at, updated_at)
        VALUES (${app.app_id}, ${app.org_id}, ${app.name}, ${app.created_at}, ${app.updated_at})`
      changed()
    },
    async findById(appId: string): Promise<AppRecord | null> {
      const [row] = await sql<AppRecord[]>`SELECT app_id, org_id, name, created_at, updated_at FROM apps WHERE app_id = ${appId}`
      return row ?? null
    },
    /** Every app in the orgs the user belongs to. */
    async listForUser(userId: string): Promise<AppRecord[]> {
      return [...(await sql<AppRecord[]>`
        SELECT app_id, org_id, name, created_at, updated_at FROM apps
        WHERE org_id IN (SELECT org_id FROM org_members WHERE user_id = ${userId}) ORDER BY app_id`)]
    },
    async listForOrg(orgId: string): Promise<AppRecord[]> {
      return [...(await sql<AppRecord[]>`
        SELECT app_id, org_id, name, created_at, updated_at FROM apps WHERE org_id = ${orgId} ORDER BY app_id`)]
    },
    async rename(appId: string, name: string, at: string): Promise<void> {
      await sql`UPDATE apps SET name = ${name}, updated_at = ${at} WHERE app_id = ${appId}`
      changed()
    },
    /** Deletes the app and retires its id for good. */
    async delete(appId: string, at: string): Promise<void> {
      await sql`INSERT INTO retired_app_ids (app_id, retired_at, org_id)
        SELECT app_id, ${at}, org_id FROM apps WHERE app_id = ${appId} ON CONFLICT DO NOTHING`
      await sql`DELETE FROM apps WHERE app_id = ${appId}`
      changed()
    },
    /** Retires the ids of every app of an org about to be deleted. */
    async retireAppsOf(orgId: string, at: string): Promise<void> {
      await sql`INSERT INTO retired_app_ids (app_id, retired_at, org_id)
        SELECT app_id, ${at}, org_id FROM apps WHERE org_id = ${orgId} ON CONFLICT DO NOTHING`
    },
    async retiredOrgOf(appId: string): Promise<string | null> {
      const [row] = await sql<{ org_id: string | null }[]>`SELECT org_id FROM retired_app_ids WHERE app_id = ${appId}`
      return row?.org_id ?? null
    },
    takenAnyCase: (appId: string) => anyCase('apps', appId),
    retiredAnyCase: (appId: string) => anyCase('retired_app_ids', appId),
  }
}
