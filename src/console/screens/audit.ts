/** The audit log: every change to keys, organizations, members and apps, newest first, filtered and paged by the API. */
import { api, orgsInReach, query, type AuditEvent } from '../api'
import type { Context } from '../context'
import { h, time } from '../dom'
import { field, loading, screen, table } from '../screen'

const PAGE_SIZE = 50
const ACTIONS = [
  'apikey.create', 'apikey.update', 'apikey.rotate', 'apikey.delete',
  'organization.create', 'organization.update', 'organization.delete',
  'member.add', 'member.update', 'member.remove',
  'app.create', 'app.update', 'app.delete',
]
const TARGETS = ['apikey', 'organization', 'app']
const FILTERS = ['action', 'target_type', 'target_id', 'actor_key_id'] as const

function details(event: AuditEvent): string {
  return Object.entries(event.details).map(([name, value]) => `${name}: ${typeof value === 'string' ? value : JSON.stringify(value)}`).join('; ')
}

function target(event: AuditEvent, orgNames: ReadonlyMap<string, string>): Node {
  if (event.target_type === 'apikey') return h('a', { href: `#/keys/${encodeURIComponent(event.target_id)}` }, `key ${event.target_id}`)
  if (event.target_type === 'organization') return h('a', { href: `#/orgs/${encodeURIComponent(event.target_id)}`, title: event.target_id }, orgNames.get(event.target_id) ?? event.target_id)
  return document.createTextNode(`${event.target_type} ${event.target_id}`)
}

export async function auditScreen(ctx: Context): Promise<void> {
  const page = Math.max(0, Number(ctx.params.get('page') ?? 0) || 0)
  const filters = Object.fromEntries(FILTERS.map((name) => [name, ctx.params.get(name) ?? ''])) as Record<(typeof FILTERS)[number], string>
  const list = h('div')
  const choose = (name: string, label: string, options: string[]) =>
    field(label, h('select', { name }, h('option', { value: '' }, 'Any'), options.map((o) => h('option', { value: o, selected: o === filters[name as keyof typeof filters] }, o))))
  const text = (name: keyof typeof filters, label: string, inputmode?: string) =>
    field(label, h('input', { name, value: filters[name], autocomplete: 'off', inputmode: inputmode ?? null }))
  const filterForm = h('form', { class: 'filters', 'aria-label': 'Filter events' },
    choose('action', 'Action', ACTIONS),
    choose('target_type', 'Target type', TARGETS),
    text('target_id', 'Target id'),
    text('actor_key_id', 'By key id', 'numeric'),
    h('div', { class: 'actions' }, h('button', { type: 'submit' }, 'Filter'), h('a', { class: 'button', href: '#/audit' }, 'Clear')),
  )
  filterForm.addEventListener('submit', (event) => {
    event.preventDefault()
    const data = new FormData(filterForm)
    location.hash = `#/audit${query(Object.fromEntries(FILTERS.map((name) => [name, String(data.get(name) ?? '').trim()])))}`
  })
  screen(ctx.main, 'Audit log', filterForm, list)
  await loading(list, async () => {
    const [{ data }, orgs] = await Promise.all([api<{ data: AuditEvent[] }>('GET', `audit/${query({ ...filters, limit: PAGE_SIZE, page })}`), orgsInReach()])
    const orgNames = new Map(orgs.map((o) => [o.id, o.name]))
    const link = (to: number) => `#/audit${query({ ...filters, page: to || undefined })}`
    const pager = h('nav', { class: 'pager', 'aria-label': 'Pages of events' },
      page > 0 ? h('a', { href: link(page - 1) }, '← Newer') : null,
      h('span', null, `Page ${page + 1}`),
      data.length === PAGE_SIZE ? h('a', { href: link(page + 1) }, 'Older →') : null,
    )
    if (data.length === 0) return [h('p', null, page > 0 ? 'No older events.' : 'No events match.'), pager]
    return [
      table('Audit events, newest first', ['When', 'Action', 'Target', 'By key', 'From', 'Details'], data.map((event) =>
        h('tr', null,
          h('td', null, time(event.at)),
          h('th', { scope: 'row' }, event.action),
          h('td', null, target(event, orgNames)),
          h('td', null, event.actor_key_id === null ? 'none (server or CLI)' : `key ${event.actor_key_id}`),
          h('td', null, event.ip ?? '—', event.user_agent ? h('span', { class: 'muted ua' }, ` ${event.user_agent}`) : null),
          h('td', { class: 'details' }, details(event)),
        ),
      )),
      pager,
    ]
  })
}
