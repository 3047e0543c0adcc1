/** Building the page: elements from code (never HTML strings, never inline styles), and formatting. */
import { ApiError, type RateLimit } from './api'

type Child = Node | string | number | null | undefined | false | Child[]
type Attribute = string | number | boolean | null | undefined | ((event: Event) => void)

function append(parent: Node, children: Child[]): void {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue
    if (Array.isArray(child)) append(parent, child)
    else parent.appendChild(child instanceof Node ? child : document.createTextNode(String(child)))
  }
}

function apply(element: Element, attributes: Record<string, Attribute> | null | undefined): void {
  for (const [name, value] of Object.entries(attributes ?? {})) {
    if (name === 'style') throw new Error('no inline styles: the CSP refuses them')
    if (typeof value === 'function') element.addEventListener(name.slice(2), value)
    else if (value === true) element.setAttribute(name, '')
    else if (value !== false && value !== null && value !== undefined) element.setAttribute(name, String(value))
  }
}

/** An HTML element: `h('a', { href: '#/keys', onclick: … }, 'Keys')`. */
export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attributes?: Record<string, Attribute> | null, ...children: Child[]): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag)
  apply(element, attributes)
  append(element, children)
  return element
}

/** An SVG element. */
export function svg(tag: string, attributes?: Record<string, Attribute> | null, ...children: Child[]): SVGElement {
  const element = document.createElementNS('http://www.w3.org/2000/svg', tag)
  apply(element, attributes)
  append(element, children)
  return element
}

/** Replaces an element's children. */
export function fill(parent: Element, ...children: Child[]): void {
  parent.replaceChildren()
  append(parent, children)
}

let ids = 0
/** A fresh element id, for labels and descriptions. */
export const uid = (prefix: string) => `${prefix}-${++ids}`

/** What went wrong, in words. */
export function describe(error: unknown): string {
  if (error instanceof ApiError) return error.status === 0 ? error.message : `${error.message} (${error.status} ${error.code})`
  return error instanceof Error ? error.message : String(error)
}

/** An error message that screen readers announce. */
export function errorBox(error: unknown): HTMLElement {
  return h('p', { class: 'error', role: 'alert' }, describe(error))
}

/** A region that says what just happened ("Key disabled"), for screen readers too. */
export function announce(text: string): void {
  const region = document.getElementById('status')
  if (region) region.textContent = text
}

const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' })
const dateOnly = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium' })
const relative = new Intl.RelativeTimeFormat(undefined, { numeric: 'auto' })

/** A timestamp, local, with the exact instant in a tooltip. */
export function time(iso: string | null, empty = '—'): Node {
  if (iso === null) return document.createTextNode(empty)
  return h('time', { datetime: iso, title: iso }, dateTime.format(new Date(iso)))
}

export const day = (date: Date) => dateOnly.format(date)

/** "3 minutes ago", "in 2 days". */
export function ago(iso: string | null, empty = 'never'): Node {
  if (iso === null) return document.createTextNode(empty)
  const seconds = (Date.parse(iso) - Date.now()) / 1000
  const units: [Intl.RelativeTimeFormatUnit, number][] = [['year', 31536000], ['month', 2592000], ['day', 86400], ['hour', 3600], ['minute', 60]]
  const [unit, size] = units.find(([, size]) => Math.abs(seconds) >= size) ?? ['second', 1]
  return h('time', { datetime: iso, title: dateTime.format(new Date(iso)) }, relative.format(Math.round(seconds / size), unit))
}

export function rateText(limit: RateLimit | null): string {
  return limit === null ? 'none of its own' : `${limit.requests} per ${limit.per_seconds} s`
}

/** A list of ids as small tags, or the text for an empty list. */
export function tags(ids: readonly string[], empty: string): Node {
  if (ids.length === 0) return h('span', { class: 'muted' }, empty)
  return h('ul', { class: 'tags' }, ids.map((id) => h('li', null, id)))
}
