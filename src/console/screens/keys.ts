/** The keys screen: every key within the signed-in key's reach, with a week of usage each. */
import { api, MODES, orgsInReach, query, type ApiKey, type UsageBucket } from '../api'
import type { Context } from '../context'
import { ago, day, describe, fill, h, rateText } from '../dom'
import { limitsText, stateBadge } from '../keys-view'
import { field, loading, screen, table } from '../screen'
import { usageChart, usageSparkline } from '../usage-chart'
import { ownKeyScreen } from './own-key'

const PAGE_SIZE = 25

/** Runs `work` over the items, at most `width` at a time. */
async function inParallel<T>(items: readonly T[], width: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0
  await Promise.all(Array.from({ length: Math.min(width, items.length) }, async () => {
    while (next < items.length) await work(items[next++]!)
  }))
}

/** How the key relates to the others shown: the signed-in key, rotated away, or the successor of one. */
function badges(key: ApiKey, me: ApiKey, shown: readonly ApiKey[]): HTMLElement[] {
  const successor = shown.find((other) => other.rotated_from === key.id)
  return [
    key.id === me.id ? h('span', { class: 'badge' }, 'this key') : null,
    successor ? h('span', { class: 'badge' }, `replaced by key ${successor.id}`) : null,
    key.rotated_from !== null ? h('span', { class: 'badge' }, `replaces key ${key.rotated_from}`) : null,
  ].filter((badge) => badge !== null)
}

const SOON = 30 * 24 * 60 * 60 * 1000

/** The expiry's day (the instant in its tooltip), with how soon it comes when that is within a month. */
function expiresCell(key: ApiKey): HTMLElement {
  if (key.expires_at === null) return h('td', null, 'never')
  const left = Date.parse(key.expires_at) - Date.now()
  return h('td', null,
    h('time', { datetime: key.expires_at, title: key.expires_at }, day(new Date(key.expires_at))),
    left > 0 && left < SOON ? h('span', { class: 'aside' }, ago(key.expires_at)) : null)
}

function keyRow(key: ApiKey, me: ApiKey, shown: readonly ApiKey[], orgNames: ReadonlyMap<string, string>, usageCell: HTMLElement): HTMLTableRowElement {
  return h('tr', null,
    h('th', { scope: 'row' }, h('span', null, h('a', { href: `#/keys/${key.id}` }, key.name), badges(key, me, shown))),
    h('td', null, h('code', null, key.key)),
    h('td', null, key.mode),
    h('td', { class: 'limits' }, limitsText(key, orgNames)),
    expiresCell(key),
    h('td', null, stateBadge(key)),
    h('td', null, ago(key.last_used_at), key.last_used_ip ? h('span', { class: 'aside' }, `from ${key.last_used_ip}`) : null),
    h('td', null, rateText(key.rate_limit)),
    usageCell,
  )
}

export async function keysScreen(ctx: Context): Promise<void> {
  if (!ctx.can.manageKeys) return ownKeyScreen(ctx)
  const page = Math.max(0, Number(ctx.params.get('page') ?? 0) || 0)
  const mode = ctx.params.get('mode') ?? ''
  const list = h('div')
  const totalChart = h('div')
  const total = h('section', { 'aria-labelledby': 'total-usage' }, h('h2', { id: 'total-usage' }, 'Usage of all these keys, last 7 days'), totalChart)
  const modeSelect = h('select', { name: 'mode' }, h('option', { value: '' }, 'All modes'), MODES.map((m) => h('option', { value: m, selected: m === mode }, m)))
  modeSelect.addEventListener('change', () => {
    location.hash = `#/keys${query({ mode: modeSelect.value })}`
  })
  screen(ctx.main, 'API keys',
    h('p', { class: 'lead' }, h('a', { class: 'button primary', href: '#/keys/new' }, 'Create a key')),
    h('div', { class: 'filters' }, field('Show', modeSelect)),
    list,
    total,
  )
  const showList = loading(list, async () => {
    const [{ data }, orgs] = await Promise.all([
      api<{ data: ApiKey[] }>('GET', `apikey/${query({ limit: PAGE_SIZE, page, mode: mode || undefined })}`),
      orgsInReach(),
    ])
    const orgNames = new Map(orgs.map((o) => [o.id, o.name]))
    const cells = new Map(data.map((key) => [key, h('td', { class: 'usage' }, h('span', { class: 'muted' }, '…'))]))
    const rows = data.map((key) => keyRow(key, ctx.me, data, orgNames, cells.get(key)!))
    void inParallel(data, 4, async (key) => {
      const cell = cells.get(key)!
      try {
        fill(cell, usageSparkline((await api<{ data: UsageBucket[] }>('GET', `apikey/${key.id}/usage`)).data))
      } catch (error) {
        fill(cell, h('span', { class: 'muted', title: describe(error) }, 'unavailable'))
      }
    })
    const pager = h('nav', { class: 'pager', 'aria-label': 'Pages of keys' },
      page > 0 ? h('a', { href: `#/keys${query({ page: page - 1, mode: mode || undefined })}` }, '← Newer') : null,
      h('span', null, `Page ${page + 1}`),
      data.length === PAGE_SIZE ? h('a', { href: `#/keys${query({ page: page + 1, mode: mode || undefined })}` }, 'Older →') : null,
    )
    if (data.length === 0) return h('p', null, page > 0 ? 'No more keys.' : 'No keys within this key’s reach yet.')
    return [
      table('Keys within reach, newest first', ['Name', 'Key', 'Mode', 'Limited to', 'Expires', 'State', 'Last used', 'Rate limit', 'Last 7 days'], rows),
      pager,
    ]
  })
  const showTotal = loading(totalChart, async () => usageChart((await api<{ data: UsageBucket[] }>('GET', 'apikey/usage')).data))
  await Promise.all([showList, showTotal])
}
