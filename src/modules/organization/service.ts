/** Organizations and their members (SPEC §6-7). Every check goes through `authorize`. */
import { policySettings, type KeyPolicySettings } from '../../access/lifetime'
import type { Mode } from '../../access/modes'
import { authorize, isAllowed } from '../../access/policy'
import type { Principal } from '../../access/principal'
import { writeAs } from '../../access/write-as'
import type { Actor, Core } from '../../core'
import { conflict, notFound, validationError } from '../../errors'
import { newId } from '../../ids'
import type { ReadModel } from '../../read-model/read-model'
import type { MemberView, OrgRecord } from '../../store/records'
import type { Repos, Tx } from '../../store/types'
import { normalizeName } from '../../validation'
import { recordAudit, renameRecord } from '../audit/service'
import type { OrgUpdateBody } from './model'

/** An org as the API shows it: with the caller's role and its key policy (SPEC §6a). */
export type OrgView = OrgRecord & { role: Mode; key_policy: KeyPolicySettings | null }

async function toView(lookups: ReadModel, org: OrgRecord, role: Mode): Promise<OrgView> {
  const policy = await lookups.keyPolicy(org.id)
  return { ...org, role, key_policy: policy && policySettings(policy) }
}

/** Creates an org, in the transaction, with `actor.userId` as its `all` member. Call with an authorized actor. */
export async function createOrganization(core: Core, tx: Tx, actor: Actor, input: { name: string }): Promise<OrgRecord> {
  const name = normalizeName(input.name)
  const now = core.clock.now().toISOString()
  const org: OrgRecord = { id: newId('org'), name, created_by: actor.userId, created_at: now, updated_at: now }
  await tx.orgs.insert(org)
  await tx.orgs.addMember({ org_id: org.id, user_id: actor.userId, role: 'all', created_at: now })
  await recordAudit(core, tx, actor, 'organization.create', { type: 'organization', id: org.id }, { name })
  return org
}

/** POST /organization/: only an unlimited `all` key; the caller becomes an `all` member. */
export async function createOrganizationFor(core: Core, principal: Principal, actor: Actor, input: { name: string }): Promise<OrgView> {
  authorize(principal, { mode: 'all', on: 'unlimited' })
  normalizeName(input.name)
  const org = await writeAs(core, principal, ({ tx }) => createOrganization(core, tx, actor, input))
  return toView(core.readModel, org, 'all')
}

/** The caller's orgs within the key's reach, each with the caller's role. */
export async function listOrganizations(core: Core, principal: Principal): Promise<OrgView[]> {
  const orgs = (await core.store.orgs.listForUser(principal.userId)).filter((org) => isAllowed(principal, { mode: 'read', on: 'org', orgId: org.id }))
  return Promise.all(orgs.map(({ role, ...org }) => toView(core.readModel, org, role)))
}

/** The org, once `principal` may do `mode` on it (404 when beyond reach). */
async function reachOrg(repos: Repos, principal: Principal, orgId: string, mode: Mode): Promise<OrgRecord> {
  authorize(principal, { mode, on: 'org', orgId })
  const org = await repos.orgs.findById(orgId)
  if (!org) throw notFound('Organization not found')
  return org
}

export async function getOrganization(core: Core, principal: Principal, orgId: string): Promise<OrgView> {
  return toView(core.readModel, await reachOrg(core.store, principal, orgId, 'read'), principal.memberships.get(orgId)!)
}

const samePolicy = (a: KeyPolicySettings | null, b: KeyPolicySettings | null) =>
  a?.max_key_lifetime_days === b?.max_key_lifetime_days && a?.require_expiry === b?.require_expiry

/**
 * PUT /organization/:id/: a new name needs `write`, a key policy `all` (SPEC §6a). A policy
 * comes into force now: keys it governs stop at max(created_at, now) + its maximum at the
 * latest. The policy it replaces keeps bounding the keys made under it (src/access/lifetime.ts).
 */
