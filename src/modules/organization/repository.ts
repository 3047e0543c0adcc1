/** Storage of orgs and their members. */
import type { Database } from 'bun:sqlite'
import { orgLifetimePolicy, type KeyPolicySettings, type LifetimePolicy } from '../../access/lifetime'
import type { Mode } from '../../access/modes'
import type { ReadCache } from '../../db/read-cache'

// Type aliases, not interfaces: bun:sqlite binds them as named parameters.
export type OrgRecord = {
  id: string
  name: string
  created_by: string
  created_at: string
  updated_at: string
  /** SPEC §6a; null: none. */
  key_policy: KeyPolicySettings | null
  /** When `key_policy` came into force. */
  key_policy_since: string | null
}

type OrgRow = Omit<OrgRecord, 'key_policy'> & { key_policy: string | null }

const toOrg = <R extends OrgRow>(row: R): Omit<R, 'key_policy'> & { key_policy: KeyPolicySettings | null } => ({
  ...row,
  key_policy: row.key_policy === null ? null : (JSON.parse(row.key_policy) as KeyPolicySettings),
})

export type MemberRecord = {
  org_id: string
  user_id: string
  role: Mode
  created_at: string
}

/** A member with the user's email and name, as lists show them. */
export type MemberView = { user_id: string; email: string; name: string; role: Mode; created_at: string }

const ORG_COLUMNS = 'id, name, created_by, created_at, updated_at, key_policy, key_policy_since'

export function organizationRepository(db: Database, cache: ReadCache) {
  const insertOrg = db.prepare<never, Omit<OrgRecord, 'key_policy' | 'key_policy_since'>>(
    `INSERT INTO orgs (id, name, created_by, created_at, updated_at)
     VALUES ($id, $name, $created_by, $created_at, $updated_at)`,
  )
  const byId = db.prepare<OrgRow, [string]>(`SELECT ${ORG_COLUMNS} FROM orgs WHERE id = ?`)
  const ofUser = db.prepare<OrgRow & { role: Mode }, [string]>(
    `SELECT o.id, o.name, o.created_by, o.created_at, o.updated_at, o.key_policy, o.key_policy_since, m.role
     FROM org_members m JOIN orgs o ON o.id = m.org_id WHERE m.user_id = ? ORDER BY o.created_at, o.rowid`,
  )
  const rename = db.prepare<never, [string, string, string]>('UPDATE orgs SET name = ?, updated_at = ? WHERE id = ?')
  const setPolicy = db.prepare<never, [string | null, string | null, string, string]>(
    'UPDATE orgs SET key_policy = ?, key_policy_since = ?, updated_at = ? WHERE id = ?',
  )
  const withPolicy = db.prepare<{ id: string; key_policy: string; key_policy_since: string }, []>(
    'SELECT id, key_policy, key_policy_since FROM orgs WHERE key_policy IS NOT NULL',
  )
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

  return {
    insert: ({ key_policy: _, key_policy_since: __, ...org }: OrgRecord) => void insertOrg.run(org),
    findById: (id: string): OrgRecord | null => {
      const row = byId.get(id)
      return row && toOrg(row)
    },
    /** The user's orgs with the user's role in each. */
    listForUser: (userId: string) => ofUser.all(userId).map(toOrg),
    rename: (id: string, name: string, at: string) => void rename.run(name, at, id),
    /** Sets (or, with null, lifts) the org's key policy, in force from `since`. */
    setKeyPolicy: (id: string, policy: KeyPolicySettings | null, since: string | null, at: string) =>
      void setPolicy.run(policy === null ? null : JSON.stringify(policy), since, at, id),
    /** Every org's key policy in force, by org id (cached; read-only). */
    keyPolicies: (): ReadonlyMap<string, LifetimePolicy> =>
      cache.get('org-key-policies', () => {
        const policies = new Map<string, LifetimePolicy>()
        for (const row of withPolicy.all()) {
          const policy = orgLifetimePolicy(row.id, JSON.parse(row.key_policy) as KeyPolicySettings, row.key_policy_since)
          if (policy !== null) policies.set(row.id, policy)
        }
        return policies
      }),
    /** Deletes the org; its members and apps go with it (ON DELETE CASCADE). */
    delete: (id: string) => void remove.run(id),
    addMember: (record: MemberRecord) => void insertMember.run(record),
    /** org id → role, for every org the user belongs to (cached; read-only). */
    membershipsOf: (userId: string): ReadonlyMap<string, Mode> =>
      cache.get(`memberships:${userId}`, () => new Map(membershipsOf.all(userId).map((m) => [m.org_id, m.role] as const))),
    members: (orgId: string) => members.all(orgId),
    member: (orgId: string, userId: string) => member.get(orgId, userId),
    setRole: (orgId: string, userId: string, role: Mode) => void setRole.run(role, orgId, userId),
    removeMember: (orgId: string, userId: string) => void removeMember.run(orgId, userId),
    countAllMembers: (orgId: string) => countAllMembers.get(orgId)!.n,
  }
}

export type OrganizationRepository = ReturnType<typeof organizationRepository>
