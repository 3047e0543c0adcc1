/** Creating a key: the form, then the new key shown once. */
import { api, type ApiKey } from '../api'
import type { Context } from '../context'
import { showKeyOnce } from '../dialogs'
import { announce, h } from '../dom'
import { keyForm, reachable } from '../key-form'
import { form, loading, screen } from '../screen'

export async function createKeyScreen(ctx: Context): Promise<void> {
  const body = h('div')
  screen(ctx.main, 'Create a key', h('p', null, h('a', { href: '#/keys' }, '← All keys')), body)
  await loading(body, async () => {
    const fields = keyForm(ctx.me, await reachable())
    return form('New key', fields.elements, 'Create key', async () => {
      const { name, mode, limited_to_apps, limited_to_orgs, expires_at, rate_limit } = fields.read()
      const { apikey } = await api<{ apikey: ApiKey }>('POST', 'apikey/', {
        name, mode, limited_to_apps, limited_to_orgs,
        ...(expires_at === undefined ? {} : { expires_at }),
        ...(rate_limit === undefined ? {} : { rate_limit }),
      })
      await showKeyOnce(apikey.key, `Key “${apikey.name}” created`)
      announce(`Key ${apikey.name} created.`)
      location.hash = `#/keys/${apikey.id}`
    })
  })
}
