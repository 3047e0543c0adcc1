/**
 * The API key endpoints: GET/POST/DELETE `/apikey/` exactly as documented, and GET/PUT
 * `/apikey/:id/`, POST `/apikey/:id/rotate`, GET `/apikey/verify` and the hourly usage of
 * GET `/apikey/usage` and `/apikey/:id/usage` (SPEC §7).
 */
import { Elysia, t, type Context } from 'elysia'
import type { AuthPlugin } from '../../access/auth-plugin'
import type { Core } from '../../core'
import {
  ApiKeyCreate, ApiKeyCreated, ApiKeyCreateQuery, ApiKeyIdParams, ApiKeyList, ApiKeyListQuery, errors,
  ApiKeyOne, ApiKeyUpdate, type ApiKeyListFilters, RotateBody, Rotated, UsageList, UsageQuery, usageErrors, Verified, VerifyQuery,
} from './model'
import { hotHandler, Then } from '../../http/hot-route'
import { AnswerText } from '../../http/json-text'
import type { CachedKey } from '../../read-model/cached-key'
import { optionalBody } from '../../http/openapi-annotations'
import { CallerChanged, keyedResponses, Success } from '../../http/schemas'
import { listApiKeysJson } from './list-text'
import { createApiKey, deleteApiKey, getApiKey, rotateApiKey, updateApiKey } from './service'
import { keyUsage, totalUsage } from './usage-service'
import { parseKeyId } from './validate'
import { refuseRepeatedParameters, verifyAccess } from './verify'

/**
 * POST accepts its fields as query parameters too (the documentation calls them so). Arrays
 * come repeated or comma-separated. Fields in the JSON body win over the query.
 */
function createInputFromQuery(url: string): Record<string, unknown> {
  const params = new URL(url).searchParams
  const input: Record<string, unknown> = {}
  for (const field of ['name', 'mode', 'expires_at'] as const) {
    const value = params.get(field)
    if (value !== null) input[field] = value
  }
  for (const field of ['limited_to_apps', 'limited_to_orgs'] as const) {
    if (!params.has(field)) continue
    input[field] = params.getAll(field).flatMap((value) => value.split(',')).map((id) => id.trim()).filter(Boolean)
  }
  return input
}

/** The body with the query's fields under it (body wins); a non-object body is left to validation. */
function withQueryFields(url: string, body: unknown): unknown {
  if (body === null || body === undefined) return createInputFromQuery(url)
  if (typeof body === 'object' && !Array.isArray(body)) return { ...createInputFromQuery(url), ...body }
  return body
}

const tags = ['API keys']

