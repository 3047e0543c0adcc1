/** Organizations: the list (and creating one), and one organization with its members and key policy. */
import { api, atLeast, lower, MODES, orgsInReach, query, type App, type KeyPolicy, type Member, type Organization } from '../api'
import type { Context } from '../context'
import { confirmDialog } from '../dialogs'
import { announce, errorBox, fill, h, time, uid } from '../dom'
import { policyText } from '../key-form'
import { field, form, loading, screen, table } from '../screen'

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
    const data = await orgsInReach()
    if (data.length === 0) return h('p', null, 'No organization within this key’s reach.')
    return table('Organizations within reach', ['Name', 'Id', 'Your role', 'Key policy', 'Created'], data.map((org) =>
      h('tr', null,
        h('th', { scope: 'row' }, h('a', { href: `#/orgs/${encodeURIComponent(org.id)}` }, org.name)),
        h('td', null, h('code', null, org.id)),
        h('td', null, org.role),
        h('td', null, policyText(org.key_policy)),
        h('td', null, time(org.created_at)),
      ),
    ))
  })
}

/**
 * A member's row. The role is changed with the select and its button (a select alone would
 * send a change for every arrow key that walks through the roles).
 */
function memberRow(org: Organization, member: Member, manage: boolean, errors: HTMLElement, reload: () => void): HTMLTableRowElement {
  const orgPath = `organization/${encodeURIComponent(org.id)}/members/${encodeURIComponent(member.user_id)}/`
  const run = async (work: () => Promise<boolean>) => {
    fill(errors)
    try {
      if (await work()) reload()
    } catch (error) {
      fill(errors, errorBox(error))
    }
  }
  const role = h('select', { 'aria-label': `Role of ${member.email}` }, MODES.map((m) => h('option', { value: m, selected: m === member.role }, m)))
  const save = h('button', {
    type: 'button',
    class: 'small',
    hidden: true,
    'aria-label': `Save the role of ${member.email}`,
    onclick: () => void run(async () => {
      await api('PUT', orgPath, { role: role.value })
      announce(`${member.email} is now ${role.value}.`)
      return true
    }),
  }, 'Save role')
  role.addEventListener('change', () => {
    save.hidden = role.value === member.role
  })
  const remove = h('button', {
    type: 'button',
    class: 'danger small',
    'aria-label': `Remove ${member.email}`,
    onclick: () => void run(async () => {
      if (!(await confirmDialog(`Remove ${member.email}?`, `They lose access to ${org.name}, and so do their keys.`, 'Remove member'))) return false
      await api('DELETE', orgPath)
      announce(`${member.email} removed.`)
      return true
    }),
  }, 'Remove')
  return h('tr', null,
    h('th', { scope: 'row' }, member.email),
    h('td', null, member.name),
    manage ? h('td', null, h('span', { class: 'row-actions' }, role, save)) : h('td', null, member.role),
    h('td', null, time(member.created_at)),
    manage ? h('td', null, remove) : null,
  )
}

/** The org's key policy, for a key that may set it (`all` there). */
function policyForm(org: Organization, path: string, reload: () => Promise<void>): HTMLFormElement {
  const policy = org.key_policy
  const maxOn = h('input', { type: 'checkbox', id: uid('max-on'), checked: policy?.max_key_lifetime_days != null })
  const days = h('input', { name: 'max_key_lifetime_days', type: 'number', min: '1', max: '36500', inputmode: 'numeric', value: policy?.max_key_lifetime_days ?? 90 })
  const require = h('input', { type: 'checkbox', id: uid('require'), checked: policy?.require_expiry ?? false })
  const sync = () => {
    days.disabled = !maxOn.checked
    days.required = maxOn.checked
    // A maximum implies an expiry.
    require.disabled = maxOn.checked
    if (maxOn.checked) require.checked = true
  }
  maxOn.addEventListener('change', sync)
  sync()
  return form('Key policy', [
    h('p', { class: 'hint' }, 'It governs every key limited to this organization or to its apps, whenever a key is made or changed. Keys that exist already stop, at the latest, the maximum number of days after the policy comes into force. Loosening or lifting a policy never extends a key it governed. Both unchecked: no policy.'),
    h('div', { class: 'check' }, maxOn, h('label', { for: maxOn.id }, 'Limit how long keys live')),
    field('Longest life of a key, in days', days),
    h('div', { class: 'check' }, require, h('label', { for: require.id }, 'Every key must have an expiry')),
  ], 'Save key policy', async () => {
    const next: KeyPolicy | null = maxOn.checked || require.checked
      ? { max_key_lifetime_days: maxOn.checked ? Number(days.value) : null, require_expiry: require.checked }
      : null
    await api('PUT', path, { key_policy: next })
    announce(next ? `Key policy saved: ${policyText(next)}.` : 'Key policy lifted.')
    await reload()
  })
}

