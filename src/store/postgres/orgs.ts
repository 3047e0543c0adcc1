/** Orgs and their members on PostgreSQL. */
import type { SQL } from 'bun'
import type { Mode } from '../../access/modes'
import { EVERYTHING, type Change } from '../../read-model/changes'
import type { MemberRecord, MemberView, OrgRecord } from '../records'
import type { OrgRepo } from '../types'

/**
 * Every write here notes that everything the read model holds may have changed: memberships
 * decide every key of their users, and orgs and their apps every list of apps.
 */
export function organizationRepository(sql: SQL, note: (change: Change) => void): OrgRepo {
  const changed = () => note(EVERYTHING)
  return {
    async insert(org: OrgRecord): Promise<void> {
      await sql`INSERT INTO orgs (id, name, created_by, created_at, updated_at)
        VALUES (${org.id}, ${org.name}, ${org.created_by}, ${org.created_at}, ${org.updated_at})`
      changed()
    },
    async findById(id: string): Promise<OrgRecord | null> {
      const [row] = await sql<OrgRecord[]>`SELECT id, name, created_by, created_at, updated_at FROM orgs WHERE id = ${id}`
      return row ?? null
    },
    /** The user's orgs with the user's role in each; orgs created in the same millisecond in the order they were made (`seq`). */
    async listForUser(userId: string): Promise<(OrgRecord & { role: Mode })[]> {
      return [...(await sql<(OrgRecord & { role: Mode })[]>`
        SELECT o.id, o.name, o.created_by, o.created_at, o.updated_at, m.role
        FROM org_members m JOIN orgs o ON o.id = m.org_id WHERE m.user_id = ${userId} ORDER BY o.created_at, o.seq`)]
    },
    async rename(id: string, name: string, at: string): Promise<void> {
      await sql`UPDATE orgs SET name = ${name}, updated_at = ${at} WHERE id = ${id}`
      changed()
    },
    /** Deletes the org; its members and apps go with it (ON DELETE CASCADE). */
    async delete(id: string): Promise<void> {
      await sql`DELETE FROM orgs WHERE id = ${id}`
      changed()
    },
    async addMember(member: MemberRecord): Promise<void> {
      await sql`INSERT INTO org_members (org_id, user_id, role, created_at)
        VALUES (${member.org_id}, ${member.user_id}, ${member.role}, ${member.created_at})`
      changed()
    },
    async membershipsOf(userId: string): Promise<{ org_id: string; role: Mode }[]> {
      return [...(await sql<{ org_id: string; role: Mode }[]>`SELECT org_id, role FROM org_members WHERE user_id = ${userId}`)]
    },
    async members(orgId: string): Promise<MemberView[]> {
      return [...(await sql<MemberView[]>`
        SELECT m.user_id, u.email, u.name, m.role, m.created_at
        FROM org_members m JOIN users u ON u.id = m.user_id WHERE m.org_id = ${orgId} ORDER BY m.created_at, u.email`)]
    },
    async member(orgId: string, userId: string): Promise<MemberRecord | null> {
      const [row] = await sql<MemberRecord[]>`
        SELECT org_id, user_id, role, created_at FROM org_members WHERE org_id = ${orgId} AND user_id = ${userId}`
      return row ?? null
    },
    async setRole(orgId: string, userId: string, role: Mode): Promise<void> {
      await sql`UPDATE org_members SET role = ${role} WHERE org_id = ${orgId} AND user_id = ${userId}`
      changed()
    },
    async removeMember(orgId: string, userId: string): Promise<void> {
      await sql`DELETE FROM org_members WHERE org_id = ${orgId} AND user_id = ${userId}`
      changed()
    },
    async countAllMembers(orgId: string): Promise<number> {
      const [row] = await sql<{ n: number }[]>`SELECT count(*)::int AS n FROM org_members WHERE org_id = ${orgId} AND role = 'all'`
      return row!.n
    },
  }
}
