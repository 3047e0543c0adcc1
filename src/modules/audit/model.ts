/** TypeBox schemas of the audit log endpoint (SPEC §3 audit event, §7 `GET /audit/`). */
import { t, type Static } from 'elysia'
import { named } from '../../http/openapi-annotations'
import { errorResponse, pageFields, Timestamp } from '../../http/schemas'

export const AuditEvent = named('AuditEvent', t.Object(
  {
    id: t.Integer({ description: 'Increasing event id; newer events have larger ids.', examples: [42] }),
    at: Timestamp,
    user_id: t.String({ description: 'The user who acted.', examples: ['usr_3k9d0a1b2c3d4e5f'] }),
    actor_key_id: t.Union([t.Integer(), t.Null()], {
      description: 'The id of the API key used, or null when there was none (server bootstrap, offline CLI).',
      examples: [1],
    }),
    action: t.String({
      description: 'What happened, e.g. `apikey.create`, `apikey.delete`, `organization.update`, `member.add`, `app.delete`.',
      examples: ['apikey.create'],
    }),
    target_type: t.String({ description: 'The kind of thing acted on: `apikey`, `organization`, `app`.', examples: ['apikey'] }),
    target_id: t.String({ description: 'Its id (an API key id as a string, an org id, an app id).', examples: ['3'] }),
    ip: t.Union([t.String(), t.Null()], { description: 'Client address as the server saw it, when known.', examples: ['203.0.113.7'] }),
    user_agent: t.Union([t.String(), t.Null()], { examples: ['curl/8.5.0'] }),
    details: t.Record(t.String(), t.Unknown(), {
      description: 'What changed (names, modes, limits, roles). Never a key or a hash.',
      examples: [{ name: 'Limited Read Key', mode: 'read', limited_to_apps: ['com.demo.app'], limited_to_orgs: [], expires_at: null }],
    }),
  },
  { description: 'One audit event.' },
))
export type AuditEventView = Static<typeof AuditEvent>

export const AuditListQuery = t.Object({
  ...pageFields,
  action: t.Optional(t.String({ maxLength: 100, description: 'Only events of this action, e.g. `apikey.delete`.' })),
  target_type: t.Optional(t.String({ maxLength: 100, description: 'Only events on this kind of target: `apikey`, `organization`, `app`.' })),
  target_id: t.Optional(t.String({ maxLength: 200, description: 'Only events on the target with this id (a key id, an org id, an app id).' })),
  actor_key_id: t.Optional(t.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER, description: 'Only events made with this API key.', error: "Invalid query field 'actor_key_id': expected a key id" })),
})
export type AuditListQuery = Static<typeof AuditListQuery>

export const AuditEventList = t.Object(
  { data: t.Array(AuditEvent) },
  {
    description: "The user's audit events, newest first.",
    examples: [
      {
        data: [
          {
            id: 2, at: '2024-02-12T00:00:00.000Z', user_id: 'usr_3k9d0a1b2c3d4e5f', actor_key_id: 1,
            action: 'apikey.create', target_type: 'apikey', target_id: '3', ip: '203.0.113.7', user_agent: 'curl/8.5.0',
            details: { name: 'Limited Read Key', mode: 'read', limited_to_apps: ['com.demo.app'], limited_to_orgs: [], expires_at: null },
          },
          {
            id: 1, at: '2024-01-01T00:00:00.000Z', user_id: 'usr_3k9d0a1b2c3d4e5f', actor_key_id: null,
            action: 'apikey.create', target_type: 'apikey', target_id: '1', ip: null, user_agent: 'codepushgo-cli',
            details: { name: 'Admin key', mode: 'all' },
          },
        ],
      },
    ],
  },
)

export const auditErrors = {
  invalid: errorResponse('A query parameter is out of range.', "Invalid query field 'limit': expected an integer from 1 to 1000", 'validation_error'),
  forbidden: errorResponse(
    'The key is not an `all` key, or it is limited to apps or orgs.',
    'This operation needs an API key without limits',
    'insufficient_permissions',
  ),
}
