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
      // A field left undefined is left out of the JSON: the server takes it from the signed-in key.
      const { enabled: _, ...body } = fields.read()
      const { apikey } = await api<{ apikey: ApiKey }>('POST', 'apikey/', body)
      await showKeyOnce(apikey.key, `Key “${apikey.name}” was created.`)
      announce(`Key ${apikey.name} created.`)
      location.hash = `#/keys/${apikey.id}`
    })
  })
}
