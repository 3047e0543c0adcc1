/** Modal dialogs on the native `<dialog>`: focus stays inside, Escape cancels, focus returns to the opener. */
import { apiRoot } from './api'
import { announce, h, uid } from './dom'

/** Shows a modal dialog built by `content` (given a `close(value)`); resolves with the value it was closed with ('' on Escape). */
export function modal(title: string, content: (close: (value: string) => void, titleId: string) => Node[], options: { className?: string } = {}): Promise<string> {
  const titleId = uid('dialog-title')
  const dialog = h('dialog', { 'aria-labelledby': titleId, class: options.className ?? null })
  const close = (value: string) => dialog.close(value)
  dialog.append(h('h2', { id: titleId }, title), ...content(close, titleId))
  document.body.append(dialog)
  return new Promise((resolve) => {
    dialog.addEventListener('close', () => {
      const value = dialog.returnValue
      dialog.remove()
      resolve(value)
    })
    dialog.showModal()
  })
}

/** Asks before something that cannot be undone; resolves true when confirmed. */
export async function confirmDialog(title: string, text: string, confirmLabel: string): Promise<boolean> {
  const answer = await modal(title, (close) => [
    h('p', null, text),
    h('div', { class: 'actions' },
      h('button', { type: 'button', class: 'danger', onclick: () => close('yes') }, confirmLabel),
      // Last in the markup, first to get focus: a stray Enter cancels.
      h('button', { type: 'button', autofocus: true, onclick: () => close('no') }, 'Cancel'),
    ),
  ])
  return answer === 'yes'
}

async function copy(text: string, field: HTMLInputElement): Promise<boolean> {
  try {
    await navigator.clipboard.writeText(text)
    return true
  } catch {
    // No clipboard API (an insecure origin): select the text so Ctrl+C copies it.
    field.focus()
    field.select()
    return false
  }
}

/**
 * Shows a new key, whole, once: a copy button, a curl line to try it, and the warning that it
 * will not be shown again. Resolves when closed; the key is then gone from the page.
 */
export function showKeyOnce(key: string, title: string): Promise<string> {
  const curl = `curl -H "authorization: ${key}" ${new URL('apikey/verify', apiRoot()).href}`
  return modal(title, (close) => {
    const keyId = uid('new-key')
    const field = h('input', { id: keyId, class: 'secret', type: 'text', readonly: true, value: key, spellcheck: 'false', autocomplete: 'off' })
    const copied = h('span', { class: 'copied', role: 'status' })
    return [
      h('p', { class: 'warning' }, h('strong', null, 'Copy this key now. '), 'It will not be shown again: only its first characters are stored.'),
      h('label', { for: keyId }, 'Your new API key'),
      h('div', { class: 'copy-row' },
        field,
        h('button', {
          type: 'button',
          class: 'primary',
          onclick: async () => {
            copied.textContent = (await copy(key, field)) ? 'Copied to the clipboard.' : 'Selected: press Ctrl+C (⌘C) to copy.'
          },
        }, 'Copy'),
      ),
      copied,
      h('p', null, 'Try it:'),
      h('pre', { class: 'curl', tabindex: '0', 'aria-label': 'curl command' }, h('code', null, curl)),
      h('div', { class: 'actions' }, h('button', { type: 'button', onclick: () => { announce('The key is no longer shown.'); close('done') } }, 'I have stored it')),
    ]
  }, { className: 'key-once' })
}
