/**
 * A client as a user would write one: openapi-fetch, typed by what openapi-typescript generated
 * from the served document (generated/openapi.d.ts, written by test/generated-client.test.ts).
 * It calls every operation, and compiles without a single cast: the generated types are the
 * ones the API really takes and answers.
 */
import createClient from 'openapi-fetch'
import type { components, paths } from './generated/openapi'

type ApiKey = components['schemas']['ApiKey']
type ErrorCode = components['schemas']['Error']['code']

/** What `callEveryOperation` needs: a server, an `all` key of one user, and another user's email. */
export interface Setup {
  baseUrl: string
  key: string
  otherUserEmail: string
}

/** Calls every operation once or more; returns the operation ids it called, in order. */
export async function callEveryOperation({ baseUrl, key, otherUserEmail }: Setup): Promise<string[]> {
  const client = createClient<paths>({ baseUrl, headers: { authorization: key } })
  const called: string[] = []

  /** The data of a success, or an error that says which call failed and how. */
  function ok<T>(operationId: string, result: { data?: T; error?: unknown; response: Response }): T {
    if (result.data === undefined) throw new Error(`${operationId}: ${result.response.status} ${JSON.stringify(result.error)}`)
    called.push(operationId)
    return result.data
  }

  /** The code of an expected error. */
  function failed(operationId: string, result: { error?: { code: ErrorCode }; response: Response }): ErrorCode {
    if (result.error === undefined) throw new Error(`${operationId}: ${result.response.status}, where an error was expected`)
    called.push(operationId)
    return result.error.code
  }

  const health = ok('getHealth', await client.GET('/health'))
  if (health.status !== 'ok') throw new Error(`health: ${health.status}`)

  // Create from query parameters alone (no body), and from a body.
  const fromQuery = ok('createApiKey', await client.POST('/apikey/', { params: { query: { name: 'from the query', mode: 'read' } } }))
  const created = ok('createApiKey', await client.POST('/apikey/', { body: { name: 'generated client', mode: 'upload', rate_limit: { requests: 100, per_seconds: 60 } } }))
  const id: number = created.apikey.id
  const listed = ok('listApiKeys', await client.GET('/apikey/', { params: { query: { limit: 10, page: 0, mode: 'upload' } } }))
  if (!listed.data.some((apikey: ApiKey) => apikey.id === id)) throw new Error('listApiKeys: the new key is not listed')
  ok('getApiKey', await client.GET('/apikey/{id}', { params: { path: { id } } }))
  const hours = ok('getApiKeyUsage', await client.GET('/apikey/{id}/usage', { params: { path: { id }, query: { from: '2026-01-01T00:00:00Z', to: '2026-01-01T03:00:00Z' } } }))
  if (hours.data.length !== 3) throw new Error(`getApiKeyUsage: ${hours.data.length} buckets`)
  ok('getTotalUsage', await client.GET('/apikey/usage', {}))
  const updated = ok('updateApiKey', await client.PUT('/apikey/{id}', { params: { path: { id } }, body: { name: 'renamed', enabled: true, expires_at: null } }))
  if (updated.apikey.name !== 'renamed') throw new Error('updateApiKey: not renamed')

  // Rotate without a body (the old key stops now), and with one.
  const rotated = ok('rotateApiKey', await client.POST('/apikey/{id}/rotate', { params: { path: { id } } }))
  const again = ok('rotateApiKey', await client.POST('/apikey/{id}/rotate', { params: { path: { id: rotated.apikey.id } }, body: { grace_period_seconds: 60 } }))
  if (again.previous.id !== rotated.apikey.id || again.apikey.rotated_from !== rotated.apikey.id) throw new Error('rotateApiKey: not linked')

  // The new key verifies itself; its identity headers are declared.
  const asNewKey = createClient<paths>({ baseUrl, headers: { authorization: again.apikey.key } })
  const verified = await asNewKey.GET('/apikey/verify', { params: { query: { mode: 'read' } } })
  ok('verifyApiKey', verified)
  if (verified.response.headers.get('x-codepushgo-key-id') !== String(again.apikey.id)) throw new Error('verifyApiKey: wrong key id header')

  ok('deleteApiKey', await client.DELETE('/apikey/{id}', { params: { path: { id: fromQuery.apikey.id } } }))
  const gone = failed('getApiKey', await client.GET('/apikey/{id}', { params: { path: { id: fromQuery.apikey.id } } }))
  if (gone !== 'not_found') throw new Error(`getApiKey of a deleted key: ${gone}`)

  // Organizations and their members.
  ok('listOrganizations', await client.GET('/organization/'))
  const { organization } = ok('createOrganization', await client.POST('/organization/', { body: { name: 'Generated team' } }))
  const org = { id: organization.id }
  ok('getOrganization', await client.GET('/organization/{id}', { params: { path: org } }))
  ok('updateOrganization', await client.PUT('/organization/{id}', { params: { path: org }, body: { name: 'Generated team 2' } }))
  const { member } = ok('addMember', await client.POST('/organization/{id}/members', { params: { path: org }, body: { email: otherUserEmail, role: 'read' } }))
  ok('listMembers', await client.GET('/organization/{id}/members', { params: { path: org } }))
  const memberPath = { id: organization.id, user_id: member.user_id }
  ok('updateMember', await client.PUT('/organization/{id}/members/{user_id}', { params: { path: memberPath }, body: { role: 'write' } }))
  ok('removeMember', await client.DELETE('/organization/{id}/members/{user_id}', { params: { path: memberPath } }))

  // Apps.
  const { app } = ok('createApp', await client.POST('/app/', { body: { app_id: 'com.generated.client', name: 'Generated', org_id: organization.id } }))
  ok('listApps', await client.GET('/app/', { params: { query: { org_id: organization.id } } }))
  ok('getApp', await client.GET('/app/{app_id}', { params: { path: { app_id: app.app_id } } }))
  ok('updateApp', await client.PUT('/app/{app_id}', { params: { path: { app_id: app.app_id } }, body: { name: 'Generated 2' } }))
  ok('deleteApp', await client.DELETE('/app/{app_id}', { params: { path: { app_id: app.app_id } } }))
  ok('deleteOrganization', await client.DELETE('/organization/{id}', { params: { path: org } }))

  const audit = ok('listAuditEvents', await client.GET('/audit/', { params: { query: { limit: 50 } } }))
  if (!audit.data.some((event) => event.action === 'apikey.rotate')) throw new Error('listAuditEvents: no rotation recorded')
  return called
}
