/** `/app/` (SPEC §7). */
import { Elysia, type Static } from 'elysia'
import type { AuthPlugin } from '../../access/auth-plugin'
import type { Core } from '../../core'
import { AppCreateBody, AppIdParams, AppList, AppListQuery, AppNameBody, AppOne, appErrors as e } from './model'
import { createAppFor, deleteApp, getApp, listApps, renameApp } from './service'
import { hotHandler, Then } from '../../http/hot-route'
import { AnswerText, jsonArray } from '../../http/json-text'
import type { CachedKey } from '../../read-model/cached-key'
import { CallerChanged, keyedResponses, Success } from '../../http/schemas'

const tags = ['Apps']
const read = { 403: e.forbidden, 404: e.notFound }
/** The answers of every route about one app: its id may be too long (400), or out of reach (404). */
const one = { 400: e.invalidId, ...read }

export function appModule(core: Core, auth: AuthPlugin) {
  const waits = core.store.backend !== 'sqlite'
  return new Elysia({ prefix: '/app' })
    .use(auth)
    .get(
      '/',
      hotHandler(
        waits,
        ({ principal, query }: { principal: CachedKey; query: Static<typeof AppListQuery> }) =>
          new Then(listApps(core, principal, query), (apps) => new AnswerText<AppList>(`{"data":${jsonArray(apps, (app) => app.json)}}`)).answer,
      ),
      {
        access: 'read',
        query: AppListQuery,
        response: keyedResponses({ 200: AppList, 400: e.invalid, 403: e.forbidden }),
        detail: { tags, operationId: 'listApps', summary: 'List apps', description: "Apps within the key's reach; `?org_id=` for one org." },
      },
    )
    .post('/', async ({ principal, actor, body, status }) => status(201, { app: await createAppFor(core, principal, actor, body) }), {
      access: 'write',
      jsonBody: true,
      body: AppCreateBody,
      response: keyedResponses({ 201: AppOne, 400: e.invalid, ...read, 409: e.conflict }, { body: true }),
      detail: { tags, operationId: 'createApp', summary: 'Create an app', description: 'Needs `write` on the org (key mode and role); not for app-limited keys.' },
    })
    .get('/:app_id', async ({ principal, params }) => ({ app: await getApp(core, principal, params.app_id) }), {
      access: 'read',
      params: AppIdParams,
      response: keyedResponses({ 200: AppOne, ...one }),
      detail: { tags, operationId: 'getApp', summary: 'Get an app', description: "One app within the key's reach." },
    })
    .put('/:app_id', async ({ principal, actor, params, body }) => ({ app: await renameApp(core, principal, actor, params.app_id, body) }), {
      access: 'write',
      jsonBody: true,
      params: AppIdParams,
      body: AppNameBody,
      response: keyedResponses({ 200: AppOne, ...one, 400: e.invalid, 409: CallerChanged }, { body: true }),
      detail: { tags, operationId: 'updateApp', summary: 'Rename an app', description: 'Needs `write` on its org (key mode and role).' },
    })
    .delete(
      '/:app_id',
      async ({ principal, actor, params }) => {
        await deleteApp(core, principal, actor, params.app_id)
        return { success: true as const }
      },
      {
        access: 'all',
        params: AppIdParams,
        response: keyedResponses({ 200: Success, ...one, 409: CallerChanged }),
        detail: { tags, operationId: 'deleteApp', summary: 'Delete an app', description: 'Needs `all`. Its id is retired for good: no new app can take it.' },
      },
    )
}
