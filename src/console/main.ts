/**
 * The operator console (SPEC §12): sign in with a key, then screens chosen by the location's
 * hash (`#/keys`, `#/keys/new`, `#/keys/12`, `#/orgs`, `#/orgs/<id>`, `#/apps`, `#/audit`), so
 * every URL stays relative. Everything it shows comes from the public API, called with the key.
 */
import { api, type ApiKey } from './api'
import { capabilities, type Context } from './context'
import { errorBox, fill, h } from './dom'
import { screen } from './screen'
import { appsScreen } from './screens/apps'
import { auditScreen } from './screens/audit'
import { createKeyScreen } from './screens/create-key'
import { keyDetailScreen } from './screens/key-detail'
import { keysScreen } from './screens/keys'
import { orgScreen, orgsScreen } from './screens/orgs'
import { signInScreen } from './screens/sign-in'
import { currentKey, forget } from './session'

/** A screen, given the parts of the path its pattern captures, percent-decoded. */
type Screen = (ctx: Context, ...parts: string[]) => Promise<void> | void

/** What a screen needs that not every key has: the capability, and an API call that answers with the refusal. */
interface Needs {
  can: keyof Context['can']
  /** A read the API refuses to a key without the capability, with the same words as the screen's own calls. */
  probe: string
  /** What it takes, in words. */
  takes: string
}

const KEYS: Needs = { can: 'manageKeys', probe: 'apikey/?limit=1', takes: 'Creating, opening and changing keys takes an all key.' }
const AUDIT: Needs = { can: 'readAudit', probe: 'audit/?limit=1', takes: 'The audit log takes an all key without limits.' }

/** Each screen, and what the key needs for it. */
const ROUTES: [RegExp, Screen, Needs | null][] = [
  [/^\/keys\/new$/, createKeyScreen, KEYS],
  [/^\/keys\/(\d+)$/, keyDetailScreen, KEYS],
  [/^\/keys$/, keysScreen, null],
  [/^\/orgs\/([^/]+)$/, orgScreen, null],
  [/^\/orgs$/, orgsScreen, null],
  [/^\/apps$/, appsScreen, null],
  [/^\/audit$/, auditScreen, AUDIT],
]

const main = document.getElementById('main')!
const nav = document.getElementById('nav')!
const who = document.getElementById('who')!
let me: ApiKey | null = null

const limited = (key: ApiKey) => key.limited_to_apps.length + key.limited_to_orgs.length > 0

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
    h('span', null, 'Signed in with ', h('strong', null, ctx.me.name), ` (${ctx.me.mode}${limited(ctx.me) ? ', limited' : ''})`),
    h('button', { type: 'button', class: 'small', onclick: () => signOut('Signed out: the console forgot the key.') }, 'Sign out'),
  )
  who.hidden = false
}

/** Bumped by every route: a screen still loading when another one opens leaves it alone. */
let generation = 0

async function route(): Promise<void> {
  if (me === null) return
  const current = ++generation
  let [path = '', search = ''] = location.hash.replace(/^#/, '').split('?')
  // No screen in the address: the keys, set without a hashchange, so that they are drawn once.
  if (path === '' || path === '/') {
    history.replaceState(null, '', '#/keys')
    path = '/keys'
  }
  const can = capabilities(me)
  const ctx: Context = { me, can, main, params: new URLSearchParams(search) }
  const found = ROUTES.map(([pattern, screen, needs]) => [pattern.exec(path), screen, needs] as const).find(([match]) => match !== null)
  const parts = found ? decoded(found[0]!.slice(1)) : null
  showNav(ctx, parts ? path : '')
  try {
    if (!found || !parts) return notFoundScreen(ctx, path)
    const [, screen, needs] = found
    // Reached by URL without what it takes: the API's refusal in words, not a screen it would refuse piece by piece.
    if (needs !== null && !can[needs.can]) {
      const refused = await refusal(needs)
      if (current !== generation) return
      if (refused !== null) return refusedScreen(ctx, needs, refused)
    }
    await screen(ctx, ...parts)
  } catch (error) {
    if (current === generation) main.append(errorBox(error))
  }
}

/** The parts of the path a route matched, percent-decoded; null when one is malformed (`%E0%A4%A`). */
function decoded(parts: string[]): string[] | null {
  try {
    return parts.map(decodeURIComponent)
  } catch {
    return null
  }
}

/** The API's answer to the probe of `needs`: its refusal, or null when it allows it after all. */
async function refusal(needs: Needs): Promise<unknown> {
  try {
    await api('GET', needs.probe)
    return null
  } catch (error) {
    return error
  }
}

const backLink = (ctx: Context) => h('p', null, h('a', { href: '#/keys' }, ctx.can.manageKeys ? '← Keys' : '← Your key'))

function refusedScreen(ctx: Context, needs: Needs, refused: unknown): void {
  screen(ctx.main, 'Not available with this key',
    h('p', null, `${needs.takes} This key has mode ${ctx.me.mode}${limited(ctx.me) ? ' and limits' : ''}. The API answers:`),
    errorBox(refused),
    backLink(ctx),
  )
}

function notFoundScreen(ctx: Context, path: string): void {
  screen(ctx.main, 'Not found',
    h('p', null, 'The console has no screen at ', h('code', null, `#${path}`), '. The address may be mistyped, or an id in it cut short.'),
    backLink(ctx),
  )
}

function signedIn(key: ApiKey): void {
  me = key
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
