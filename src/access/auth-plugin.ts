/**
 * The `access` macro: a route declares what it needs (`access: 'manage-keys'`, `'revoke-key'`
 * or a mode) and gets `principal` (who calls) and `actor` (for the audit log). Getting in goes
 * through the Gate; the route-level decision through `authorize`.
 */
import { Elysia } from 'elysia'
import type { Actor } from '../core'
import { readJsonBody, refuseDeclaredOversize } from '../http/body'
import type { Gate } from './gate'
import type { Mode } from './modes'
import { authorize, type Need } from './policy'
import type { CachedKey } from '../read-model/cached-key'
import type { Principal } from './principal'
import { then } from '../store/awaitable'
import type { Awaitable } from '../store/types'

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
 * Two macros: `access` (every route) and `jsonBody: true` (every route that takes a body).
 * The key is checked before anything else is looked at (SPEC §5): on a route without a body in
 * `transform`, which runs before validation; on a route with one in its `parse` hook, which
 * runs before `transform` and before a byte of the body is read. Either way the request is
 * admitted once (one rate-limit token, one last use): `transform` finds the admission `parse`
 * left.
 *
 * Elysia reads a hook's source text to guess whether it is async (a `return f(` or `=> f(`
 * counts) and then awaits it on every request. The `access` hooks return no calls, so they
 * compile to synchronous code; test/compiled-routes.test.ts keeps them so. Arrow functions,
 * because Elysia's source analysis misreads the method form.
 */
export function authPlugin(gate: Gate, clientAddress: ClientAddress, { waits }: { waits: boolean }) {
  /** Lets the request in through the gate (or throws its 401 or 429); its headers go to `set`. */
  const admit = (request: Request, set: { headers: Record<string, unknown> }): Awaitable<Admitted> => {
    const clientIp = new ClientIp(request, clientAddress)
    return then(gate.admit(request.headers.get('authorization'), clientIp.get), (admission) => {
      if (admission.headers !== null) Object.assign(set.headers, admission.headers)
      return { principal: admission.principal, actor: new RequestActor(admission.principal, request, clientIp) }
    })
  }

  return new Elysia({ name: 'auth' }).macro({
    access: (access: RouteAccess) => {
      const need = routeNeed(access)
      return {
        // Written out, not a call taking `ctx` (which would make every route async, see AdmittedKey).
        // The gate answers at once unless the store waits (PostgreSQL): then the hook awaits it.
        transform: waits
          ? async (ctx) => {
              if ((ctx as WithAdmission)[ADMITTED] !== undefined) return
              const admitted = await admit(ctx.request, ctx.set)
              ;(ctx as WithAdmission)[ADMITTED] = admitted
              ;(ctx as AdmittedKey).admittedKeyId = admitted.principal.keyId
            }
          : (ctx) => {
              if ((ctx as WithAdmission)[ADMITTED] !== undefined) return
              const admitted = admit(ctx.request, ctx.set)
              // Fails closed should a store that was to answer at once ever wait.
              if (admitted instanceof Promise) throw new Error('admission waited on a store that answers at once')
              ;(ctx as WithAdmission)[ADMITTED] = admitted
              ;(ctx as AdmittedKey).admittedKeyId = admitted.principal.keyId
            },
        resolve: (ctx) => {
          const { principal, actor } = (ctx as WithAdmission)[ADMITTED]!
          authorize(principal, need)
          return { principal, actor: actor as Actor }
        },
      }
    },
    /**
     * The body is JSON of at most 64 KiB (src/http/body.ts), read only once the key is in: a
     * client without a valid key gets its 401 whatever the body, and is never read. A body
     * that declares itself too large is refused (413) before that, unread, whoever sends it.
     * The content type beside the parser names the body's type in the OpenAPI document (ours
     * always answers, so Elysia's own JSON parser never runs).
     */
    jsonBody: (_: true) => ({
      parse: [
        async (ctx) => {
          refuseDeclaredOversize(ctx.request)
          const admitted = await admit(ctx.request, ctx.set)
          ;(ctx as WithAdmission)[ADMITTED] = admitted
          ;(ctx as AdmittedKey).admittedKeyId = admitted.principal.keyId
          return await readJsonBody(ctx.request)
        },
        // Elysia takes content types among the parsers; its macro type does not say so.
        'application/json' as never,
      ],
    }),
  })
}

export type AuthPlugin = ReturnType<typeof authPlugin>
