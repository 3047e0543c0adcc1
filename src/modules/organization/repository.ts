/** Storage of orgs and their members. */
import type { Database } from 'bun:sqlite'
import type { Mode } from '../../access/modes'

// A type alias, not an interface: bun:sqlite binds it as named parameters.
export type OrgRecord = {
  id: string
  name: string
  created_by: string
  created_at: string
  updated_at: string
}

// A type alias, not an interface: bun:sqlite binds it as named parameters.
export type MemberRecord = {
  org_id: string
  user_id: string
  role: Mode
  created_at: string
}

export function organizationRepository(db: Database) {
  const insertOrg = db.prepare<never, OrgRecord>(
    `INSERT INTO orgs (id, name, created_by, created_at, updated_at)
     VALUES ($id, $name, $created_by, $created_at, $updated_at)`,
  )
  const insertMember = db.prepare<never, MemberRecord>(
    `INSERT INTO org_members (org_id, user_id, role, created_at) VALUES ($org_id, $user_id, $role, $created_at)`,
  )
  const membershipsOf = db.prepare<{ org_id: string; role: Mode }, [string]>(
    'SELECT org_id, role FROM org_members WHERE user_id = ?',
  )

  return {
    insert: (org: OrgRecord) => void insertOrg.run(org),
    addMember: (member: MemberRecord) => void insertMember.run(member),
    /** org id → role, for every org the user belongs to. */
    membershipsOf: (userId: string) => new Map(membershipsOf.all(userId).map((m) => [m.org_id, m.role] as const)),
  }
}

export type OrganizationRepository = ReturnType<typeof organizationRepository>
