/**
 * Apps within reach, by organization: create, rename, delete, each offered only where the
 * signed-in key may do it (its effective mode there, SPEC §6).
 */
import { api, atLeast, lower, orgsInReach, query, type ApiKey, type App, type Mode, type Organization } from '../api'
import type { Context } from '../context'
import { confirmDialog, modal } from '../dialogs'
import { announce, errorBox, fill, h, time } from '../dom'
import { field, form, loading, screen, table } from '../screen'

/**
 * The key's effective mode on each app: from its user's role in the app's org where the key
 * sees the org, else as GET /apikey/verify reports it for the app (a key limited to apps sees
 * no org).
 */
async function effectiveModes(me: ApiKey, apps: readonly App[], orgs: readonly Organization[]): Promise<Map<string, Mode>> {
  const roles = new Map(orgs.map((o) => [o.id, o.role]))
  const modes = new Map<string, Mode>()
  await Promise.all(apps.map(async (app) => {
    const role = roles.get(app.org_id)
    if (role !== undefined) modes.set(app.app_id, lower(me.mode, role))
    else modes.set(app.app_id, (await api<{ apikey: ApiKey }>('GET', `apikey/verify${query({ app_id: app.app_id })}`)).apikey.mode)
  }))
  return modes
}

export async function appsScreen(ctx: Context): Promise<void> {
  const orgId = ctx.params.get('org_id') ?? ''
  const list = h('div')
  const errors = h('div')
  const creating = h('section', { 'aria-labelledby': 'new-app' })
  const orgFilter = h('select', { name: 'org_id' }, h('option', { value: '' }, 'All organizations'))
  orgFilter.addEventListener('change', () => {
    location.hash = `#/apps${query({ org_id: orgFilter.value })}`
  })
  const filters = h('div', { class: 'filters' }, field('Organization', orgFilter))
  filters.hidden = true
  screen(ctx.main, 'Apps', filters, errors, list, creating)

  const orgs = await orgsInReach()
  const orgName = new Map(orgs.map((o) => [o.id, o.name]))
  orgFilter.append(...orgs.map((o) => h('option', { value: o.id, selected: o.id === orgId }, o.name)))
  filters.hidden = orgs.length === 0

  const show = () => void loading(list, async () => {
    const { data } = await api<{ data: App[] }>('GET', `app/${query({ org_id: orgId || undefined })}`)
    if (data.length === 0) return h('p', null, 'No app within this key’s reach here.')
    const modes = await effectiveModes(ctx.me, data, orgs)
    const acts = [...modes.values()].some((mode) => atLeast(mode, 'write'))
    return table('Apps within reach', ['App id', 'Name', 'Organization', 'Created', ...(acts ? ['Actions'] : [])],
      data.map((app) => appRow(app, modes.get(app.app_id)!, acts, orgName, errors, show)))
  })
  show()

  // Creating an app needs write on its org (a key limited to apps cannot: it is an org-level change).
  const creatable = ctx.me.limited_to_apps.length === 0 ? orgs.filter((o) => atLeast(lower(ctx.me.mode, o.role), 'write')) : []
  if (creatable.length === 0) return
  const appId = h('input', { name: 'app_id', required: true, autocomplete: 'off', placeholder: 'com.example.app' })
  const name = h('input', { name: 'name', required: true, maxlength: '100', autocomplete: 'off' })
  const org = h('select', { name: 'org_id' }, creatable.map((o) => h('option', { value: o.id, selected: o.id === orgId }, o.name)))
  fill(creating, h('h2', { id: 'new-app' }, 'New app'),
    form('New app', [field('App id', appId, 'Reverse-domain, unique on this server: com.example.app'), field('Name', name), field('Organization', org)], 'Create app', async () => {
      const { app } = await api<{ app: App }>('POST', 'app/', { app_id: appId.value, name: name.value, org_id: org.value })
      announce(`App ${app.app_id} created.`)
      appId.value = ''
      name.value = ''
      show()
    }),
  )
}

function appRow(app: App, mode: Mode, actionsColumn: boolean, orgName: Map<string, string>, errors: HTMLElement, reload: () => void): HTMLTableRowElement {
  const path = `app/${encodeURIComponent(app.app_id)}/`
  const run = (work: () => Promise<boolean>) => async () => {
    fill(errors)
    try {
      if (await work()) reload()
    } catch (error) {
      fill(errors, errorBox(error))
    }
  }
  const rename = atLeast(mode, 'write') && h('button', {
    type: 'button',
    class: 'small',
    'aria-label': `Rename ${app.app_id}`,
    onclick: run(async () => {
      const name = h('input', { name: 'name', required: true, maxlength: '100', value: app.name, autocomplete: 'off' })
      const answer = await modal(`Rename ${app.app_id}`, (close) => [
        form('Rename app', [field('Name', name)], 'Save name', async () => {
          await api('PUT', path, { name: name.value })
          close('saved')
        }, [h('button', { type: 'button', onclick: () => close('') }, 'Cancel')]),
      ])
      if (answer === 'saved') announce(`App ${app.app_id} renamed.`)
      return answer === 'saved'
    }),
  }, 'Rename')
  const remove = atLeast(mode, 'all') && h('button', {
    type: 'button',
    class: 'danger small',
    'aria-label': `Delete ${app.app_id}`,
    onclick: run(async () => {
      if (!(await confirmDialog(`Delete ${app.app_id}?`, 'Its id is retired for good: keys limited to it reach nothing, and no new app can take the id.', 'Delete app'))) return false
      await api('DELETE', path)
      announce(`App ${app.app_id} deleted.`)
      return true
    }),
  }, 'Delete')
  return h('tr', null,
    h('th', { scope: 'row' }, h('code', null, app.app_id)),
    h('td', null, app.name),
    h('td', null, orgName.get(app.org_id) ?? app.org_id),
    h('td', null, time(app.created_at)),
    actionsColumn ? h('td', null, h('span', { class: 'row-actions' }, rename, remove)) : null,
  )
}
