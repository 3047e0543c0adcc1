/** `GET /audit/` (SPEC §7): the caller's audit log. */
import { Elysia } from 'elysia'
import type { AuthPlugin } from '../../access/auth-plugin'
import type { Core } from '../../core'
import { AuditEventList, AuditListQuery, auditErrors as e } from './model'
import { listAuditEvents, MAX_AUDIT_OFFSET } from './service'
import { keyedResponses } from '../../http/schemas'

const tags = ['Audit']

export function auditModule(core: Core, auth: AuthPlugin) {
  return new Elysia({ prefix: '/audit' })
    .use(auth)
    .get('/', async ({ principal, query }) => ({ data: await listAuditEvents(core, principal, query) }), {
      // The route needs `all`; the service also requires a key without limits.
      access: 'all',
      query: AuditListQuery,
      response: keyedResponses({ 200: AuditEventList, 400: e.invalid, 403: e.forbidden }),
      detail: {
        tags,
        operationId: 'listAuditEvents',
        summary: 'List audit events',
        description:
          "The calling user's audit events (key, organization, member and app changes), newest first, " +
          '`?limit=` (1–1000, default 100) per page: `?after=<the id of the last event of the previous page>` ' +
          '(keyset paging, the same cost at any depth), or `?page=` (0-based; a page may start at most ' +
          `${MAX_AUDIT_OFFSET.toLocaleString('en-US')} events deep, 400 past that); both at once is a 400. ` +
          'Filtered by `?action=`, `?target_type=`, `?target_id=` and `?actor_key_id=` (each exact). Each event names the key that acted, ' +
          'the client address and user agent, and what changed; never a key or a hash. ' +
          'Needs an `all` key without `limited_to_apps` or `limited_to_orgs`.',
      },
    })
}
