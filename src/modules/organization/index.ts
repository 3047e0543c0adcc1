/** `/organization/` and `/organization/:id/members/` (SPEC §7). */
import { Elysia } from 'elysia'
import type { AuthPlugin } from '../../access/auth-plugin'
import type { Core } from '../../core'
import {
  AddMemberBody, MemberList, MemberOne, MemberParams, OrganizationList, OrganizationOne, orgErrors as e, OrgIdParams,
  OrgNameBody, RoleBody,
} from './model'
import {
  addMember, changeMemberRole, createOrganizationFor, deleteOrganization, getOrganization, listMembers,
  listOrganizations, removeMember, renameOrganization,
} from './service'
import { responses, Success } from '../../http/schemas'

const tags = ['Organizations']
const read = { 401: e.unauthorized, 403: e.forbidden, 404: e.notFound, 429: e.tooMany }
/** Changes take a JSON body. */
const change = { 400: e.invalid, ...read, 413: e.tooLarge }

export function organizationModule(core: Core, auth: AuthPlugin) {
  return new Elysia({ prefix: '/organization' })
    .use(auth)
    .get('/', ({ principal }) => ({ data: listOrganizations(core, principal) }), {
      access: 'read',
      response: responses({ 200: OrganizationList, 401: e.unauthorized, 403: e.forbidden, 429: e.tooMany }),
      detail: { tags, summary: 'List organizations', description: "The caller's orgs within the key's reach, each with the caller's role." },
    })
    .post('/', ({ principal, actor, body, status }) => status(201, { organization: createOrganizationFor(core, principal, actor, body) }), {
      access: 'all',
      jsonBody: true,
      body: OrgNameBody,
      response: responses({ 201: OrganizationOne, 400: e.invalid, 401: e.unauthorized, 403: e.forbidden, 413: e.tooLarge, 429: e.tooMany }),
      detail: { tags, summary: 'Create an organization', description: 'Needs an `all` key without limits; the caller becomes an `all` member.' },
    })
    .get('/:id', ({ principal, params }) => ({ organization: getOrganization(core, principal, params.id) }), {
      access: 'read',
      params: OrgIdParams,
      response: responses({ 200: OrganizationOne, ...read }),
      detail: { tags, summary: 'Get an organization' },
    })
    .put('/:id', ({ principal, actor, params, body }) => ({ organization: renameOrganization(core, principal, actor, params.id, body) }), {
      access: 'write',
      jsonBody: true,
      params: OrgIdParams,
      body: OrgNameBody,
      response: responses({ 200: OrganizationOne, ...change }),
      detail: { tags, summary: 'Rename an organization', description: 'Needs `write` (key mode and the user\'s role).' },
    })
    .delete(
      '/:id',
      ({ principal, actor, params }) => {
        deleteOrganization(core, principal, actor, params.id)
        return { success: true as const }
      },
      {
        access: 'all',
        params: OrgIdParams,
        response: responses({ 200: Success, ...read }),
        detail: { tags, summary: 'Delete an organization', description: 'Deletes the org with its apps. Keys limited to it stay, but can reach nothing.' },
      },
    )
    .get('/:id/members', ({ principal, params }) => ({ data: listMembers(core, principal, params.id) }), {
      access: 'read',
      params: OrgIdParams,
      response: responses({ 200: MemberList, ...read }),
      detail: { tags, summary: 'List members' },
    })
    .post('/:id/members', ({ principal, actor, params, body, status }) => status(201, { member: addMember(core, principal, actor, params.id, body) }), {
      access: 'all',
      jsonBody: true,
      params: OrgIdParams,
      body: AddMemberBody,
      response: responses({ 201: MemberOne, ...change, 409: e.conflict }),
      detail: { tags, summary: 'Add a member', description: 'Adds an existing user, found by email, with a role.' },
    })
    .put('/:id/members/:user_id', ({ principal, actor, params, body }) => ({ member: changeMemberRole(core, principal, actor, params.id, params.user_id, body) }), {
      access: 'all',
      jsonBody: true,
      params: MemberParams,
      body: RoleBody,
      response: responses({ 200: MemberOne, ...change, 409: e.conflict }),
      detail: { tags, summary: "Change a member's role", description: 'The last `all` member cannot be demoted.' },
    })
    .delete(
      '/:id/members/:user_id',
      ({ principal, actor, params }) => {
        removeMember(core, principal, actor, params.id, params.user_id)
        return { success: true as const }
      },
      {
        access: 'all',
        params: MemberParams,
        response: responses({ 200: Success, ...read, 409: e.conflict }),
        detail: { tags, summary: 'Remove a member', description: 'The last `all` member cannot be removed.' },
      },
    )
}
