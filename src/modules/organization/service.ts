/** Organizations and their members (SPEC §6-7). Every check goes through `authorize`. */
import type { Mode } from '../../access/modes'
import { authorize, isAllowed } from '../../access/policy'
import type { Principal } from '../../access/principal'
import type { Actor, Core } from '../../core'
import { conflict, notFound } from '../../errors'
import { newId } from '../../ids'
import { normalizeName } from '../apikey/validate'
import { recordAudit } from '../audit/service'
import type { MemberView, OrgRecord } from './repository'

export type OrgView = OrgRecord & { role: Mode }

/** Creates an org with `actor.userId` as its `all` member. Call with an authorized actor. */
export function createOrganization(core: Core, actor: Actor, input: { name: string }): OrgRecord {
  const name = normalizeName(input.name)
  return core.store.write(() => {
    const now = core.clock.now().toISOString()
    const org: OrgRecord = { id: newId('org'), name, created_by: actor.userId, created_at: now, updated_at: now }
    core.store.orgs.insert(org)
    core.store.orgs.addMember({ org_id: org.id, user_id: actor.userId, role: 'all', created_at: now })
    recordAudit(core, actor, 'organization.create', { type: 'organization', id: org.id }, { name })
    return org
  })
}

/** POST /organization/: only an unlimited `all` key; the caller becomes an `all` member. */
export function createOrganizationFor(core: Core, principal: Principal, actor: Actor, input: { name: string }): OrgView {
  authorize(principal, { mode: 'all', on: 'unlimited' })
  return { ...createOrganization(core, actor, input), role: 'all' }
}

/** The caller's orgs within the key's reach, each with the caller's role. */
export function listOrganizations(core: Core, principal: Principal): OrgView[] {
  return core.store.orgs
    .listForUser(principal.userId)
    .filter((org) => isAllowed(principal, { mode: 'read', on: 'org', orgId: org.id }))
}

/** The org, once `principal` may do `mode` on it (404 when beyond reach). */
function reachOrg(core: Core, principal: Principal, orgId: string, mode: Mode): OrgView {
  authorize(principal, { mode, on: 'org', orgId })
  const org = core.store.orgs.findById(orgId)
  if (!org) throw notFound('Organization not found')
  return { ...org, role: principal.memberships.get(orgId)! }
}

export function getOrganization(core: Core, principal: Principal, orgId: string): OrgView {
  return reachOrg(core, principal, orgId, 'read')
}

export function renameOrganization(core: Core, principal: Principal, actor: Actor, orgId: string, input: { name: string }): OrgView {
  const name = normalizeName(input.name)
  return core.store.write(() => {
    const org = reachOrg(core, principal, orgId, 'write')
    const now = core.clock.now().toISOString()
    core.store.orgs.rename(orgId, name, now)
    recordAudit(core, actor, 'organization.update', { type: 'organization', id: orgId }, { name, previous_name: org.name })
    return { ...org, name, updated_at: now }
  })
}

/** Deletes the org with its apps and memberships. Keys limited to it stay, powerless. */
export function deleteOrganization(core: Core, principal: Principal, actor: Actor, orgId: string): void {
  core.store.write(() => {
    const org = reachOrg(core, principal, orgId, 'all')
    core.store.apps.retireAppsOf(orgId, core.clock.now().toISOString())
    core.store.orgs.delete(orgId)
    recordAudit(core, actor, 'organization.delete', { type: 'organization', id: orgId }, { name: org.name })
  })
}

export function listMembers(core: Core, principal: Principal, orgId: string): MemberView[] {
  reachOrg(core, principal, orgId, 'read')
  return core.store.orgs.members(orgId)
}

/** Adds an existing user, found by email, with a role. */
export function addMember(core: Core, principal: Principal, actor: Actor, orgId: string, input: { email: string; role: Mode }): MemberView {
  return core.store.write(() => {
    reachOrg(core, principal, orgId, 'all')
    const user = core.store.users.findByEmail(input.email.trim())
    if (!user) throw notFound('User not found')
    if (core.store.orgs.member(orgId, user.id)) throw conflict('The user is already a member of this organization')
    const created_at = core.clock.now().toISOString()
    core.store.orgs.addMember({ org_id: orgId, user_id: user.id, role: input.role, created_at })
    recordAudit(core, actor, 'member.add', { type: 'organization', id: orgId }, { user_id: user.id, role: input.role })
    return { user_id: user.id, email: user.email, name: user.name, role: input.role, created_at }
  })
}

/** The member, once the caller may manage members; the last `all` member is protected. */
function reachMember(core: Core, principal: Principal, orgId: string, userId: string) {
  reachOrg(core, principal, orgId, 'all')
  const member = core.store.orgs.members(orgId).find((m) => m.user_id === userId)
  if (!member) throw notFound('Member not found')
  return member
}

function assertNotLastAll(core: Core, orgId: string, member: MemberView): void {
  if (member.role === 'all' && core.store.orgs.countAllMembers(orgId) === 1)
    throw conflict('The last member with role "all" can be neither removed nor demoted')
}

export function changeMemberRole(core: Core, principal: Principal, actor: Actor, orgId: string, userId: string, input: { role: Mode }): MemberView {
  return core.store.write(() => {
    const member = reachMember(core, principal, orgId, userId)
    if (input.role !== 'all') assertNotLastAll(core, orgId, member)
    core.store.orgs.setRole(orgId, userId, input.role)
    recordAudit(core, actor, 'member.update', { type: 'organization', id: orgId }, { user_id: userId, role: input.role, previous_role: member.role })
    return { ...member, role: input.role }
  })
}

export function removeMember(core: Core, principal: Principal, actor: Actor, orgId: string, userId: string): void {
  core.store.write(() => {
    const member = reachMember(core, principal, orgId, userId)
    assertNotLastAll(core, orgId, member)
    core.store.orgs.removeMember(orgId, userId)
    recordAudit(core, actor, 'member.remove', { type: 'organization', id: orgId }, { user_id: userId, role: member.role })
  })
}
