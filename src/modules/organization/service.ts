/** Organizations and their members (SPEC §6-7). Every check goes through `authorize`. */
import { policySettings, type KeyPolicySettings } from '../../access/lifetime'
import type { Mode } from '../../access/modes'
import { authorize, isAllowed } from '../../access/policy'
import type { Principal } from '../../access/principal'
import type { Actor, Core } from '../../core'
import { conflict, notFound, validationError } from '../../errors'
import { newId } from '../../ids'
import { normalizeName } from '../../validation'
import { recordAudit } from '../audit/service'
import type { OrgUpdateBody } from './model'
import type { MemberView, OrgRecord } from './repository'

/** An org as the API shows it: with the caller's role and its key policy (SPEC §6a). */
export type OrgView = OrgRecord & { role: Mode; key_policy: KeyPolicySettings | null }

function toView(core: Core, org: OrgRecord, role: Mode): OrgView {
  const policy = core.readModel.keyPolicy(org.id)
  return { ...org, role, key_policy: policy && policySettings(policy) }
}

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
  return toView(core, createOrganization(core, actor, input), 'all')
}

/** The caller's orgs within the key's reach, each with the caller's role. */
export function listOrganizations(core: Core, principal: Principal): OrgView[] {
  return core.store.orgs
    .listForUser(principal.userId)
    .filter((org) => isAllowed(principal, { mode: 'read', on: 'org', orgId: org.id }))
    .map(({ role, ...org }) => toView(core, org, role))
}

/** The org, once `principal` may do `mode` on it (404 when beyond reach). */
function reachOrg(core: Core, principal: Principal, orgId: string, mode: Mode): OrgRecord {
  authorize(principal, { mode, on: 'org', orgId })
  const org = core.store.orgs.findById(orgId)
  if (!org) throw notFound('Organization not found')
  return org
}

export function getOrganization(core: Core, principal: Principal, orgId: string): OrgView {
  return toView(core, reachOrg(core, principal, orgId, 'read'), principal.memberships.get(orgId)!)
}

const samePolicy = (a: KeyPolicySettings | null, b: KeyPolicySettings | null) =>
  a?.max_key_lifetime_days === b?.max_key_lifetime_days && a?.require_expiry === b?.require_expiry

/**
 * PUT /organization/:id/: a new name needs `write`, a key policy `all` (SPEC §6a). A policy
 * comes into force now: keys it governs stop at max(created_at, now) + its maximum at the
 * latest. The policy it replaces keeps bounding the keys made under it (src/access/lifetime.ts).
 */
export function updateOrganization(core: Core, principal: Principal, actor: Actor, orgId: string, input: OrgUpdateBody): OrgView {
  if (input.name === undefined && input.key_policy === undefined) throw validationError('Nothing to update: send name or key_policy')
  const name = input.name === undefined ? undefined : normalizeName(input.name)
  return core.store.write(() => {
    let org = reachOrg(core, principal, orgId, input.key_policy === undefined ? 'write' : 'all')
    const now = core.clock.now().toISOString()
    const changes: Record<string, unknown> = {}
    if (name !== undefined && name !== org.name) {
      core.store.orgs.rename(orgId, name, now)
      Object.assign(changes, { name, previous_name: org.name })
      org = { ...org, name, updated_at: now }
    }
    const previous = core.readModel.keyPolicy(orgId)
    const previousSettings = previous && policySettings(previous)
    if (input.key_policy !== undefined && !samePolicy(input.key_policy, previousSettings)) {
      const next = input.key_policy && { maxDays: input.key_policy.max_key_lifetime_days, requireExpiry: input.key_policy.require_expiry }
      core.store.keyPolicies.replace(orgId, next, now)
      Object.assign(changes, { key_policy: input.key_policy, previous_key_policy: previousSettings })
    }
    if (Object.keys(changes).length > 0) recordAudit(core, actor, 'organization.update', { type: 'organization', id: orgId }, changes)
    return toView(core, org, principal.memberships.get(orgId)!)
  })
}

/** Deletes the org with its apps and memberships; each app deleted is audited too. Keys limited to it stay, powerless. */
export function deleteOrganization(core: Core, principal: Principal, actor: Actor, orgId: string): void {
  core.store.write(() => {
    const org = reachOrg(core, principal, orgId, 'all')
    for (const app of core.store.apps.listForOrg(orgId))
      recordAudit(core, actor, 'app.delete', { type: 'app', id: app.app_id }, { name: app.name, org_id: orgId, with_organization: true })
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
