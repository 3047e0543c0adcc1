/** Organizations: the list (and creating one), and one organization with its members. */
import { api, MODES, type Member, type Mode, type Organization } from '../api'
import type { Context } from '../context'
import { confirmDialog } from '../dialogs'
import { announce, errorBox, fill, h, time } from '../dom'
import { field, form, loading, screen, table } from '../screen'

const atLeast = (held: Mode, needed: Mode) => MODES.indexOf(held) >= MODES.indexOf(needed)

export async function orgsScreen(ctx: Context): Promise<void> {
  const list = h('div')
  const name = h('input', { name: 'name', required: true, maxlength: '100', autocomplete: 'off' })
  screen(ctx.main, 'Organizations',
    list,
    ctx.can.createOrgs
      ? h('section', { 'aria-labelledby': 'new-org' }, h('h2', { id: 'new-org' }, 'New organization'),
          form('New organization', [field('Name', name)], 'Create organization', async () => {
            const { organization } = await api<{ organization: Organization }>('POST', 'organization/', { name: name.value })
            announce(`Organization ${organization.name} created.`)
            location.hash = `#/orgs/${organization.id}`
          }))
      : null,
  )
  await loading(list, async () => {
    const { data } = await api<{ data: Organization[] }>('GET', 'organization/')
    if (data.length === 0) return h('p', null, 'No organization within this key’s reach.')
    return table('Organizations within reach', ['Name', 'Id', 'Your role', 'Created'], data.map((org) =>
      h('tr', null,
        h('th', { scope: 'row' }, h('a', { href: `#/orgs/${encodeURIComponent(org.id)}` }, org.name)),
        h('td', null, h('code', null, org.id)),
        h('td', null, org.role),
        h('td', null, time(org.created_at)),
      ),
    ))
  })
}

function memberRow(ctx: Context, org: Organization, member: Member, errors: HTMLElement, reload: () => void): HTMLTableRowElement {
  const manage = ctx.can.manageKeys && atLeast(org.role, 'all')
  const role = h('select', { 'aria-label': `Role of ${member.email}` }, MODES.map((m) => h('option', { value: m, selected: m === member.role }, m)))
  const run = async (work: () => Promise<void>) => {
    fill(errors)
    try {
      await work()
      reload()
    } catch (error) {
      fill(errors, errorBox(error))
    }
  }
  role.addEventListener('change', () => void run(async () => {
    await api('PUT', `organization/${encodeURIComponent(org.id)}/members/${encodeURIComponent(member.user_id)}/`, { role: role.value })
    announce(`${member.email} is now ${role.value}.`)
  }))
  return h('tr', null,
    h('th', { scope: 'row' }, member.email),
    h('td', null, member.name),
    h('td', null, manage ? role : member.role),
    h('td', null, time(member.created_at)),
    h('td', null, manage
      ? h('button', {
          type: 'button',
          class: 'danger small',
          onclick: () => void run(async () => {
            if (!(await confirmDialog(`Remove ${member.email}?`, `They lose access to ${org.name}, and so do their keys.`, 'Remove member'))) return
            await api('DELETE', `organization/${encodeURIComponent(org.id)}/members/${encodeURIComponent(member.user_id)}/`)
            announce(`${member.email} removed.`)
          }),
        }, 'Remove')
      : ''),
  )
}

export async function orgScreen(ctx: Context, idText: string): Promise<void> {
  const id = decodeURIComponent(idText)
  const path = `organization/${encodeURIComponent(id)}/`
  const body = h('div')
  screen(ctx.main, 'Organization', h('p', null, h('a', { href: '#/orgs' }, '← All organizations')), body)
  await loading(body, async () => {
    const { organization: org } = await api<{ organization: Organization }>('GET', path)
    ctx.main.querySelector('h1')!.textContent = org.name
    document.title = `${org.name} · CodePushGo console`
    const errors = h('div')
    const members = h('div')
    const showMembers = () => void loading(members, async () => {
      const { data } = await api<{ data: Member[] }>('GET', `${path}members/`)
      return table('Members', ['Email', 'Name', 'Role', 'Member since', 'Actions'], data.map((m) => memberRow(ctx, org, m, errors, showMembers)), { hideCaption: true })
    })
    showMembers()
    const rename = h('input', { name: 'name', required: true, maxlength: '100', value: org.name, autocomplete: 'off' })
    const email = h('input', { name: 'email', type: 'email', required: true, autocomplete: 'off' })
    const role = h('select', { name: 'role' }, MODES.map((m) => h('option', { value: m }, m)))
    return [
      h('dl', { class: 'facts' },
        h('dt', null, 'Id'), h('dd', null, h('code', null, org.id)),
        h('dt', null, 'Your role'), h('dd', null, org.role),
        h('dt', null, 'Created'), h('dd', null, time(org.created_at)),
      ),
      h('p', null, h('a', { href: `#/apps?org_id=${encodeURIComponent(org.id)}` }, 'Apps of this organization →')),
      h('section', { 'aria-labelledby': 'members-title' }, h('h2', { id: 'members-title' }, 'Members'), errors, members,
        ctx.can.manageKeys && atLeast(org.role, 'all')
          ? form('Add a member', [field('Email of an existing user', email), field('Role', role)], 'Add member', async () => {
              await api('POST', `${path}members/`, { email: email.value, role: role.value })
              announce(`${email.value} added.`)
              email.value = ''
              showMembers()
            })
          : null,
      ),
      ctx.me.mode !== 'read' && atLeast(org.role, 'write')
        ? h('section', { 'aria-labelledby': 'rename-title' }, h('h2', { id: 'rename-title' }, 'Rename'),
            form('Rename organization', [field('Name', rename)], 'Save name', async () => {
              await api('PUT', path, { name: rename.value })
              announce('Organization renamed.')
              await orgScreen(ctx, idText)
            }))
        : null,
      ctx.can.manageKeys && atLeast(org.role, 'all')
        ? h('section', { 'aria-labelledby': 'delete-title' }, h('h2', { id: 'delete-title' }, 'Delete'),
            h('p', null, 'Deletes the organization with its apps. Keys limited to it stay, but reach nothing.'),
            h('button', {
              type: 'button',
              class: 'danger',
              onclick: async () => {
                fill(errors)
                if (!(await confirmDialog(`Delete ${org.name}?`, 'The organization and all its apps are deleted. This cannot be undone.', 'Delete organization'))) return
                try {
                  await api('DELETE', path)
                  announce(`${org.name} deleted.`)
                  location.hash = '#/orgs'
                } catch (error) {
                  fill(errors, errorBox(error))
                }
              },
            }, 'Delete organization…'))
        : null,
    ].filter((node) => node !== null)
  })
}
