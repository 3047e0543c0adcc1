/** How a key is shown wherever it appears: its state, its limits, its usage row cell. */
import type { ApiKey } from './api'
import { h } from './dom'

/** Whether the key's (effective) expiry has passed. */
export const expired = (key: Pick<ApiKey, 'expires_at'>, now = Date.now()) => key.expires_at !== null && Date.parse(key.expires_at) <= now

/** Enabled, disabled or expired, in words. */
export function keyState(key: ApiKey): { text: string; css: string } {
  if (!key.enabled) return { text: 'Disabled', css: 'state off' }
  if (expired(key)) return { text: 'Expired', css: 'state off' }
  return { text: 'Enabled', css: 'state on' }
}

export function stateBadge(key: ApiKey): HTMLElement {
  const { text, css } = keyState(key)
  return h('span', { class: css }, text)
}

/** Its limits in words: "orgs: Acme; apps: a, b", or "none"; orgs by name where `orgNames` knows them. */
export function limitsText(key: Pick<ApiKey, 'limited_to_apps' | 'limited_to_orgs'>, orgNames: ReadonlyMap<string, string> = new Map()): string {
  const parts: string[] = []
  if (key.limited_to_orgs.length > 0) parts.push(`orgs: ${key.limited_to_orgs.map((id) => orgNames.get(id) ?? id).join(', ')}`)
  if (key.limited_to_apps.length > 0) parts.push(`apps: ${key.limited_to_apps.join(', ')}`)
  return parts.length === 0 ? 'none (all it can reach)' : parts.join('; ')
}
