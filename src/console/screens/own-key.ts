/** For a key that cannot manage keys: what it is, and that it may revoke itself. */
import { api, orgsInReach } from '../api'
import type { Context } from '../context'
import { confirmDialog } from '../dialogs'
import { errorBox, fill, h, rateText, time } from '../dom'
import { limitsText, stateBadge } from '../keys-view'
import { screen } from '../screen'

export async function ownKeyScreen(ctx: Context): Promise<void> {
  const { me } = ctx
  const errors = h('div')
  const limits = h('dd', null, limitsText(me))
  screen(ctx.main, 'Your key',
    h('p', null, `This key has mode ${me.mode}: managing API keys needs an all key. It can still revoke itself, if it has leaked.`),
    h('dl', { class: 'facts' },
      h('dt', null, 'Name'), h('dd', null, me.name),
      h('dt', null, 'Key'), h('dd', null, h('code', null, me.key)),
      h('dt', null, 'Mode'), h('dd', null, me.mode),
      h('dt', null, 'Limited to'), limits,
      h('dt', null, 'Expires'), h('dd', null, time(me.expires_at, 'never')),
      h('dt', null, 'State'), h('dd', null, stateBadge(me)),
      h('dt', null, 'Rate limit'), h('dd', null, rateText(me.rate_limit)),
    ),
    errors,
    h('div', { class: 'actions' },
      h('button', {
        type: 'button',
        class: 'danger',
        onclick: async () => {
          if (!(await confirmDialog('Revoke this key?', `“${me.name}” stops working at once, here and everywhere it is used. This cannot be undone.`, 'Revoke this key'))) return
          try {
            await api('DELETE', `apikey/${me.id}/`)
            document.dispatchEvent(new CustomEvent('console:signout', { detail: 'The key was revoked, and the console forgot it.' }))
          } catch (error) {
            errors.replaceChildren(errorBox(error))
          }
        },
      }, 'Revoke this key'),
    ),
  )
  // Its organizations by name, where the key sees them.
  const orgs = await orgsInReach()
  fill(limits, limitsText(me, new Map(orgs.map((o) => [o.id, o.name]))))
}
