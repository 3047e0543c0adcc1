/** TypeBox schemas of the organization and member endpoints. */
import { t, type Static } from 'elysia'
import { MESSAGES } from '../../errors'
import { named } from '../../http/openapi-annotations'
import { CALLER_CHANGED, errorResponse, Forbidden, ModeSchema, Timestamp } from '../../http/schemas'

const Name = t.String({ description: '1–100 characters after trimming, no control characters.', examples: ['Demo team'] })

/** SPEC §6a: bounds the life of every key limited to the org or to its apps. */
export const KeyPolicy = t.Object(
  {
    max_key_lifetime_days: t.Union([t.Integer({ minimum: 1, maximum: 36_500 }), t.Null()], {
      description: 'Every key governed by the policy expires at most this many days after its creation (or after the policy came into force, for keys made before); null: no maximum.',
    }),
    require_expiry: t.Boolean({ description: 'Every key governed by the policy must have an expiry.' }),
  },
  {
    additionalProperties: false,
    description:
      'The key policy of the organization: it governs every key limited to the org or to its apps, on every write path. ' +
      'Keys made before it came into force stop at the earlier of their own expiry and max(created_at, policy start) + the maximum.',
    examples: [{ max_key_lifetime_days: 90, require_expiry: true }],
  },
)
export type KeyPolicy = Static<typeof KeyPolicy>

export const Organization = named('Organization', t.Object(
  {
    id: t.String({ examples: ['org_4f8k2m9q1w3e5r7t'] }),
    name: t.String({ examples: ['Demo team'] }),
    created_by: t.String({ examples: ['usr_3k9d0a1b2c3d4e5f'] }),
    created_at: Timestamp,
    updated_at: Timestamp,
    role: ModeSchema,
    key_policy: t.Union([KeyPolicy, t.Null()], { description: 'Null: no key policy.' }),
  },
  { description: 'An organization, with the calling user\'s role in it.' },
))

export const Member = named('Member', t.Object(
  {
    user_id: t.String({ examples: ['usr_3k9d0a1b2c3d4e5f'] }),
    email: t.String({ examples: ['dev@example.com'] }),
    name: t.String({ examples: ['dev'] }),
    role: ModeSchema,
    created_at: Timestamp,
  },
  { description: 'A member of an organization: a user and their role in it.' },
))

export const OrgIdParams = t.Object({ id: t.String({ maxLength: 200, description: 'Organization id (`org_…`).' }) })
export const MemberParams = t.Object({
  id: t.String({ maxLength: 200, description: 'Organization id (`org_…`).' }),
  user_id: t.String({ maxLength: 200, description: 'User id (`usr_…`).' }),
})

export const OrgNameBody = t.Object({ name: Name }, { additionalProperties: false, examples: [{ name: 'Demo team' }] })
export const OrgUpdateBody = t.Object(
  {
    name: t.Optional(Name),
    key_policy: t.Optional(t.Union([KeyPolicy, t.Null()], { description: 'Sets the key policy (needs `all`); null lifts it.' })),
  },
  { additionalProperties: false, examples: [{ name: 'Demo team' }, { key_policy: { max_key_lifetime_days: 90, require_expiry: true } }] },
)
export type OrgUpdateBody = Static<typeof OrgUpdateBody>
export const AddMemberBody = t.Object(
  { email: t.String({ maxLength: 254, examples: ['dev@example.com'] }), role: ModeSchema },
  { additionalProperties: false, examples: [{ email: 'dev@example.com', role: 'upload' }] },
)
export const RoleBody = t.Object({ role: ModeSchema }, { additionalProperties: false, examples: [{ role: 'write' }] })

export const OrganizationList = t.Object({ data: t.Array(Organization) }, { description: "The caller's organizations within the key's reach." })
export const OrganizationOne = t.Object({ organization: Organization }, { description: 'The organization.' })
export const MemberList = t.Object({ data: t.Array(Member) }, { description: 'The members of the organization.' })
export const MemberOne = t.Object({ member: Member }, { description: 'The member.' })

export const orgErrors = {
  invalid: errorResponse('Invalid input.', "Invalid body field 'name': Expected string", 'validation_error'),
  invalidId: errorResponse('A path id longer than 200 characters.', "Invalid params field 'id': Expected string length less or equal to 200", 'validation_error'),
  invalidMember: errorResponse(
    'Invalid input: a role off the scale, a malformed email, or a path id longer than 200 characters.',
    MESSAGES.invalidMode,
    'invalid_mode',
  ),
  forbidden: Forbidden,
  notFound: errorResponse("No such organization within the key's reach.", 'Organization not found', 'not_found'),
  memberNotFound: errorResponse("No such organization within the key's reach, or no such member in it.", 'Member not found', 'not_found'),
  userNotFound: errorResponse("No such organization within the key's reach, or no user with that email.", 'User not found', 'not_found'),
  alreadyMember: errorResponse(`The user is already a member, or ${CALLER_CHANGED}.`, 'The user is already a member of this organization', 'conflict'),
  lastAllMember: errorResponse(`The change would leave the org without an \`all\` member, or ${CALLER_CHANGED}.`, 'The last member with role "all" can be neither removed nor demoted', 'conflict'),
}
