/** One key: its facts, its usage chart, and what can be done to it (edit, rotate, disable, delete). */
import { api, ApiError, query, type ApiKey, type UsageBucket } from '../api'
import type { Context } from '../context'
import { confirmDialog, modal, showKeyOnce } from '../dialogs'
import { announce, errorBox, fill, h, rateText, time, uid } from '../dom'
import { keyForm, reachable } from '../key-form'
import { expired, limitsText, stateBadge } from '../keys-view'
import { field, form, loading, screen } from '../screen'
import { usageChart } from '../usage-chart'

const HOUR = 60 * 60 * 1000
const GRACE = [
  { seconds: 0, label: 'None: the old key stops now' },
  { seconds: 3600, label: '1 hour' },
  { seconds: 86400, label: '1 day' },
  { seconds: 604800, label: '7 days (the most)' },
]

/** Hourly usage of the key over `days`, up to the end of the current hour. */
async function usageSection(id: number, days: number): Promise<HTMLElement> {
  const to = new Date((Math.floor(Date.now() / HOUR) + 1) * HOUR)
  const from = new Date(to.getTime() - days * 24 * HOUR)
  const { data } = await api<{ data: UsageBucket[] }>('GET', `apikey/${id}/usage${query({ from: from.toISOString(), to: to.toISOString() })}`)
  return usageChart(data)
}

/**
 * The key that replaced this one by rotation, if the signed-in key can see it. The API names a
 * key's predecessor (`rotated_from`), not its successor: the list of keys in reach tells.
 */
async function successorOf(id: number): Promise<ApiKey | null> {
  const { data } = await api<{ data: ApiKey[] }>('GET', `apikey/${query({ limit: 1000 })}`)
  return data.find((key) => key.rotated_from === id) ?? null
}

function facts(key: ApiKey, orgNames: ReadonlyMap<string, string>): HTMLElement {
  return h('dl', { class: 'facts' },
    h('dt', null, 'Key'), h('dd', null, h('code', null, key.key), ' (only the first characters are kept)'),
    h('dt', null, 'Id'), h('dd', null, String(key.id)),
    h('dt', null, 'Mode'), h('dd', null, key.mode),
    h('dt', null, 'Limited to'), h('dd', null, limitsText(key, orgNames)),
    h('dt', null, 'State'), h('dd', null, stateBadge(key)),
    h('dt', null, 'Expires'), h('dd', null, time(key.expires_at, 'never')),
    h('dt', null, 'Last used'), h('dd', null, time(key.last_used_at, 'never'), key.last_used_ip ? ` from ${key.last_used_ip}` : ''),
    h('dt', null, 'Rate limit'), h('dd', null, rateText(key.rate_limit)),
    h('dt', null, 'Created'), h('dd', null, time(key.created_at)),
    h('dt', null, 'Updated'), h('dd', null, time(key.updated_at)),
    key.rotated_from !== null ? [h('dt', null, 'Replaces'), h('dd', null, h('a', { href: `#/keys/${key.rotated_from}` }, `key ${key.rotated_from}`))] : null,
  )
}

/**
 * An empty limit list means no limit: a change that empties one the key has widens it to
 * everything its user reaches in that dimension. Asks first; true when confirmed or not needed.
 */
function confirmUnlimiting(key: ApiKey, changes: { limited_to_orgs?: unknown; limited_to_apps?: unknown }, orgNames: ReadonlyMap<string, string>): Promise<boolean> {
  const dimensions = [
    { plural: 'organizations', before: key.limited_to_orgs.map((id) => orgNames.get(id) ?? id), after: changes.limited_to_orgs },
    { plural: 'apps', before: key.limited_to_apps, after: changes.limited_to_apps },
  ]
  const lifted = dimensions.filter(({ before, after }) => before.length > 0 && Array.isArray(after) && after.length === 0)
  if (lifted.length === 0) return Promise.resolve(true)
  const what = lifted.map(({ plural }) => plural).join(' and ')
  return confirmDialog(
    `Remove the limit to ${what}?`,
    `None checked means no limit: “${key.name}”, now limited to ${lifted.map(({ before }) => before.join(', ')).join('; ')}, would reach all the ${what} its user can. To keep a limit, cancel and check at least one.`,
    'Save without the limit',
  )
}

export function keyDetailScreen(ctx: Context, idText: string): Promise<void> {
  return showKey(ctx, Number(idText))
}

