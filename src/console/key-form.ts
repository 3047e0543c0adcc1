/**
 * The fields of a key, for creating and editing one: name, mode, organizations and apps to
 * limit it to (pickers filled from the API, so they offer only what the signed-in key
 * reaches), expiry and rate limit.
 */
import { api, MODES, type ApiKey, type App, type Mode, type Organization, type RateLimit } from './api'
import { day, h, uid } from './dom'
import { field } from './screen'

export interface KeyFields {
  name: string
  mode: Mode
  limited_to_orgs: string[]
  limited_to_apps: string[]
  /** undefined: the form leaves it to the server (create: the caller's expiry; edit: unchanged). */
  expires_at: string | null | undefined
  rate_limit: RateLimit | null | undefined
  enabled: boolean
}

export interface KeyForm {
  elements: HTMLElement[]
  read(): KeyFields
}

/** What the orgs and apps pickers offer: what the signed-in key reaches. */
export async function reachable(): Promise<{ orgs: Organization[]; apps: App[] }> {
  const [orgs, apps] = await Promise.all([
    api<{ data: Organization[] }>('GET', 'organization/').then((r) => r.data).catch(() => []),
    api<{ data: App[] }>('GET', 'app/').then((r) => r.data),
  ])
  return { orgs, apps }
}

const DAY = 24 * 60 * 60 * 1000
const PRESETS = [7, 30, 90, 365]

function checkboxes(legend: string, hint: string, name: string, items: { value: string; label: string }[], checked: readonly string[]): HTMLElement {
  const hintId = uid('hint')
  return h('fieldset', { class: 'picks', 'aria-describedby': hintId },
    h('legend', null, legend),
    h('p', { class: 'hint', id: hintId }, hint),
    items.length === 0 ? h('p', { class: 'muted' }, 'None within reach.') : null,
    items.map(({ value, label }) => {
      const id = uid(name)
      return h('div', { class: 'check' }, h('input', { type: 'checkbox', id, name, value, checked: checked.includes(value) }), h('label', { for: id }, label))
    }),
  )
}

/** The form's fields; `key` fills them for an edit. `me` (the signed-in key) caps the expiry. */
export function keyForm(me: ApiKey, reach: { orgs: Organization[]; apps: App[] }, key?: ApiKey): KeyForm {
  const name = h('input', { name: 'name', required: true, maxlength: '100', autocomplete: 'off', value: key?.name ?? '' })
  const mode = h('select', { name: 'mode' }, MODES.map((m) => h('option', { value: m, selected: m === (key?.mode ?? 'read') }, m)))
  const orgName = new Map(reach.orgs.map((o) => [o.id, o.name]))
  const orgs = checkboxes('Limit to organizations', 'None checked: not limited by organization (a limited signed-in key passes its own limits on).', 'org',
    reach.orgs.map((o) => ({ value: o.id, label: `${o.name} (${o.id})` })), key?.limited_to_orgs ?? [])
  const apps = checkboxes('Limit to apps', 'None checked: not limited to apps.', 'app',
    reach.apps.map((a) => ({ value: a.app_id, label: `${a.name} (${a.app_id}${orgName.has(a.org_id) ? `, ${orgName.get(a.org_id)}` : ''})` })), key?.limited_to_apps ?? [])

  // Expiry: never (or, for a signed-in key that expires, its own expiry), a preset, or a day.
  const cap = me.expires_at === null ? Number.POSITIVE_INFINITY : Date.parse(me.expires_at)
  const keep = key ? 'keep' : 'default'
  const expiry = h('select', { name: 'expiry' },
    key ? h('option', { value: 'keep' }, key.expires_at ? `Keep: ${day(new Date(key.expires_at))}` : 'Keep: never') : null,
    h('option', { value: 'default', disabled: key !== undefined && cap !== Number.POSITIVE_INFINITY }, cap === Number.POSITIVE_INFINITY ? 'Never' : `When this signed-in key expires (${day(new Date(cap))})`),
    PRESETS.map((days) => h('option', { value: String(days), disabled: Date.now() + days * DAY > cap }, `In ${days} days`)),
    h('option', { value: 'date' }, 'On a day…'),
  )
  expiry.value = keep
  const date = h('input', { name: 'expires_on', type: 'date', min: new Date(Date.now() + DAY).toISOString().slice(0, 10), max: cap === Number.POSITIVE_INFINITY ? null : new Date(cap).toISOString().slice(0, 10) })
  const dateField = field('Expires at the end of', date)
  dateField.hidden = true
  expiry.addEventListener('change', () => {
    dateField.hidden = expiry.value !== 'date'
    date.required = expiry.value === 'date'
  })

  const own = key?.rate_limit ?? null
  const limited = h('input', { type: 'checkbox', id: uid('rate'), name: 'limited', checked: own !== null })
  const requests = h('input', { name: 'requests', type: 'number', min: '1', max: '1000000', value: own?.requests ?? 100, inputmode: 'numeric' })
  const seconds = h('input', { name: 'per_seconds', type: 'number', min: '1', max: '86400', value: own?.per_seconds ?? 60, inputmode: 'numeric' })
  const rateFields = h('div', { class: 'inline' }, field('Requests', requests), field('per seconds', seconds))
  rateFields.hidden = own === null
  limited.addEventListener('change', () => {
    rateFields.hidden = !limited.checked
  })
  const enabled = h('input', { type: 'checkbox', id: uid('enabled'), name: 'enabled', checked: key?.enabled ?? true })

  const elements = [
    field('Name', name),
    field('Mode', mode, 'read < upload < write < all: each mode can do everything the ones before it can. Managing keys needs all.'),
    orgs,
    apps,
    field('Expires', expiry, me.expires_at ? 'A key cannot outlive the signed-in key. The server may cap it further by policy.' : 'The server may require an expiry by policy.'),
    dateField,
    h('fieldset', { class: 'picks' },
      h('legend', null, 'Rate limit'),
      h('div', { class: 'check' }, limited, h('label', { for: limited.id }, 'Its own rate limit')),
      h('p', { class: 'hint' }, key ? 'Unchecked: the server default, if any.' : 'Unchecked: the signed-in key’s own limit, if it has one, else the server default.'),
      rateFields,
    ),
    key ? h('div', { class: 'check' }, enabled, h('label', { for: enabled.id }, 'Enabled (a disabled key gets 401 until enabled again)')) : null,
  ].filter((element): element is HTMLElement => element !== null)

  const picked = (fieldset: HTMLElement) => [...fieldset.querySelectorAll<HTMLInputElement>('input:checked')].map((input) => input.value)

  function expiresAt(): string | null | undefined {
    const choice = expiry.value
    if (choice === 'keep') return undefined
    if (choice === 'default') return key ? null : undefined
    if (choice === 'date') return new Date(`${date.value}T23:59:59`).toISOString()
    return new Date(Date.now() + Number(choice) * DAY).toISOString()
  }

  return {
    elements,
    read: () => ({
      name: name.value,
      mode: mode.value as Mode,
      limited_to_orgs: picked(orgs),
      limited_to_apps: picked(apps),
      expires_at: expiresAt(),
      rate_limit: limited.checked ? { requests: Number(requests.value), per_seconds: Number(seconds.value) } : key ? null : undefined,
      enabled: enabled.checked,
    }),
  }
}
