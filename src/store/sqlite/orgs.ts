/** Storage of orgs and their members. */
import type { Database } from 'bun:sqlite'
import type { Mode } from '../../access/modes'
import { EVERYTHING, type Change } from '../../read-model/changes'
import type { MemberRecord, MemberView, OrgRecord } from '../records'
import type { OrgRepo } from '../types'

const ORG_COLUMNS = 'id, name, created_by, created_at, updated_at'

/**
 * Every write here notes that everything the read model holds may have changed: memberships
 * decide every key of their users, and orgs and their apps every list of apps.
 */
export function organizationRepository(db: Database, note: (change: Change) => void): OrgRepo {
  const insertOrg = db.prepare<never, OrgRecord>(
    `INSERT INTO orgs (id, name, created_by, created_at, updated_at)
     VALUES ($id, $name, $created_by, $created_at, $updated_at)`,
  )
  const byId = db.prepare<OrgRecord, [string]>(`SELECT ${ORG_COLUMNS} FROM orgs WHERE id = ?`)
  const ofUser = db.prepare<OrgRecord & { role: Mode }, [string]>(
    `SELECT o.id, o.name, o.created_by, o.created_at, o.updated_at, m.role
     FROM org_members m JOIN orgs o ON o.id = m.org_id WHERE m.user_id = ? ORDER BY o.created_at, o.rowid`,
  )
  const rename = db.prepare<never, [string, string, string]>('UPDATE orgs SET name = ?, updated_at = ? WHERE id = ?')
  const remove = db.prepare<never, [string]>('DELETE FROM orgs WHERE id = ?')
  const insertMember = db.prepare<never, MemberRecord>(
    `INSERT INTO org_members (org_id, user_id, role, created_at) VALUES ($org_id, $user_id, $role, $created_at)`,
  )
  const membershipsOf = db.prepare<{ org_id: string; role: Mode }, [string]>(
    'SELECT org_id, role FROM org_members WHERE user_id = ?',
  )
  const members = db.prepare<MemberView, [string]>(
    `SELECT m.user_id, u.email, u.name, m.role, m.created_at
     FROM org_members m JOIN users u ON u.id = m.user_id WHERE m.org_id = ? ORDER BY m.created_at, u.email`,
  )
  const member = db.prepare<MemberRecord, [string, string]>(
    'SELECT org_id, user_id, role, created_at FROM org_members WHERE org_id = ? AND user_id = ?',
  )
  const setRole = db.prepare<never, [Mode, string, string]>('UPDATE org_members SET role = ? WHERE org_id = ? AND user_id = ?')
  const removeMember = db.prepare<never, [string, string]>('DELETE FROM org_members WHERE org_id = ? AND user_id = ?')
  const countAllMembers = db.prepare<{ n: number }, [string]>(
    "SELECT count(*) AS n FROM org_members WHERE org_id = ? AND role = 'all'",
  )

  const changed = () => note(EVERYTHING)

  return {
    insert(org: OrgRecord): void {
      insertOrg.run(org)
      changed()
    },
    findById: (id: string) => byId.get(id),
    /** The user's orgs with the user's role in each. */
    listForUser: (userId: string) => ofUser.all(userId),
    rename(id: string, name: string, at: string): void {
      rename.run(name, at, id)
      changed()
    },
    /** Deletes the org; its members and apps go with it (ON DELETE CASCADE). */
    delete(id: string): void {
      remove.run(id)
      changed()
    },
    addMember(record: MemberRecord): void {
      insertMember.run(record)
      changed()
    },
    /** The orgs the user belongs to, with the user's role in each. */
    membershipsOf: (userId: string) => membershipsOf.all(userId),
    members: (orgId: string) => members.all(orgId),
    member: (orgId: string, userId: string) => member.get(orgId, userId),
    setRole(orgId: string, userId: string, role: Mode): void {
      setRole.run(role, orgId, userId)
      changed()
    },
    removeMember(orgId: string, userId: string): void {
      removeMember.run(orgId, userId)
      changed()
    },
    countAllMembers: (orgId: string) => countAllMembers.get(orgId)!.n,
  }
}

