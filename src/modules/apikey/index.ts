/**
 * The API key endpoints: GET/POST/DELETE `/apikey/` exactly as documented, and GET/PUT
 * `/apikey/:id/`, POST `/apikey/:id/rotate` and GET `/apikey/verify` (SPEC §7).
 */
import { Elysia, t } from 'elysia'
import type { AuthPlugin } from '../../access/auth-plugin'
import type { Core } from '../../core'
import {
  ApiKeyCreate, ApiKeyCreated, ApiKeyCreateQuery, ApiKeyIdParams, ApiKeyList, ApiKeyListQuery, errors,
  ApiKeyOne, ApiKeyUpdate, RotateBody, Rotated, Verified, VerifyQuery,
} from './model'
import { jsonBody } from '../../http/body'
import { AnswerText } from '../../http/json-text'
import { responses, Success } from '../../http/schemas'
import { listApiKeysJson } from './list-text'
import { createApiKey, deleteApiKey, getApiKey, rotateApiKey, updateApiKey } from './service'
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
  return new Elysia({ prefix: '/apikey' })
    .use(auth)
    .get(
      '/',
      ({ principal, query }) => new AnswerText<ApiKeyList>(listApiKeysJson(core, principal, query)),
      {
        access: 'manage-keys',
        query: ApiKeyListQuery,
        response: responses({ 200: ApiKeyList, 400: errors.invalidMode, 401: errors.unauthorized, 403: errors.forbidden, 429: errors.tooMany }),
        detail: {
          tags,
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
        body: ApiKeyCreate,
        // Documents the body as JSON in OpenAPI; the global 64 KiB JSON parser runs first and decides.
        parse: jsonBody(),
        query: ApiKeyCreateQuery,
        // An arrow function: Elysia's source analysis (Sucrose) misreads the minified method form.
        transform: (ctx) => {
          ctx.body = withQueryFields(ctx.request.url, ctx.body) as typeof ctx.body
        },
        response: responses({
          201: ApiKeyCreated,
          400: errors.invalidMode,
          401: errors.unauthorized,
          403: errors.forbidden,
          409: errors.conflict,
          413: errors.tooLarge,
          429: errors.tooMany,
        }),
        detail: {
          tags,
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
      ({ principal, query, request, set }) => {
        refuseRepeatedParameters(request.url)
        verifyAccess(core, principal, query)
        set.headers['x-codepushgo-user-id'] = principal.userId
        set.headers['x-codepushgo-key-id'] = String(principal.keyId)
        set.headers['x-codepushgo-key-mode'] = principal.mode
        return new AnswerText<Verified>(principal.verifiedJson())
      },
      {
        access: 'read',
        query: VerifyQuery,
        response: responses({ 200: Verified, 400: errors.invalidMode, 401: errors.unauthorized, 403: errors.verifyDenied, 429: errors.tooMany }),
        detail: {
          tags,
          summary: 'Verify an API key',
          description:
            'For other services and reverse proxies (nginx `auth_request`, Traefik ForwardAuth): checks the calling key and, ' +
            'with `?mode=&app_id=&org_id=`, whether it may do that mode on that app or org (SPEC §6). 200 with ' +
            '`x-codepushgo-user-id`, `x-codepushgo-key-id` and `x-codepushgo-key-mode` headers; 401 for a missing or bad ' +
            'key; 403 otherwise (never 404, which proxies do not understand). A malformed query (a bad mode, an unknown or ' +
            'repeated parameter) is a configuration mistake: 400. Any valid key may call it. ' +
            'See docs/nginx-auth-request.md.',
        },
      },
    )
    .delete(
      '/:id',
      async ({ principal, actor, params }) => {
        await deleteApiKey(core, principal, actor, parseKeyId(params.id))
        return { success: true as const }
      },
      {
        access: 'revoke-key',
        params: ApiKeyIdParams,
        response: responses({ 200: Success, 400: errors.invalidId, 401: errors.unauthorized, 403: errors.forbidden, 404: errors.notFound, 429: errors.tooMany }),
        detail: {
          tags,
          summary: 'Delete an API key',
          description:
            'Delete an existing API key, revoking it at once. `id` is the numeric id, not the key string. ' +
            'Needs an `all` key, except that any key may delete itself (revocation: its next request is 401). ' +
            'Keys outside the calling key\'s reach answer 404.',
        },
      },
    )
    .get('/:id', ({ principal, params }) => ({ apikey: getApiKey(core, principal, parseKeyId(params.id)) }), {
      access: 'manage-keys',
      params: ApiKeyIdParams,
      response: responses({ 200: ApiKeyOne, 400: errors.invalidId, 401: errors.unauthorized, 403: errors.forbidden, 404: errors.notFound, 429: errors.tooMany }),
      detail: { tags, summary: 'Get an API key', description: 'One key within the calling key\'s reach, masked. Needs an `all` key.' },
    })
    .put(
      '/:id',
      async ({ principal, actor, params, body }) => ({ apikey: await updateApiKey(core, principal, actor, parseKeyId(params.id), body) }),
      {
        access: 'manage-keys',
        parse: jsonBody(),
        params: ApiKeyIdParams,
        body: ApiKeyUpdate,
        response: responses({ 200: ApiKeyOne, 400: errors.invalid, 401: errors.unauthorized, 403: errors.forbidden, 404: errors.notFound, 413: errors.tooLarge, 429: errors.tooMany }),
        detail: {
          tags,
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
        parse: jsonBody(),
        params: ApiKeyIdParams,
        // An object, or no body at all (null from the JSON parser); `[]` or `1` is a 400.
        body: t.Union([RotateBody, t.Null()]),
        response: responses({ 201: Rotated, 400: errors.invalidId, 401: errors.unauthorized, 403: errors.forbidden, 404: errors.notFound, 409: errors.conflict, 413: errors.tooLarge, 429: errors.tooMany }),
        detail: {
          tags,
          summary: 'Rotate an API key',
          description:
            'A new key with the same settings and a new id (`rotated_from` links them); the response carries it whole, ' +
            'once. The old key stops at the earlier of its own expiry and now + `grace_period_seconds` (default 0: now). ' +
            'The new key never outlives the calling key; a calling key whose rate limit is tighter than the key\'s gets 403. Needs an `all` key.',
        },
      },
    )
}