export async function updateOrganization(core: Core, principal: Principal, actor: Actor, orgId: string, input: OrgUpdateBody): Promise<OrgView> {
  if (input.name === undefined && input.key_policy === undefined) throw validationError('Nothing to update: send name or key_policy')
  const name = input.name === undefined ? undefined : normalizeName(input.name)
  return writeAs(core, principal, async ({ tx, fresh }) => {
    const reached = await reachOrg(tx, principal, orgId, input.key_policy === undefined ? 'write' : 'all')
    const now = core.clock.now().toISOString()
    const { record: org, changes } = name === undefined
      ? { record: reached, changes: {} }
      : await renameRecord(reached, name, now, (to, at) => tx.orgs.rename(orgId, to, at))
    const previous = await fresh.keyPolicy(orgId)
    const previousSettings = previous && policySettings(previous)
    if (input.key_policy !== undefined && !samePolicy(input.key_policy, previousSettings)) {
      const next = input.key_policy && { maxDays: input.key_policy.max_key_lifetime_days, requireExpiry: input.key_policy.require_expiry }
      await tx.keyPolicies.replace(orgId, next, now)
      Object.assign(changes, { key_policy: input.key_policy, previous_key_policy: previousSettings })
    }
    if (Object.keys(changes).length > 0) await recordAudit(core, tx, actor, 'organization.update', { type: 'organization', id: orgId }, changes)
    return toView(fresh, org, principal.memberships.get(orgId)!)
  })
}

/** Deletes the org with its apps and memberships; each app deleted is audited too. Keys limited to it stay, powerless. */
export function deleteOrganization(core: Core, principal: Principal, actor: Actor, orgId: string): Promise<void> {
  return writeAs(core, principal, async ({ tx }) => {
    const org = await reachOrg(tx, principal, orgId, 'all')
    for (const app of await tx.apps.listForOrg(orgId))
      await recordAudit(core, tx, actor, 'app.delete', { type: 'app', id: app.app_id }, { name: app.name, org_id: orgId, with_organization: true })
    await tx.apps.retireAppsOf(orgId, core.clock.now().toISOString())
    await tx.orgs.delete(orgId)
    await recordAudit(core, tx, actor, 'organization.delete', { type: 'organization', id: orgId }, { name: org.name })
  })
}

export async function listMembers(core: Core, principal: Principal, orgId: string): Promise<MemberView[]> {
  await reachOrg(core.store, principal, orgId, 'read')
  return core.store.orgs.members(orgId)
}

/** Adds an existing user, found by email, with a role. */
export function addMember(core: Core, principal: Principal, actor: Actor, orgId: string, input: { email: string; role: Mode }): Promise<MemberView> {
  return writeAs(core, principal, async ({ tx }) => {
    await reachOrg(tx, principal, orgId, 'all')
    const user = await tx.users.findByEmail(input.email.trim())
    if (!user) throw notFound('User not found')
    if (await tx.orgs.member(orgId, user.id)) throw conflict('The user is already a member of this organization')
    const created_at = core.clock.now().toISOString()
    await tx.orgs.addMember({ org_id: orgId, user_id: user.id, role: input.role, created_at })
    await recordAudit(core, tx, actor, 'member.add', { type: 'organization', id: orgId }, { user_id: user.id, role: input.role })
    return { user_id: user.id, email: user.email, name: user.name, role: input.role, created_at }
  })
}

/** The member, once the caller may manage members; the last `all` member is protected. */
async function reachMember(tx: Tx, principal: Principal, orgId: string, userId: string): Promise<MemberView> {
  await reachOrg(tx, principal, orgId, 'all')
  const member = (await tx.orgs.members(orgId)).find((m) => m.user_id === userId)
  if (!member) throw notFound('Member not found')
  return member
}

async function assertNotLastAll(tx: Tx, orgId: string, member: MemberView): Promise<void> {
  if (member.role === 'all' && (await tx.orgs.countAllMembers(orgId)) === 1)
    throw conflict('The last member with role "all" can be neither removed nor demoted')
}

export function changeMemberRole(core: Core, principal: Principal, actor: Actor, orgId: string, userId: string, input: { role: Mode }): Promise<MemberView> {
  return writeAs(core, principal, async ({ tx }) => {
    const member = await reachMember(tx, principal, orgId, userId)
    if (input.role !== 'all') await assertNotLastAll(tx, orgId, member)
    await tx.orgs.setRole(orgId, userId, input.role)
    await recordAudit(core, tx, actor, 'member.update', { type: 'organization', id: orgId }, { user_id: userId, role: input.role, previous_role: member.role })
    return { ...member, role: input.role }
  })
}

export function removeMember(core: Core, principal: Principal, actor: Actor, orgId: string, userId: string): Promise<void> {
  return writeAs(core, principal, async ({ tx }) => {
    const member = await reachMember(tx, principal, orgId, userId)
    await assertNotLastAll(tx, orgId, member)
    await tx.orgs.removeMember(orgId, userId)
    await recordAudit(core, tx, actor, 'member.remove', { type: 'organization', id: orgId }, { user_id: userId, role: member.role })
  })
}
