/** TypeBox schemas of the API key endpoints: validation, types and OpenAPI from one source. */
import { t, type Static } from 'elysia'
import { invalidId, MESSAGES } from '../../errors'
import { documentedAs, named, sendsHeaders } from '../../http/openapi-annotations'
import { CALLER_CHANGED, errorResponse, ModeSchema, nullableTimestamp, pageFields } from '../../http/schemas'
import { MAX_NAME_LENGTH } from '../../validation'

export const MAX_LIMIT_ENTRIES = 100

export const RateLimitSchema = t.Object(
  {
    requests: t.Integer({ minimum: 1, maximum: 1_000_000, examples: [100] }),
    per_seconds: t.Integer({ minimum: 1, maximum: 86_400, examples: [60] }),
  },
  { additionalProperties: false, description: 'At most `requests` requests per `per_seconds` seconds (token bucket); over it, 429.' },
)

const IdList = (what: string) =>
  t.Array(t.String({ minLength: 1, maxLength: 128 }), {
    maxItems: MAX_LIMIT_ENTRIES,
    description: `Limit the key to these ${what} (at most ${MAX_LIMIT_ENTRIES}; duplicates are removed). Empty: not limited.`,
  })

export const ApiKey = named('ApiKey', t.Object(
  {
    id: t.Integer({ description: 'Numeric id, used in /apikey/:id/.', examples: [1] }),
    key: t.String({
      description: 'Masked (`ak_XXXXX...`) everywhere except the response that creates the key, which carries it whole, once.',
      examples: ['ak_7Fq2x...'],
    }),
    mode: ModeSchema,
    name: t.String({ examples: ['CI/CD Read Key'] }),
    user_id: t.String({ examples: ['usr_3k9d0a1b2c3d4e5f'] }),
    created_at: nullableTimestamp('When the key was created.'),
    updated_at: nullableTimestamp('When the key was last changed.'),
    limited_to_apps: t.Array(t.String(), { examples: [['com.demo.app']] }),
    limited_to_orgs: t.Array(t.String(), { examples: [[]] }),
    expires_at: nullableTimestamp('After this instant the key is refused (401 api_key_expired); null: never.'),
    enabled: t.Boolean(),
    last_used_at: nullableTimestamp('Last authenticated use (written in batches, every few seconds); null: never used.'),
    last_used_ip: t.Union([t.String(), t.Null()], { description: 'Client address of the last use.' }),
    rate_limit: t.Union([RateLimitSchema, t.Null()], { description: 'Own rate limit; null: the server default (if any).' }),
    rotated_from: t.Union([t.Integer(), t.Null()], { description: 'The id of the key this one replaced by rotation.' }),
  },
  { description: 'An API key.' },
))
export type ApiKeyView = Static<typeof ApiKey>

const createFields = {
  name: t.String({
    description: `1–${MAX_NAME_LENGTH} characters after trimming, no control characters.`,
    examples: ['Limited Read Key'],
  }),
  mode: ModeSchema,
  limited_to_apps: t.Optional(IdList('app ids')),
  limited_to_orgs: t.Optional(IdList('org ids')),
  expires_at: t.Optional(
    t.Union([t.String(), t.Null()], {
      description: 'Future ISO 8601 instant. Omitted: never expires, or the calling key\'s expiry if it has one.',
    }),
  ),
  rate_limit: t.Optional(t.Union([RateLimitSchema, t.Null()])),
}

export const ApiKeyCreate = t.Object(createFields, {
  additionalProperties: false,
  examples: [{ name: 'Limited Read Key', mode: 'read', limited_to_apps: ['com.demo.app'] }],
})
export type ApiKeyCreateInput = Static<typeof ApiKeyCreate>

export const ApiKeyUpdate = t.Object(
  {
    name: t.Optional(createFields.name),
    mode: t.Optional(ModeSchema),
    limited_to_apps: createFields.limited_to_apps,
    limited_to_orgs: createFields.limited_to_orgs,
    expires_at: t.Optional(t.Union([t.String(), t.Null()], { description: 'Future ISO 8601 instant; null clears it.' })),
    enabled: t.Optional(t.Boolean({ description: 'false: the key is refused (401 api_key_disabled) until enabled again.' })),
    rate_limit: t.Optional(t.Union([RateLimitSchema, t.Null()], { description: 'null: back to the server default.' })),
  },
  { additionalProperties: false, examples: [{ name: 'CI read key', enabled: false }] },
)
export type ApiKeyUpdateInput = Static<typeof ApiKeyUpdate>

