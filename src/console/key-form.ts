/**
 * The fields of a key, for creating and editing one: name, mode, organizations and apps to
 * limit it to (pickers filled from the API, so they offer only what the signed-in key
 * reaches), expiry (offering only what the signed-in key's expiry and the orgs' key policies
 * allow, see expiry-bounds.ts) and rate limit.
 */
import { api, MODES, orgsInReach, type ApiKey, type App, type KeyPolicy, type Mode, type Organization, type RateLimit } from './api'
import { day, h, uid } from './dom'
import { expiryBounds } from './expiry-bounds'
import { field } from './screen'

export interface KeyFields {
  name: string
  mode: Mode
  /**
   * undefined: the form leaves it to the server (create: the signed-in key's own limits;
   * edit: unchanged, as the key has them, even ids the pickers do not know).
   */
  limited_to_orgs: string[] | undefined
  limited_to_apps: string[] | undefined
  /** undefined: the form leaves it to the server (create: the caller's expiry; edit: unchanged). */
  expires_at: string | null | undefined
  rate_limit: RateLimit | null | undefined
  enabled: boolean
}

export interface KeyForm {
  elements: HTMLElement[]
  /** The fields as the API takes them; throws, in words, what the form cannot send. */
  read(): KeyFields
}

export interface Reach {
  orgs: Organization[]
  apps: App[]
}

/** What the orgs and apps pickers offer: what the signed-in key reaches (orgs with their key policies). */
export async function reachable(): Promise<Reach> {
  const [orgs, apps] = await Promise.all([
    orgsInReach(),
    api<{ data: App[] }>('GET', 'app/').then((r) => r.data),
  ])
  return { orgs, apps }
}

/** A key policy in a few words: "keys live at most 90 days", "keys must expire". */
export function policyText(policy: KeyPolicy | null): string {
  if (policy === null) return 'none'
  if (policy.max_key_lifetime_days !== null) return `keys live at most ${policy.max_key_lifetime_days} days`
  return policy.require_expiry ? 'keys must expire' : 'none'
}

const DAY = 24 * 60 * 60 * 1000
const PRESETS = [7, 30, 90, 365]

