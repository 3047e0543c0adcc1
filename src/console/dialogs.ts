/** Modal dialogs on the native `<dialog>`: focus stays inside, Escape cancels, focus returns to the opener. */
import { apiRoot } from './api'
import { announce, h, uid } from './dom'

interface ModalOptions {
  className?: string
  /**
   * The dialog closes only through its own buttons: Escape calls this instead (the browser may
   * close a dialog on a repeated Escape all the same: it is then shown again).
   */
  onEscape?: () => void
}

/** Shows a modal dialog built by `content` (given a `close(value)`); resolves with the value it was closed with ('' on Escape). */
export function modal(title: string, content: (close: (value: string) => void, titleId: string) => Node[], options: ModalOptions = {}): Promise<string> {
  const titleId = uid('dialog-title')
  const dialog = h('dialog', { 'aria-labelledby': titleId, class: options.className ?? null })
  let closing = false
  const close = (value: string) => {
    closing = true
    dialog.close(value)
  }
  dialog.append(h('h2', { id: titleId }, title), ...content(close, titleId))
  document.body.append(dialog)
  const { onEscape } = options
  if (onEscape) {
    dialog.addEventListener('cancel', (event) => {
      event.preventDefault()
      onEscape()
    })
  }
  return new Promise((resolve) => {
    dialog.addEventListener('close', () => {
      if (onEscape && !closing) {
        dialog.showModal()
        onEscape()
        return
      }
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

async function copy(text: string, field: HTMLTextAreaElement): Promise<boolean> {
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
 * will not be shown again. Only its button closes it (not Escape), so that the key is not lost
 * by a stray key press. Resolves when closed; the key is then gone from the page.
 */
export function showKeyOnce(key: string, what: string): Promise<string> {
  const curl = `curl -H "authorization: ${key}" ${new URL('apikey/verify', apiRoot()).href}`
  const warning = h('p', { class: 'warning', id: uid('once') },
    h('strong', null, 'This is the only time the key is shown. '),
    'Only its first characters are stored: once this dialog is closed, nobody can show it again. Lost, it can only be rotated or deleted.')
  const reminder = h('p', { class: 'reminder', role: 'alert' })
  return modal('Copy the new key now', (close) => {
    const keyId = uid('new-key')
    const field = h('textarea', { id: keyId, class: 'secret', readonly: true, rows: '1', spellcheck: 'false', autocomplete: 'off', 'aria-describedby': warning.id }, key)
    const copied = h('span', { class: 'copied', role: 'status' })
    return [
      h('p', { class: 'lead' }, what),
      warning,
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
      reminder,
      h('div', { class: 'actions' }, h('button', { type: 'button', onclick: () => { announce('The key is no longer shown.'); close('done') } }, 'I have stored it')),
    ]
  }, {
    className: 'key-once',
    onEscape: () => {
      reminder.textContent = 'Store the key first: it cannot be shown again. Then close this with “I have stored it”.'
    },
  })
}