/** Draws the key's screen; `flash`, an error that led here, is shown above it. */
async function showKey(ctx: Context, id: number, flash?: unknown): Promise<void> {
  const body = h('div')
  screen(ctx.main, `Key ${id}`, h('p', null, h('a', { href: '#/keys' }, '← All keys')), body)
  await loading(body, async () => {
    const [{ apikey: key }, successor, reach] = await Promise.all([
      api<{ apikey: ApiKey }>('GET', `apikey/${id}/`),
      successorOf(id),
      reachable(),
    ])
    const orgNames = new Map(reach.orgs.map((o) => [o.id, o.name]))
    const heading = ctx.main.querySelector('h1')!
    heading.textContent = key.name
    document.title = `${key.name} · CodePushGo console`
    const errors = h('div')
    if (flash !== undefined) errors.append(errorBox(flash))
    const act = (run: () => Promise<void>) => async () => {
      fill(errors)
      try {
        await run()
      } catch (error) {
        // Rotated meanwhile (by another tab or client): the screen is drawn anew, with the successor.
        if (error instanceof ApiError && error.code === 'already_rotated') return showKey(ctx, id, error)
        fill(errors, errorBox(error))
      }
    }
    const isExpired = expired(key)

    // Usage, 7 or 30 days.
    const chart = h('div', { class: 'chart-box' })
    const rangeName = uid('range')
    const ranges = h('fieldset', { class: 'segmented' }, h('legend', null, 'Range'),
      [7, 30].map((days) => {
        const inputId = uid('days')
        const input = h('input', { type: 'radio', name: rangeName, id: inputId, value: String(days), checked: days === 7 })
        input.addEventListener('change', () => void loading(chart, () => usageSection(id, days)))
        return h('span', null, input, h('label', { for: inputId }, `${days} days`))
      }),
    )
    void loading(chart, () => usageSection(id, 7))

    // An expired key cannot be brought back, nor rotated; a rotated-away one is rotated once.
    const toggle = isExpired ? null : h('button', {
      type: 'button',
      onclick: act(async () => {
        await api('PUT', `apikey/${id}/`, { enabled: !key.enabled })
        announce(key.enabled ? 'Key disabled.' : 'Key enabled.')
        await showKey(ctx, id)
      }),
    }, key.enabled ? 'Disable' : 'Enable')

    const rotate = isExpired || successor !== null ? null : h('button', {
      type: 'button',
      onclick: act(async () => {
        const grace = await modal('Rotate this key?', (close) => {
          const select = h('select', { name: 'grace' }, GRACE.map((g) => h('option', { value: String(g.seconds), selected: g.seconds === 3600 }, g.label)))
          return [
            h('p', null, 'A new key with the same settings replaces this one, and is shown once. Until the grace period ends, both work, so clients can move over. A key is rotated only once.'),
            field('Grace period for the old key', select),
            h('div', { class: 'actions' },
              h('button', { type: 'button', class: 'primary', onclick: () => close(select.value) }, 'Rotate'),
              h('button', { type: 'button', onclick: () => close('') }, 'Cancel'),
            ),
          ]
        })
        if (grace === '') return
        const rotated = await api<{ apikey: ApiKey; previous: { id: number; expires_at: string | null } }>('POST', `apikey/${id}/rotate`, { grace_period_seconds: Number(grace) })
        await showKeyOnce(rotated.apikey.key, `Key “${rotated.apikey.name}” was rotated: this new key replaces it.`)
        announce('Key rotated.')
        location.hash = `#/keys/${rotated.apikey.id}`
      }),
    }, 'Rotate…')

    const remove = h('button', {
      type: 'button',
      class: 'danger',
      onclick: act(async () => {
        if (!(await confirmDialog(`Delete “${key.name}”?`, 'The key stops working at once: its next request gets 401. Its usage history is deleted with it. This cannot be undone.', 'Delete key'))) return
        await api('DELETE', `apikey/${id}/`)
        announce(`Key ${key.name} deleted.`)
        if (id === ctx.me.id) document.dispatchEvent(new CustomEvent('console:signout', { detail: 'The signed-in key was deleted, and the console forgot it.' }))
        else location.hash = '#/keys'
      }),
    }, 'Delete…')

    const notice = successor !== null
      ? h('p', { class: 'notice' }, 'Rotated: ', h('a', { href: `#/keys/${successor.id}` }, `key ${successor.id} (“${successor.name}”)`), ' replaces it. ',
          key.expires_at ? ['It works until ', time(key.expires_at), ', the end of its grace period, so that clients can move over.'] : null)
      : isExpired
        ? h('p', { class: 'notice' }, 'Expired: it gets 401 and cannot be brought back. Create a new key instead, or delete this one.')
        : null

    const editSection = h('section', { 'aria-labelledby': 'edit-key' }, h('h2', { id: 'edit-key' }, 'Edit'))
    const fields = keyForm(ctx.me, reach, { key, rotatedAway: successor !== null })
    editSection.append(form('Edit key', fields.elements, 'Save changes', async () => {
      const next = fields.read()
      const changes: Record<string, unknown> = {}
      if (next.name !== key.name) changes.name = next.name
      if (next.mode !== key.mode) changes.mode = next.mode
      if (next.limited_to_orgs !== undefined) changes.limited_to_orgs = next.limited_to_orgs
      if (next.limited_to_apps !== undefined) changes.limited_to_apps = next.limited_to_apps
      if (next.expires_at !== undefined) changes.expires_at = next.expires_at
      if (JSON.stringify(next.rate_limit) !== JSON.stringify(key.rate_limit)) changes.rate_limit = next.rate_limit
      if (next.enabled !== key.enabled) changes.enabled = next.enabled
      if (Object.keys(changes).length === 0) throw new Error('Nothing changed.')
      if (!(await confirmUnlimiting(key, changes, orgNames))) return
      await api('PUT', `apikey/${id}/`, changes)
      announce('Changes saved.')
      await showKey(ctx, id)
    }))

    return [
      h('div', { class: 'actions' }, toggle, rotate, remove,
        ctx.can.readAudit ? h('a', { class: 'button', href: `#/audit${query({ target_type: 'apikey', target_id: id })}` }, 'Audit events') : null),
      errors,
      notice,
      h('section', { 'aria-labelledby': 'facts-title' }, h('h2', { id: 'facts-title' }, 'Details'), facts(key, orgNames)),
      h('section', { 'aria-labelledby': 'usage-title' }, h('h2', { id: 'usage-title' }, 'Usage per hour'), ranges, chart),
      editSection,
    ].filter((node) => node !== null)
  })
}
