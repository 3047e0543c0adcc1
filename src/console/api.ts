/**
 * The public API, called with the pasted key: the console can do exactly what the key may.
 * URLs are relative to the directory the console is served from, so it works behind a
 * reverse proxy that mounts the server under a sub-path.
 */
import { currentKey } from './session'

export type Mode = 'read' | 'upload' | 'write' | 'all'
export const MODES: readonly Mode[] = ['read', 'upload', 'write', 'all']

/** Whether a mode (or role) held reaches the one needed: the modes are stepped. */
export const atLeast = (held: Mode, needed: Mode) => MODES.indexOf(held) >= MODES.indexOf(needed)

/** The lower of two modes: what a key may do in an org is the lower of its mode and its user's role there. */
export const lower = (a: Mode, b: Mode): Mode => (atLeast(a, b) ? b : a)

export interface RateLimit {
  requests: number
  per_seconds: number
}

export interface ApiKey {
  id: number
  key: string
  mode: Mode
  name: string
  user_id: string
  created_at: string | null
  updated_at: string | null
  limited_to_apps: string[]
  limited_to_orgs: string[]
  expires_at: string | null
  enabled: boolean
  last_used_at: string | null
  last_used_ip: string | null
  rate_limit: RateLimit | null
  rotated_from: number | null
}

/** An org's key policy (SPEC §6a): it bounds every key limited to the org or to its apps. */
export interface KeyPolicy {
  max_key_lifetime_days: number | null
  require_expiry: boolean
}

export interface Organization {
  id: string
  name: string
  created_by: string
  created_at: string
  updated_at: string
  role: Mode
  key_policy: KeyPolicy | null
}

export interface Member {
  user_id: string
  email: string
  name: string
  role: Mode
  created_at: string
}

export interface App {
  app_id: string
  org_id: string
  name: string
  created_at: string
  updated_at: string
}

/** The API's own types, as it answers them (type-only: nothing of the server is bundled). */
export type { AuditEventView as AuditEvent } from '../modules/audit/model'
export type { UsageBucket } from '../usage/counts'

/** An error answer of the API, in words: its message, status and code. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message)
    this.name = 'ApiError'
  }
}

/** The server's root: the console lives at `<root>console/` (or `<root>console`). */
export function apiRoot(): URL {
  return new URL(location.pathname.endsWith('/') ? '../' : './', location.href)
}

/** Calls the API with `key` (by default the signed-in one); resolves to the JSON answer or throws an ApiError. */
export async function api<T>(method: string, path: string, body?: unknown, key: string | null = currentKey()): Promise<T> {
  const headers: Record<string, string> = {}
  if (key !== null) headers.authorization = key
  if (body !== undefined) headers['content-type'] = 'application/json'
  let response: Response
  try {
    response = await fetch(new URL(path, apiRoot()), {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: 'omit',
      cache: 'no-store',
    })
  } catch {
    throw new ApiError(0, 'network_error', 'The server could not be reached. Check that it is running, then try again.')
  }
  const text = await response.text()
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch {
    throw new ApiError(response.status, 'bad_answer', `The server answered ${response.status} without JSON.`)
  }
  if (!response.ok) {
    const error = json as { error?: string; code?: string }
    let message = error.error ?? `Request failed (${response.status})`
    const retry = response.headers.get('retry-after')
    if (response.status === 429 && retry !== null) message += ` (retry in ${retry} s)`
    throw new ApiError(response.status, error.code ?? 'error', message)
  }
  return json as T
}

/** A query string from the defined values. */
export function query(params: Record<string, string | number | undefined>): string {
  const search = new URLSearchParams()
  for (const [name, value] of Object.entries(params)) if (value !== undefined && value !== '') search.set(name, String(value))
  const text = search.toString()
  return text === '' ? '' : `?${text}`
}

/** The orgs the signed-in key sees, each with its user's role and key policy (none for a key limited to apps). */
export async function orgsInReach(): Promise<Organization[]> {
  return (await api<{ data: Organization[] }>('GET', 'organization/')).data
}
