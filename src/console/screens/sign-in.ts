/** Sign-in: paste a key. It is checked with GET /apikey/verify, then kept in memory (and this tab's sessionStorage if asked). */
import { api, type ApiKey } from '../api'
import { h } from '../dom'
import { field, form, screen } from '../screen'
import { remember } from '../session'

export function signInScreen(main: HTMLElement, signedIn: (me: ApiKey) => void, notice?: Node): void {
  // Masked text, not type=password: managers offer to save password fields whatever autocomplete says; data-* opt out of 1Password, LastPass, Bitwarden.
  const key = h('input', {
    name: 'key', type: 'text', class: 'masked', required: true, autocomplete: 'off', autocapitalize: 'off', spellcheck: 'false',
    'data-1p-ignore': true, 'data-lpignore': 'true', 'data-bwignore': true,
  })
  const stay = h('input', { name: 'stay', type: 'checkbox', checked: true, id: 'stay' })
  screen(main, 'Sign in',
    notice ?? '',
    h('p', null, 'Paste an API key. The console uses the public API with it, so it shows and does exactly what the key may.'),
    form('Sign in', [
      field('API key', key, h('p', null, 'It starts with ak_. ', h('code', null, 'codepushgo serve'), ' printed one on its first run.')),
      h('div', { class: 'check' }, stay, h('label', { for: 'stay' }, 'Stay signed in while this tab is open')),
      h('p', { class: 'hint' }, 'The key is never written to local storage or a cookie; signing out forgets it.'),
    ], 'Sign in', async (data) => {
      const pasted = String(data.get('key')).trim().replace(/^bearer\s+/i, '')
      const { apikey } = await api<{ apikey: ApiKey }>('GET', 'apikey/verify', undefined, pasted)
      remember(pasted, data.get('stay') !== null)
      signedIn(apikey)
    }),
  )
}
