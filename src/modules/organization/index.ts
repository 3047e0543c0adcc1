/** `/organization/` and `/organization/:id/members/` (SPEC §7). */
import { Elysia } from 'elysia'
import type { AuthPlugin } from '../../access/auth-plugin'
import type { Core } from '../../core'
import {
  AddMemberBody, MemberList, MemberOne, MemberParams, OrganizationList, OrganizationOne, orgErrors as e, OrgIdParams,
  OrgNameBody, OrgUpdateBody, RoleBody,
} from './model'
import {
  addMember, changeMemberRole, createOrganizationFor, deleteOrganization, getOrganization, listMembers,
  listOrganizations, removeMember, updateOrganization,
} from './service'
import { CallerChanged, keyedResponses, Success } from '../../http/schemas'

const tags = ['Organizations']
/** The answers of every route about one org: its id may be too long (400), or out of reach (404). */
const read = { 400: e.invalidId, 403: e.forbidden, 404: e.notFound }
/** Changes take a JSON body. */
const change = { ...read, 400: e.invalid }
/** Routes about one member: a bad role, the member not there, the last `all` member. */
const member = { ...change, 400: e.invalidMember, 404: e.memberNotFound, 409: e.lastAllMember }

export function organizationModule(core: Core, auth: AuthPlugin) {
  return new Elysia({ prefix: '/organization' })
    .use(auth)
    .get('/', async ({ principal }) => ({ data: await listOrganizations(core, principal) }), {
      access: 'read',
      response: keyedResponses({ 200: OrganizationList, 403: e.forbidden }),
      detail: { tags, operationId: 'listOrganizations', summary: 'List organizations', description: "The caller's orgs within the key's reach, each with the caller's role." },
    })
    .post('/', async ({ principal, actor, body, status }) => status(201, { organization: await createOrganizationFor(core, principal, actor, body) }), {
      access: 'all',
      jsonBody: true,
      body: OrgNameBody,
      response: keyedResponses({ 201: OrganizationOne, 400: e.invalid, 403: e.forbidden, 409: CallerChanged }, { body: true }),
      detail: { tags, operationId: 'createOrganization', summary: 'Create an organization', description: 'Needs an `all` key without limits; the caller becomes an `all` member.' },
    })
    .get('/:id', async ({ principal, params }) => ({ organization: await getOrganization(core, principal, params.id) }), {
      access: 'read',
      params: OrgIdParams,
      response: keyedResponses({ 200: OrganizationOne, ...read }),
      detail: { tags, operationId: 'getOrganization', summary: 'Get an organization', description: "One org within the key's reach, with the caller's role." },
    })
    .put('/:id', async ({ principal, actor, params, body }) => ({ organization: await updateOrganization(core, principal, actor, params.id, body) }), {
      access: 'write',
      jsonBody: true,
      params: OrgIdParams,
      body: OrgUpdateBody,
      response: keyedResponses({ 200: OrganizationOne, ...change, 409: CallerChanged }, { body: true }),
      detail: {
        tags,
        operationId: 'updateOrganization',
        summary: 'Update an organization',
        description:
          'Renames the org (needs `write`: key mode and the user\'s role) and/or sets its `key_policy` (needs `all`; null lifts it). ' +
          'A key policy governs every key limited to the org or to its apps: a key that would outlive it is refused (400 `invalid_expires_at`), ' +
          'and keys made before it stop at max(created_at, policy start) + its maximum at the latest.',
      },
    })
    .delete(
      '/:id',
      async ({ principal, actor, params }) => {
        await deleteOrganization(core, principal, actor, params.id)
        return { success: true as const }
      },
      {
        access: 'all',
        params: OrgIdParams,
        response: keyedResponses({ 200: Success, ...read, 409: CallerChanged }),
        detail: { tags, operationId: 'deleteOrganization', summary: 'Delete an organization', description: 'Deletes the org with its apps. Keys limited to it stay, but can reach nothing.' },
      },
    )
    .get('/:id/members', async ({ principal, params }) => ({ data: await listMembers(core, principal, params.id) }), {
      access: 'read',
      params: OrgIdParams,
      response: keyedResponses({ 200: MemberList, ...read }),
      detail: { tags, operationId: 'listMembers', summary: 'List members', description: 'The members of one org, with their roles.' },
    })
    .post('/:id/members', async ({ principal, actor, params, body, status }) => status(201, { member: await addMember(core, principal, actor, params.id, body) }), {
      access: 'all',
      jsonBody: true,
      params: OrgIdParams,
      body: AddMemberBody,
      response: keyedResponses({ 201: MemberOne, ...change, 400: e.invalidMember, 404: e.userNotFound, 409: e.alreadyMember }, { body: true }),
      detail: { tags, operationId: 'addMember', summary: 'Add a member', description: 'Adds an existing user, found by email, with a role.' },
    })
    .put('/:id/members/:user_id', async ({ principal, actor, params, body }) => ({ member: await changeMemberRole(core, principal, actor, params.id, params.user_id, body) }), {
      access: 'all',
      jsonBody: true,
      params: MemberParams,
      body: RoleBody,
      response: keyedResponses({ 200: MemberOne, ...member }, { body: true }),
      detail: { tags, operationId: 'updateMember', summary: "Change a member's role", description: 'The last `all` member cannot be demoted.' },
    })
    .delete(
      '/:id/members/:user_id',
      async ({ principal, actor, params }) => {
        await removeMember(core, principal, actor, params.id, params.user_id)
        return { success: true as const }
      },
      {
        access: 'all',
        params: MemberParams,
        response: keyedResponses({ 200: Success, ...read, 404: e.memberNotFound, 409: e.lastAllMember }),
        detail: { tags, operationId: 'removeMember', summary: 'Remove a member', description: 'The last `all` member cannot be removed.' },
      },
    )
}
