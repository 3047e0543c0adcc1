/**
 * The operator console (SPEC §12): sign in with a key, then screens chosen by the location's
 * hash (`#/keys`, `#/keys/new`, `#/keys/12`, `#/orgs`, `#/orgs/<id>`, `#/apps`, `#/audit`), so
 * every URL stays relative. Everything it shows comes from the public API, called with the key.
 */
import { api, type ApiKey } from './api'
import { capabilities, type Context } from './context'
import { errorBox, fill, h } from './dom'
import { appsScreen } from './screens/apps'
import { auditScreen } from './screens/audit'
import { createKeyScreen } from './screens/create-key'
import { keyDetailScreen } from './screens/key-detail'
import { keysScreen } from './screens/keys'
import { orgScreen, orgsScreen } from './screens/orgs'
import { signInScreen } from './screens/sign-in'
import { currentKey, forget } from './session'

type Screen = (ctx: Context, ...match: string[]) => Promise<void> | void

/** Each screen, and what the key needs for it: without, the keys screen (for a key below `all`, its own key). */
const ROUTES: [RegExp, Screen, keyof Context['can'] | null][] = [
  [/^\/keys\/new$/, createKeyScreen, 'manageKeys'],
  [/^\/keys\/(\d+)$/, keyDetailScreen, 'manageKeys'],
  [/^\/keys$/, keysScreen, null],
  [/^\/orgs\/([^/]+)$/, orgScreen, null],
  [/^\/orgs$/, orgsScreen, null],
  [/^\/apps$/, appsScreen, null],
  [/^\/audit$/, auditScreen, null],
]

const main = document.getElementById('main')!
const nav = document.getElementById('nav')!
const who = document.getElementById('who')!
let me: ApiKey | null = null

function showNav(ctx: Context, path: string): void {
  const links: [string, string, boolean][] = [
    ['#/keys', ctx.can.manageKeys ? 'Keys' : 'Your key', true],
    ['#/orgs', 'Organizations', ctx.can.readOrgs],
    ['#/apps', 'Apps', true],
    ['#/audit', 'Audit log', ctx.can.readAudit],
  ]
  fill(nav, h('ul', null, links.filter(([, , shown]) => shown).map(([href, label]) =>
    h('li', null, h('a', { href, 'aria-current': path.startsWith(href.slice(1)) ? 'page' : null }, label)),
  )))
  nav.hidden = false
  fill(who,
    h('span', null, 'Signed in with ', h('strong', null, ctx.me.name), ` (${ctx.me.mode}${ctx.me.limited_to_apps.length + ctx.me.limited_to_orgs.length > 0 ? ', limited' : ''})`),
    h('button', { type: 'button', class: 'small', onclick: () => signOut('Signed out: the console forgot the key.') }, 'Sign out'),
  )
  who.hidden = false
}

async function route(): Promise<void> {
  if (me === null) return
  const [path = '', search = ''] = location.hash.replace(/^#/, '').split('?')
  const can = capabilities(me)
  const found = ROUTES.map(([pattern, screen, needs]) => [pattern.exec(path), screen, needs] as const).find(([match]) => match !== null)
  if (!found || (found[2] !== null && !can[found[2]])) {
    location.replace('#/keys')
    return
  }
  const ctx: Context = { me, can, main, params: new URLSearchParams(search) }
  showNav(ctx, path)
  try {
    await found[1](ctx, ...found[0]!.slice(1))
  } catch (error) {
    main.append(errorBox(error))
  }
}

function signedIn(key: ApiKey): void {
  me = key
  if (location.hash === '' || location.hash === '#') location.replace('#/keys')
  void route()
}

function signOut(message: string): void {
  forget()
  me = null
  nav.hidden = true
  who.hidden = true
  fill(nav)
  fill(who)
  history.replaceState(null, '', location.pathname + location.search)
  signInScreen(main, signedIn, h('p', { class: 'notice', role: 'status' }, message))
}

window.addEventListener('hashchange', () => void route())
// The skip link moves the focus without touching the hash, which names the screen.
document.querySelector('.skip')?.addEventListener('click', (event) => {
  event.preventDefault()
  ;(main.querySelector('h1') ?? main).focus()
})
document.addEventListener('console:signout', (event) => signOut((event as CustomEvent<string>).detail))

async function start(): Promise<void> {
  const key = currentKey()
  if (key === null) return signInScreen(main, signedIn)
  try {
    signedIn((await api<{ apikey: ApiKey }>('GET', 'apikey/verify')).apikey)
  } catch (error) {
    forget()
    signInScreen(main, signedIn, errorBox(error))
  }
}

void start()
