/** The parts every screen is made of: its heading (focused when it opens), sections, forms. */
import { errorBox, fill, h, uid } from './dom'

/** Starts a screen: its title in an h1 that takes the focus, so keyboard and screen reader users land on it. */
export function screen(main: HTMLElement, title: string, ...intro: (Node | string | null)[]): void {
  const heading = h('h1', { tabindex: '-1' }, title)
  document.title = `${title} · CodePushGo console`
  fill(main, heading, ...intro)
  heading.focus()
}

/** A labelled form field; `control` gets the id. A hint given as an element is one the caller rewrites. */
export function field(label: string, control: HTMLElement, hint?: string | HTMLElement): HTMLElement {
  const id = control.id || uid('field')
  control.id = id
  const hintElement = typeof hint === 'string' ? h('p', { class: 'hint' }, hint) : hint
  if (hintElement) {
    hintElement.id ||= `${id}-hint`
    hintElement.classList.add('hint')
    control.setAttribute('aria-describedby', hintElement.id)
  }
  return h('div', { class: 'field' }, h('label', { for: id }, label), control, hintElement)
}

/**
 * A form whose submit runs `action`, with its button disabled meanwhile and any error shown
 * in words above the button (and announced). `more` buttons go beside the submit button.
 */
export function form(label: string, children: Node[], submitLabel: string, action: (data: FormData) => Promise<void>, more: Node[] = []): HTMLFormElement {
  const errors = h('div', { class: 'form-errors' })
  const submit = h('button', { type: 'submit', class: 'primary' }, submitLabel)
  const element = h('form', { 'aria-label': label }, children, errors, h('div', { class: 'actions' }, submit, more))
  element.addEventListener('submit', async (event) => {
    event.preventDefault()
    submit.disabled = true
    fill(errors)
    try {
      await action(new FormData(element))
    } catch (error) {
      fill(errors, errorBox(error))
    } finally {
      submit.disabled = false
    }
  })
  return element
}

/** Runs `load` and shows what it makes, or the error in words, in `into`. */
export async function loading(into: HTMLElement, load: () => Promise<Node | Node[]>): Promise<void> {
  into.setAttribute('aria-busy', 'true')
  fill(into, h('p', { class: 'muted' }, 'Loading…'))
  try {
    const made = await load()
    fill(into, ...(Array.isArray(made) ? made : [made]))
  } catch (error) {
    fill(into, errorBox(error))
  } finally {
    into.removeAttribute('aria-busy')
  }
}

/**
 * A table; on a narrow screen each row becomes a card whose cells are labelled with their
 * column's name (`data-label`, shown by the style sheet).
 */
export function table(caption: string, head: string[], rows: HTMLTableRowElement[], options: { hideCaption?: boolean } = {}): HTMLElement {
  for (const row of rows) {
    ;[...row.cells].forEach((cell, i) => {
      cell.setAttribute('data-label', head[i] ?? '')
      // One box beside the label on a card, however many parts the cell has.
      if (cell.childNodes.length > 1) cell.replaceChildren(h('span', null, [...cell.childNodes]))
    })
  }
  return h('div', { class: 'table-wrap', role: 'region', 'aria-label': caption, tabindex: '0' },
    h('table', null,
      h('caption', { class: options.hideCaption ? 'sr-only' : null }, caption),
      h('thead', null, h('tr', null, head.map((name) => h('th', { scope: 'col' }, name)))),
      h('tbody', null, rows),
    ),
  )
}