/** A yyyy-mm-dd date in local time, as `<input type=date>` takes it. */
const localDate = (at: number) => {
  const d = new Date(at)
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`
}

interface Pick {
  value: string
  label: string
  note?: string
}

function checkboxes(legend: string, name: string, items: Pick[], checked: readonly string[]): { fieldset: HTMLElement; hint: HTMLElement; boxes: HTMLInputElement[] } {
  const hint = h('p', { class: 'hint', id: uid('hint') })
  const boxes: HTMLInputElement[] = []
  const fieldset = h('fieldset', { class: 'picks', 'aria-describedby': hint.id },
    h('legend', null, legend),
    hint,
    items.length === 0 ? h('p', { class: 'muted' }, 'None within reach.') : null,
    items.map(({ value, label, note }) => {
      const box = h('input', { type: 'checkbox', id: uid(name), name, value, checked: checked.includes(value) })
      boxes.push(box)
      return h('div', { class: 'check' }, box, h('label', { for: box.id }, label, note ? h('span', { class: 'muted' }, ` · ${note}`) : null))
    }),
  )
  return { fieldset, hint, boxes }
}

export interface KeyFormOptions {
  /** The key edited; absent when creating one. */
  key?: ApiKey
  /** The edited key has a successor (its expiry cannot move past its grace end). */
  rotatedAway?: boolean
}

/** The form's fields; `options.key` fills them for an edit. */
export function keyForm(me: ApiKey, reach: Reach, { key, rotatedAway = false }: KeyFormOptions = {}): KeyForm {
  const name = h('input', { name: 'name', required: true, maxlength: '100', autocomplete: 'off', value: key?.name ?? '' })
  const mode = h('select', { name: 'mode' }, MODES.map((m) => h('option', { value: m, selected: m === (key?.mode ?? 'read') }, m)))
  const orgName = new Map(reach.orgs.map((o) => [o.id, o.name]))

  // Ids the key has that the pickers do not list (deleted since, or out of the signed-in key's
  // sight) are offered too, checked: the boxes start from the key's own ids.
  const unlisted = 'not listed: deleted, or out of reach'
  const orgItems: Pick[] = reach.orgs.map((o) => ({ value: o.id, label: `${o.name} (${o.id})`, note: o.key_policy ? `key policy: ${policyText(o.key_policy)}` : undefined }))
  for (const id of key?.limited_to_orgs ?? []) if (!orgName.has(id)) orgItems.push({ value: id, label: id, note: unlisted })
  const appItems: Pick[] = reach.apps.map((a) => ({ value: a.app_id, label: `${a.name} (${a.app_id}${orgName.has(a.org_id) ? `, ${orgName.get(a.org_id)}` : ''})` }))
  for (const id of key?.limited_to_apps ?? []) if (!reach.apps.some((a) => a.app_id === id)) appItems.push({ value: id, label: id, note: unlisted })
  const orgs = checkboxes('Limit to organizations', 'org', orgItems, key?.limited_to_orgs ?? [])
  const apps = checkboxes('Limit to apps', 'app', appItems, key?.limited_to_apps ?? [])
  const appOrg = new Map(reach.apps.map((a) => [a.app_id, a.org_id]))
  const picked = (boxes: HTMLInputElement[]) => boxes.filter((box) => box.checked).map((box) => box.value)
  const names = (ids: readonly string[]) => ids.map((id) => orgName.get(id) ?? id).join(', ')

  // Creating, a dimension left empty inherits the signed-in key's limits (SPEC §6).
  const inherits = key === undefined
  orgs.hint.textContent = inherits && me.limited_to_orgs.length > 0
    ? `None checked: the same as the signed-in key (${names(me.limited_to_orgs)}).`
    : me.limited_to_orgs.length > 0 ? 'The signed-in key is limited to organizations: keep at least one checked.' : 'None checked: not limited by organization.'
  const appsHint = inherits && me.limited_to_apps.length > 0
    ? `None checked: the same as the signed-in key (${me.limited_to_apps.join(', ')}).`
    : me.limited_to_apps.length > 0 ? 'The signed-in key is limited to apps: keep at least one checked.' : 'None checked: not limited to apps.'
  const limits = () => ({
    orgs: picked(orgs.boxes).length > 0 || !inherits ? picked(orgs.boxes) : me.limited_to_orgs,
    apps: picked(apps.boxes).length > 0 || !inherits ? picked(apps.boxes) : me.limited_to_apps,
  })

  // Expiry: keep (edit), never or the signed-in key's own expiry, a preset, or a day.
  const keepLabel = key ? (key.expires_at ? `Keep: ${day(new Date(key.expires_at))}` : 'Keep: never') : ''
  const defaultLabel = key || me.expires_at === null ? 'Never' : `When the signed-in key expires (${day(new Date(me.expires_at))})`
  const expiry = h('select', { name: 'expiry' },
    key ? h('option', { value: 'keep' }, keepLabel) : null,
    h('option', { value: 'default' }, defaultLabel),
    PRESETS.map((days) => h('option', { value: String(days) }, `In ${days} days`)),
    h('option', { value: 'date' }, 'On a day…'),
  )
  expiry.value = key ? 'keep' : 'default'
  const date = h('input', { name: 'expires_on', type: 'date' })
  const dateHint = h('p')
  const dateField = field('Expires at the end of', date, dateHint)
  const expiryHint = h('p', { 'aria-live': 'polite' })
  const expiryField = field('Expires', expiry, expiryHint)
  let latest = Number.POSITIVE_INFINITY

  /** Offers only the expiries the bounds allow, says why, and checks the apps against the orgs. */
  function refresh(): void {
    const checkedOrgs = picked(orgs.boxes)
    for (const box of apps.boxes) {
      const outside = checkedOrgs.length > 0 && appOrg.has(box.value) && !checkedOrgs.includes(appOrg.get(box.value)!)
      box.disabled = outside
      if (outside) box.checked = false
    }
    apps.hint.textContent = appsHint + (checkedOrgs.length > 0 ? ' Only apps of the checked organizations can be picked.' : '')

    const now = Date.now()
    const bounds = expiryBounds({ me, reach, limits: limits(), key, rotatedAway, now })
    latest = bounds.latest
    const allowed = (value: string): boolean => {
      if (value === 'keep') return true
      if (value === 'date') return latest > now
      if (value === 'default') return key || me.expires_at === null ? !bounds.required && latest === Number.POSITIVE_INFINITY : Date.parse(me.expires_at) <= latest
      return now + Number(value) * DAY <= latest
    }
    for (const option of expiry.options) option.disabled = !allowed(option.value)
    // A choice no longer allowed gives way to keep or the default, else the longest preset, else a day.
    if (!allowed(expiry.value)) {
      const open = [...expiry.options].filter((option) => !option.disabled).map((option) => option.value)
      expiry.value = open.find((value) => value === 'keep' || value === 'default') ?? open.filter((value) => PRESETS.includes(Number(value))).at(-1) ?? 'date'
    }
    date.min = localDate(now)
    date.max = latest === Number.POSITIVE_INFINITY ? '' : localDate(latest)
    dateHint.textContent = latest === Number.POSITIVE_INFINITY ? 'At 23:59 local time.' : `At 23:59 local time, or at ${new Date(latest).toLocaleString()} if that is earlier.`
    expiryHint.textContent = bounds.reasons.length > 0
      ? bounds.reasons.join(' ')
      : 'No key policy applies to it. The server may still have a maximum of its own (--max-key-lifetime-days).'
    dateField.hidden = expiry.value !== 'date'
    date.required = expiry.value === 'date'
  }
  for (const box of [...orgs.boxes, ...apps.boxes]) box.addEventListener('change', refresh)
  expiry.addEventListener('change', refresh)
  refresh()

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
    // A key limited to apps cannot see organizations: it has nothing to pick there.
    orgItems.length > 0 || me.limited_to_apps.length === 0 ? orgs.fieldset : null,
    apps.fieldset,
    expiryField,
    dateField,
    h('fieldset', { class: 'picks' },
      h('legend', null, 'Rate limit'),
      h('div', { class: 'check' }, limited, h('label', { for: limited.id }, 'Its own rate limit')),
      h('p', { class: 'hint' }, key ? 'Unchecked: the server default, if any.' : 'Unchecked: the signed-in key’s own limit, if it has one, else the server default.'),
      rateFields,
    ),
    key ? h('div', { class: 'check' }, enabled, h('label', { for: enabled.id }, 'Enabled (a disabled key gets 401 until enabled again)')) : null,
  ].filter((element): element is HTMLElement => element !== null)

  function expiresAt(): string | null | undefined {
    const choice = expiry.value
    if (choice === 'keep') return undefined
    if (choice === 'default') return key ? null : undefined
    if (choice === 'date') {
      const at = Math.min(new Date(`${date.value}T23:59:59`).getTime(), latest)
      if (at <= Date.now()) throw new Error('Choose a day from today on.')
      return new Date(at).toISOString()
    }
    return new Date(Date.now() + Number(choice) * DAY).toISOString()
  }

  /**
   * The list to send. Creating, none checked is left out (the server then takes the signed-in
   * key's). Editing, the list is sent only when its checks differ from the key's own ids, so
   * that a save never rebuilds (and so never widens) a limit its user did not touch.
   */
  function chosen(boxes: HTMLInputElement[], own: readonly string[], callerLimits: readonly string[], what: string): string[] | undefined {
    const ids = picked(boxes)
    if (inherits) return ids.length > 0 ? ids : undefined
    if (ids.length === own.length && ids.every((id) => own.includes(id))) return undefined
    if (ids.length === 0 && callerLimits.length > 0) throw new Error(`Check at least one of the ${what}: the signed-in key is limited to ${what}, so a key it changes must stay limited too.`)
    return ids
  }

  return {
    elements,
    read: () => ({
      name: name.value,
      mode: mode.value as Mode,
      limited_to_orgs: chosen(orgs.boxes, key?.limited_to_orgs ?? [], me.limited_to_orgs, 'organizations'),
      limited_to_apps: chosen(apps.boxes, key?.limited_to_apps ?? [], me.limited_to_apps, 'apps'),
      expires_at: expiresAt(),
      rate_limit: limited.checked ? { requests: Number(requests.value), per_seconds: Number(seconds.value) } : key ? null : undefined,
      enabled: enabled.checked,
    }),
  }
}