export function apikeyModule(core: Core, auth: AuthPlugin) {
  const waits = core.store.backend !== 'sqlite'
  return new Elysia({ prefix: '/apikey' })
    .use(auth)
    .get(
      '/',
      hotHandler(
        waits,
        ({ principal, query }: { principal: CachedKey; query: ApiKeyListFilters }) =>
          new Then(listApiKeysJson(core, principal, query), (json) => new AnswerText<ApiKeyList>(json)).answer,
      ),
      {
        access: 'manage-keys',
        query: ApiKeyListQuery,
        response: keyedResponses({ 200: ApiKeyList, 400: errors.invalidMode, 403: errors.forbidden }),
        detail: {
          tags,
          operationId: 'listApiKeys',
          summary: 'List API keys',
          description:
            'Retrieve all API keys associated with your account that the calling key can reach, newest first. ' +
            'Keys are masked (`ak_XXXXX...`). Page with `?limit=` and either `?page=` or `?after=<the last id of the ' +
            'previous page>` (keyset paging, the same cost at any depth); both at once is a 400. Needs an `all` key.',
        },
      },
    )
    .post(
      '/',
      async ({ principal, actor, body, status }) => status(201, { apikey: await createApiKey(core, principal, actor, body) }),
      {
        access: 'manage-keys',
        // Optional: the fields may come as query parameters alone.
        body: optionalBody(ApiKeyCreate),
        jsonBody: true,
        query: ApiKeyCreateQuery,
        // An arrow function: Elysia's source analysis (Sucrose) misreads the minified method form.
        transform: (ctx) => {
          ctx.body = withQueryFields(ctx.request.url, ctx.body) as typeof ctx.body
        },
        response: keyedResponses({
          201: ApiKeyCreated,
          400: errors.invalidMode,
          403: errors.forbidden,
          409: errors.conflict,
        }, { body: true }),
        detail: {
          tags,
          operationId: 'createApiKey',
          summary: 'Create an API key',
          description:
            'Create a new API key. The response carries the full key, once: store it now, it is never shown again. ' +
            'The fields may also be sent as query parameters (body wins). A limited calling key can only create keys ' +
            'within its own limits; omitted limits inherit the caller\'s. Needs an `all` key.',
        },
      },
    )
    .get(
      '/verify',
      hotHandler(waits, ({ principal, query, request, set }: { principal: CachedKey; query: VerifyQuery; request: Request; set: Context['set'] }) => {
        refuseRepeatedParameters(request.url)
        return new Then(verifyAccess(core, principal, query), (mode) => {
          set.headers['x-codepushgo-user-id'] = principal.userId
          set.headers['x-codepushgo-key-id'] = String(principal.keyId)
          set.headers['x-codepushgo-key-mode'] = mode
          return new AnswerText<Verified>(principal.verifiedJson(mode))
        }).answer
      }),
      {
        access: 'read',
        query: VerifyQuery,
        response: keyedResponses({ 200: Verified, 400: errors.invalidMode, 403: errors.verifyDenied }),
        detail: {
          tags,
          operationId: 'verifyApiKey',
          summary: 'Verify an API key',
          description:
            'For other services and reverse proxies (nginx `auth_request`, Traefik ForwardAuth): checks the calling key and, ' +
            'with `?mode=&app_id=&org_id=`, whether it may do that mode on that app or org (SPEC §6). 200 with ' +
            '`x-codepushgo-user-id`, `x-codepushgo-key-id` and `x-codepushgo-key-mode` headers; asked about an app or org, the ' +
            'mode (header and `apikey.mode`) is the effective one there: the lower of the key\'s mode and its user\'s role. 401 for a missing or bad ' +
            'key; 403 otherwise (never 404, which proxies do not understand). A malformed query (a bad mode, an unknown or ' +
            'repeated parameter) is a configuration mistake: 400. Any valid key may call it. ' +
            'See docs/nginx-auth-request.md.',
        },
      },
    )
    // A static segment: the router prefers it to `/:id` whatever the order.
    .get('/usage', async ({ principal, query }) => ({ data: await totalUsage(core, principal, query) }), {
      access: 'manage-keys',
      query: UsageQuery,
      response: keyedResponses({ 200: UsageList, 400: usageErrors.badRange, 403: errors.forbidden }),
      detail: {
        tags,
        operationId: 'getTotalUsage',
        summary: 'Usage of all keys',
        description:
          'Authentications per hour by outcome, summed over the calling user\'s keys within the calling key\'s reach. ' +
          '`?from=&to=` (ISO 8601; default: the last 7 days up to the end of the current hour) select the hours, at most ' +
          '90 days of them; every hour of the range has a bucket, zeros included. Requests of the last few seconds are ' +
          'included. A deleted key\'s usage is deleted with it. Needs an `all` key.',
      },
    })
    .get('/:id/usage', async ({ principal, params, query }) => ({ data: await keyUsage(core, principal, parseKeyId(params.id), query) }), {
      access: 'manage-keys',
      params: ApiKeyIdParams,
      query: UsageQuery,
      response: keyedResponses({ 200: UsageList, 400: usageErrors.badRange, 403: errors.forbidden, 404: errors.notFound }),
      detail: {
        tags,
        operationId: 'getApiKeyUsage',
        summary: 'Usage of an API key',
        description:
          'Authentications with one key per hour, by outcome: `allowed` (got in), `forbidden` (403), `rate_limited` ' +
          '(429, over its rate limit) and `rejected` (401, disabled or expired). Kept for `--usage-retention-days` ' +
          '(default 90). `?from=&to=` as for GET /apikey/usage. Keys outside the calling key\'s reach answer 404. ' +
          'Needs an `all` key.',
      },
    })
    .delete(
      '/:id',
      async ({ principal, actor, params }) => {
        await deleteApiKey(core, principal, actor, parseKeyId(params.id))
        return { success: true as const }
      },
      {
        access: 'revoke-key',
        params: ApiKeyIdParams,
        response: keyedResponses({ 200: Success, 400: errors.invalidId, 403: errors.forbidden, 404: errors.notFound, 409: CallerChanged }),
        detail: {
          tags,
          operationId: 'deleteApiKey',
          summary: 'Delete an API key',
          description:
            'Delete an existing API key, revoking it at once. `id` is the numeric id, not the key string. ' +
            'Needs an `all` key, except that any key may delete itself (revocation: its next request is 401). ' +
            'Keys outside the calling key\'s reach answer 404.',
        },
      },
    )
    .get('/:id', async ({ principal, params }) => ({ apikey: await getApiKey(core, principal, parseKeyId(params.id)) }), {
      access: 'manage-keys',
      params: ApiKeyIdParams,
      response: keyedResponses({ 200: ApiKeyOne, 400: errors.invalidId, 403: errors.forbidden, 404: errors.notFound }),
      detail: { tags, operationId: 'getApiKey', summary: 'Get an API key', description: 'One key within the calling key\'s reach, masked. Needs an `all` key.' },
    })
    .put(
      '/:id',
      async ({ principal, actor, params, body }) => ({ apikey: await updateApiKey(core, principal, actor, parseKeyId(params.id), body) }),
      {
        access: 'manage-keys',
        jsonBody: true,
        params: ApiKeyIdParams,
        body: ApiKeyUpdate,
        response: keyedResponses({ 200: ApiKeyOne, 400: errors.invalid, 403: errors.forbidden, 404: errors.notFound, 409: errors.notRevivable }, { body: true }),
        detail: {
          tags,
          operationId: 'updateApiKey',
          summary: 'Update an API key',
          description:
            'Change `name`, `mode`, `limited_to_apps`, `limited_to_orgs`, `expires_at` (null clears it), `enabled` or ' +
            '`rate_limit`. The key must stay within the calling key\'s reach and may not outlive it. `{}` is a 400.',
        },
      },
    )
    .post(
      '/:id/rotate',
      async ({ principal, actor, params, body, status }) =>
        status(201, await rotateApiKey(core, principal, actor, parseKeyId(params.id), body?.grace_period_seconds ?? 0)),
      {
        access: 'manage-keys',
        jsonBody: true,
        params: ApiKeyIdParams,
        // An object, or no body at all (null from the JSON parser); `[]` or `1` is a 400.
        body: optionalBody(t.Union([RotateBody, t.Null()]), RotateBody),
        response: keyedResponses({ 201: Rotated, 400: errors.rotateInvalid, 403: errors.forbidden, 404: errors.notFound, 409: errors.rotateConflict }, { body: true }),
        detail: {
          tags,
          operationId: 'rotateApiKey',
          summary: 'Rotate an API key',
          description:
            'A new key with the same settings and a new id (`rotated_from` links them); the response carries it whole, ' +
            'once. The old key stops at the earlier of its own expiry and now + `grace_period_seconds` (default 0: now). ' +
            'The new key never outlives the calling key; a calling key whose rate limit is tighter than the key\'s gets 403. Needs an `all` key.',
        },
      },
    )
}
