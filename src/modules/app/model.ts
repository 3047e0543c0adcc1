/** TypeBox schemas of the app endpoints. */
import { t, type Static } from 'elysia'
import { named } from '../../http/openapi-annotations'
import { CALLER_CHANGED, errorResponse, Forbidden, Timestamp } from '../../http/schemas'

export const App = named('App', t.Object(
  {
    app_id: t.String({ description: 'Reverse-domain identifier, unique on the server.', examples: ['com.demo.app'] }),
    org_id: t.String({ examples: ['org_4f8k2m9q1w3e5r7t'] }),
    name: t.String({ examples: ['Demo app'] }),
    created_at: Timestamp,
    updated_at: Timestamp,
  },
  { description: 'An app, in one organization.' },
))

export const AppIdParams = t.Object({ app_id: t.String({ maxLength: 200, description: 'The app id, e.g. `com.demo.app`.' }) })
export const AppListQuery = t.Object({ org_id: t.Optional(t.String({ description: 'Only apps of this org.' })) })
export const AppCreateBody = t.Object(
  {
    app_id: t.String({ description: 'Letters, digits, `.`, `_`, `-`; 3–128 characters; at least one dot.', examples: ['com.demo.app'] }),
    name: t.String({ description: '1–100 characters after trimming.', examples: ['Demo app'] }),
    org_id: t.String({ examples: ['org_4f8k2m9q1w3e5r7t'] }),
  },
  { additionalProperties: false, examples: [{ app_id: 'com.demo.app', name: 'Demo app', org_id: 'org_4f8k2m9q1w3e5r7t' }] },
)
export const AppNameBody = t.Object({ name: t.String({ examples: ['Demo app'] }) }, { additionalProperties: false, examples: [{ name: 'Demo app' }] })

export const AppList = t.Object({ data: t.Array(App) }, { description: "The apps within the key's reach." })
export type AppList = Static<typeof AppList>
export const AppOne = t.Object({ app: App }, { description: 'The app.' })

export const appErrors = {
  invalid: errorResponse('Invalid input.', 'app_id must be a reverse-domain identifier: 3-128 letters, digits, ".", "_" or "-", with at least one dot', 'validation_error'),
  invalidId: errorResponse('A path id longer than 200 characters.', "Invalid params field 'app_id': Expected string length less or equal to 200", 'validation_error'),
  forbidden: Forbidden,
  notFound: errorResponse("No such app (or org) within the key's reach.", 'App not found', 'not_found'),
  conflict: errorResponse(`The app id is taken, or ${CALLER_CHANGED}.`, 'App id com.demo.app is already taken', 'conflict'),
}