export const RotateBody = t.Object(
  {
    grace_period_seconds: t.Optional(
      t.Integer({ minimum: 0, maximum: 604_800, default: 0, description: 'How long the old key keeps working (0–604800 s; default 0: it stops now).' }),
    ),
  },
  { additionalProperties: false, examples: [{ grace_period_seconds: 3600 }] },
)

export const Rotated = t.Object(
  {
    apikey: ApiKey,
    previous: t.Object(
      {
        id: t.Integer({ description: 'The id of the rotated key.', examples: [1] }),
        expires_at: nullableTimestamp('When the rotated key stops working; null: never (it had no expiry and no grace was given).'),
      },
      { description: 'The key that was rotated.' },
    ),
  },
  { description: 'The new key, whole (its `key` is shown this once), and when the old one stops.' },
)
export type Rotated = Static<typeof Rotated>

export const ApiKeyOne = t.Object({ apikey: ApiKey }, { description: 'The key, masked.' })

/** The same fields as query parameters; arrays as repeated or comma-separated values. */
export const ApiKeyCreateQuery = t.Object({
  name: t.Optional(t.String()),
  // Read as any text, so that the body's mode can win over a bad one here.
  mode: t.Optional(documentedAs(t.String(), ModeSchema)),
  limited_to_apps: t.Optional(t.String({ description: 'Comma-separated, or repeat the parameter.' })),
  limited_to_orgs: t.Optional(t.String({ description: 'Comma-separated, or repeat the parameter.' })),
  expires_at: t.Optional(t.String()),
})

export const ApiKeyListQuery = t.Object({
  ...pageFields,
  mode: t.Optional(ModeSchema),
  app_id: t.Optional(t.String({ description: 'Only keys limited to this app.' })),
  org_id: t.Optional(t.String({ description: 'Only keys limited to this org.' })),
})
export type ApiKeyListFilters = Static<typeof ApiKeyListQuery>

export const ApiKeyIdParams = t.Object({
  // Read as text, so that anything but a positive integer is invalid_id, even bad percent-encoding
  // (`/apikey/%ZZ/`, where Elysia has no string); parseKeyId makes it a number.
  id: documentedAs(
    t.String({ error: invalidId }),
    t.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER, description: 'The numeric id of the key (not the key itself).', examples: [1] }),
  ),
})

export const ApiKeyList = t.Object(
  { data: t.Array(ApiKey) },
  {
    description: 'The keys within the calling key\'s reach, newest first, masked.',
    examples: [
      {
        data: [
          {
            id: 1, key: 'ak_123...', mode: 'read', name: 'CI/CD Read Key',
            created_at: '2024-01-01T00:00:00Z', updated_at: '2024-01-01T00:00:00Z', user_id: 'user_123',
            limited_to_apps: [], limited_to_orgs: [], expires_at: null, enabled: true, last_used_at: null, last_used_ip: null, rate_limit: null, rotated_from: null,
          },
          {
            id: 2, key: 'ak_456...', mode: 'upload', name: 'Deploy Bot',
            created_at: '2024-01-02T00:00:00Z', updated_at: '2024-01-02T00:00:00Z', user_id: 'user_123',
            limited_to_apps: ['com.demo.app'], limited_to_orgs: [], expires_at: null, enabled: true, last_used_at: null, last_used_ip: null, rate_limit: null, rotated_from: null,
          },
        ],
      },
    ],
  },
)
export type ApiKeyList = Static<typeof ApiKeyList>

export const ApiKeyCreated = named('ApiKeyCreated', t.Object(
  { apikey: ApiKey },
  {
    description: 'The new key, whole: its `key` is shown this once.',
    examples: [
      {
        apikey: {
          id: 3, key: 'ak_789...', mode: 'read', name: 'Limited Read Key',
          created_at: '2024-02-12T00:00:00Z', updated_at: '2024-02-12T00:00:00Z', user_id: 'user_123',
          limited_to_apps: ['com.demo.app'], limited_to_orgs: [], expires_at: null, enabled: true, last_used_at: null, last_used_ip: null, rate_limit: null, rotated_from: null,
        },
      },
    ],
  },
))


