/**
 * The `access` macro: a route declares what it needs (`access: 'manage-keys'`, `'revoke-key'`
 * or a mode) and gets `principal` (who calls) and `actor` (for the audit log). Getting in goes
 * through the Gate; the route-level decision through `authorize`.
 */
import { Elysia } from 'elysia'
import type { Actor } from '../core'
import type { Gate } from './gate'
import type { Mode } from './modes'
import { authorize, type Need } from './policy'
import type { CachedKey } from '../read-model/cached-key'
import type { Principal } from './principal'

/**
 * What a route needs: key management (an `all` key), a mode, or `revoke-key` (deleting a key,
 * which any valid key may do to itself: the service asks the access model per target key).
 */
export type RouteAccess = 'manage-keys' | 'revoke-key' | Mode

/** What a route's `access` asks of every request before the route looks at its target. */
function routeNeed(access: RouteAccess): Need {
  if (access === 'manage-keys') return { mode: 'all', on: 'keys' }
  if (access === 'revoke-key') return { mode: 'read', on: 'any' }
  return { mode: access, on: 'any' }
}

/** The client's address, when the request came over a socket (null in `app.handle` tests). */
export type ClientAddress = (request: Request) => string | null

/** The client's address, looked up at most once per request, and only when asked for. */
class ClientIp {
  private address: string | null | undefined
  constructor(
    private readonly request: Request,
    private readonly find: ClientAddress,
  ) {}

  readonly get = (): string | null => {
    if (this.address === undefined) this.address = this.find(this.request)
    return this.address
  }
}

/** Who did it, for the audit log. */
class RequestActor implements Actor {
  readonly userId: string
  readonly keyId: number

  constructor(
    principal: Principal,
    private readonly request: Request,
    private readonly clientIp: ClientIp,
  ) {
    this.userId = principal.userId
    this.keyId = principal.keyId
  }

  get ip(): string | null {
    return this.clientIp.get()
  }

  get userAgent(): string | null {
    return this.request.headers.get('user-agent')
  }
}

interface Admitted {
  principal: CachedKey
  actor: RequestActor
}

/** Where `transform` leaves the admission for `resolve`: on the request's context itself. */
const ADMITTED = Symbol('admitted')
type WithAdmission = { [ADMITTED]?: Admitted }

/**
 * The id of the key a request got in with, left on the context for the request log, which
 * needs it also when the route then refused the key (a 403 from `authorize`, before `resolve`
 * hands out the principal). A plain property: Elysia's source analysis reads a hook that
 * passes its whole context to a function as needing everything, the body too, and makes
 * every route async (test/compiled-routes.test.ts).
 */
export interface AdmittedKey {
  admittedKeyId?: number
}

/**
 * Built once per app and shared by every module, so all routes share the gate's buckets.
 *
 * Elysia reads a hook's source text to guess whether it is async (a `return f(` or `=> f(`
 * counts) and then awaits it on every request. The hooks below return no calls, so they
 * compile to synchronous code; test/compiled-routes.test.ts keeps them so. Arrow functions,
 * because Elysia's source analysis misreads the method form.
 */
export function authPlugin(gate: Gate, clientAddress: ClientAddress) {
  return new Elysia({ name: 'auth' }).macro({
    access: (access: RouteAccess) => {
      const need = routeNeed(access)
      return {
        // The key is checked in `transform`, which runs before validation: a request without a
        // valid key gets its 401 (or 429) whatever its fields. (A body that cannot be parsed at
        // all, or is too large, is refused earlier, by the JSON parser.)
        transform: (ctx) => {
          const clientIp = new ClientIp(ctx.request, clientAddress)
          const admission = gate.admit(ctx.request.headers.get('authorization'), clientIp.get)
          if (admission.headers !== null) Object.assign(ctx.set.headers, admission.headers)
          ;(ctx as WithAdmission)[ADMITTED] = { principal: admission.principal, actor: new RequestActor(admission.principal, ctx.request, clientIp) }
          ;(ctx as AdmittedKey).admittedKeyId = admission.principal.keyId
        },
        resolve: (ctx) => {
          const { principal, actor } = (ctx as WithAdmission)[ADMITTED]!
          authorize(principal, need)
          return { principal, actor: actor as Actor }
        },
      }
    },
  })
}

export type AuthPlugin = ReturnType<typeof authPlugin>