/** One organization; `id` comes decoded from the location. */
export async function orgScreen(ctx: Context, id: string): Promise<void> {
  const path = `organization/${encodeURIComponent(id)}/`
  const body = h('div')
  screen(ctx.main, 'Organization', h('p', null, h('a', { href: '#/orgs' }, '← All organizations')), body)
  await loading(body, async () => {
    const { organization: org } = await api<{ organization: Organization }>('GET', path)
    ctx.main.querySelector('h1')!.textContent = org.name
    document.title = `${org.name} · CodePushGo console`
    // What this key may do here: the lower of its mode and its user's role (SPEC §6).
    const effective = lower(ctx.me.mode, org.role)
    const manage = atLeast(effective, 'all')
    const errors = h('div')
    const members = h('div')
    const showMembers = () => void loading(members, async () => {
      const { data } = await api<{ data: Member[] }>('GET', `${path}members/`)
      return table(`Members of ${org.name}`, ['Email', 'Name', 'Role', 'Member since', ...(manage ? ['Actions'] : [])],
        data.map((m) => memberRow(org, m, manage, errors, showMembers)), { hideCaption: true })
    })
    showMembers()
    const rename = h('input', { name: 'name', required: true, maxlength: '100', value: org.name, autocomplete: 'off' })
    const email = h('input', { name: 'email', type: 'email', required: true, autocomplete: 'off' })
    const role = h('select', { name: 'role' }, MODES.map((m) => h('option', { value: m }, m)))
    return [
      h('dl', { class: 'facts' },
        h('dt', null, 'Id'), h('dd', null, h('code', null, org.id)),
        h('dt', null, 'Your role'), h('dd', null, org.role),
        h('dt', null, 'This key here'), h('dd', null, effective, effective === ctx.me.mode ? '' : ` (its mode is ${ctx.me.mode}; a key never exceeds its user)`),
        h('dt', null, 'Key policy'), h('dd', null, policyText(org.key_policy)),
        h('dt', null, 'Created'), h('dd', null, time(org.created_at)),
      ),
      h('p', null, h('a', { href: `#/apps?org_id=${encodeURIComponent(org.id)}` }, 'Apps of this organization →')),
      h('section', { 'aria-labelledby': 'members-title' }, h('h2', { id: 'members-title' }, 'Members'), errors, members,
        manage
          ? form('Add a member', [field('Email of an existing user', email), field('Role', role)], 'Add member', async () => {
              await api('POST', `${path}members/`, { email: email.value, role: role.value })
              announce(`${email.value} added.`)
              email.value = ''
              showMembers()
            })
          : null,
      ),
      manage
        ? h('section', { 'aria-labelledby': 'policy-title' }, h('h2', { id: 'policy-title' }, 'Key policy'), policyForm(org, path, () => orgScreen(ctx, id)))
        : null,
      atLeast(effective, 'write')
        ? h('section', { 'aria-labelledby': 'rename-title' }, h('h2', { id: 'rename-title' }, 'Rename'),
            form('Rename organization', [field('Name', rename)], 'Save name', async () => {
              await api('PUT', path, { name: rename.value })
              announce('Organization renamed.')
              await orgScreen(ctx, id)
            }))
        : null,
      manage
        ? h('section', { 'aria-labelledby': 'delete-title' }, h('h2', { id: 'delete-title' }, 'Delete'),
            h('p', null, 'Deletes the organization with its apps. Keys limited to it stay, but reach nothing.'),
            h('button', {
              type: 'button',
              class: 'danger',
              onclick: async () => {
                fill(errors)
                try {
                  const { data: apps } = await api<{ data: App[] }>('GET', `app/${query({ org_id: org.id })}`)
                  const what = apps.length === 0 ? 'It has no apps.' : `Its ${apps.length === 1 ? 'app' : `${apps.length} apps`} (${apps.map((a) => a.app_id).join(', ')}) ${apps.length === 1 ? 'is' : 'are'} deleted with it, and their ids are retired for good.`
                  if (!(await confirmDialog(`Delete ${org.name}?`, `${what} Its members lose access, and keys limited to it reach nothing. This cannot be undone.`, 'Delete organization'))) return
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