export const errors = {
  invalidMode: errorResponse('Invalid input (here: an unknown mode).', MESSAGES.invalidMode, 'invalid_mode'),
  forbidden: errorResponse('The key is not an `all` key, or asks for more than it has.', MESSAGES.manageKeysDenied, 'insufficient_permissions'),
  notFound: errorResponse('No such key within the caller\'s reach.', MESSAGES.keyNotFound, 'not_found'),
  invalid: errorResponse('Invalid input.', 'expires_at must be a future ISO 8601 date', 'invalid_expires_at'),
  conflict: errorResponse(`The user already has 1000 keys, or ${CALLER_CHANGED}.`, 'Too many API keys: at most 1000 per user', 'conflict'),
  rotateConflict: errorResponse(
    'The key was rotated already (`already_rotated`, naming its successor when the caller may see it), it has expired, the user already has 1000 keys, or the calling key changed while the request waited (`conflict`).',
    'API key was already rotated (successor: 12)',
    'already_rotated',
  ),
  notRevivable: errorResponse(
    'The change would bring back a key that has expired (`conflict`) or move a rotated key\'s expiry past its grace period (`already_rotated`), or the calling key changed while the request waited (`conflict`).',
    'API key was already rotated (successor: 12); its expiry cannot be moved past the end of its grace period',
    'already_rotated',
  ),
  verifyDenied: errorResponse('The key is valid but may not do this (mode, limits, role, or an unknown app or org).', 'The API key does not grant this access', 'insufficient_permissions'),
  invalidId: errorResponse('The id is not a positive integer.', 'API key id must be a positive integer', 'invalid_id'),
  rotateInvalid: errorResponse('The id is not a positive integer, or the body is not `{grace_period_seconds?: 0..604800}`.', 'API key id must be a positive integer', 'invalid_id'),
}

export const VerifyQuery = t.Object({
  mode: t.Optional(ModeSchema),
  app_id: t.Optional(t.String({ description: 'The app the request is about.' })),
  org_id: t.Optional(t.String({ description: 'The org the request is about.' })),
})
export type VerifyQuery = Static<typeof VerifyQuery>

export const Verified = sendsHeaders(t.Object(
  { valid: t.Literal(true), apikey: ApiKey },
  {
    description: 'The key may do what was asked; the x-codepushgo-* headers say who it is.',
    examples: [{ valid: true, apikey: {
      id: 3, key: 'ak_789...', mode: 'read', name: 'Limited Read Key',
      created_at: '2024-02-12T00:00:00Z', updated_at: '2024-02-12T00:00:00Z', user_id: 'user_123',
      limited_to_apps: ['com.demo.app'], limited_to_orgs: [], expires_at: null, enabled: true, last_used_at: null, last_used_ip: null, rate_limit: null, rotated_from: null,
    } }],
  },
), 'x-codepushgo-user-id', 'x-codepushgo-key-id', 'x-codepushgo-key-mode')
export type Verified = Static<typeof Verified>

export const UsageQuery = t.Object({
  from: t.Optional(
    t.String({
      description: 'Start: an ISO 8601 instant with time and zone; the hour it falls in is the first bucket. Default: 7 days before `to`.',
      examples: ['2026-01-01T00:00:00Z'],
    }),
  ),
  to: t.Optional(
    t.String({
      description: 'End, not included: the last bucket is the hour it falls in, or the hour before when it is on the hour. Default: the end of the current hour.',
      examples: ['2026-01-08T00:00:00Z'],
    }),
  ),
})
export type UsageQuery = Static<typeof UsageQuery>

const Count = (what: string) => t.Integer({ minimum: 0, description: what, examples: [0] })

export const UsageBucket = t.Object(
  {
    hour: t.String({ format: 'date-time', description: 'The start of the hour, ISO 8601 UTC.', examples: ['2026-01-01T00:00:00.000Z'] }),
    allowed: Count('Requests the key got in with and was not refused a permission (any answer but 403).'),
    forbidden: Count('Requests the key got in with and was refused (403).'),
    rate_limited: Count("Requests over the key's rate limit (429)."),
    rejected: Count('Requests refused because the key was disabled or expired (401).'),
  },
  { description: 'Authentications with a key (or keys) in one hour, by outcome.' },
)

export const UsageList = t.Object(
  { data: t.Array(UsageBucket, { description: 'One bucket per hour of the range, oldest first; hours without requests are zeros.' }) },
  {
    description: 'Authentications per hour of the range, by outcome.',
    examples: [
      {
        data: [
          { hour: '2026-01-01T00:00:00.000Z', allowed: 120, forbidden: 2, rate_limited: 0, rejected: 0 },
          { hour: '2026-01-01T01:00:00.000Z', allowed: 0, forbidden: 0, rate_limited: 0, rejected: 0 },
        ],
      },
    ],
  },
)

export const usageErrors = {
  badRange: errorResponse(
    'A bad date, `from` after `to`, or more than 90 days of buckets at once (a key id that is not a positive integer: `invalid_id`).',
    'The range holds more than 90 days of hourly buckets; ask for 90 days at a time',
    'validation_error',
  ),
}
