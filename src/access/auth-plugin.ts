/**
 * The `access` macro: a route declares what it needs (`access: 'manage-keys'` or a mode) and
 * gets `principal` (who calls) and `actor` (for the audit log). Getting in goes through the
 * Gate; the route-level decision through `authorize`.
 */
import { Elysia } from 'elysia'
import type { Actor } from '../core'
import type { Admission, Gate } from './gate'
import type { Mode } from './modes'
import { authorize } from './policy'

export type RouteAccess = 'manage-keys' | Mode

/** Built once per app and shared by every module, so all routes share the gate's buckets. */
export function authPlugin(gate: Gate) {
  const admitted = new WeakMap<Request, Admission & { ip: () => string | null }>()
  return new Elysia({ name: 'auth' }).macro({
    access: (need: RouteAccess) => ({
      // The key is checked in `transform`, which runs before validation: a request without a
      // valid key gets its 401 (or 429) whatever its fields. (A body that cannot be parsed at
      // all, or is too large, is refused earlier, by the JSON parser.) Arrow functions
      // throughout, because Elysia's source analysis misreads minified methods (and would drop
      // `server`).
      transform: (ctx) => {
        // The client address, found only if something needs it, and then once.
        let address: string | null | undefined
        const ip = () => (address === undefined ? (address = ctx.server?.requestIP(ctx.request)?.address ?? null) : address)
        const admission = gate.admit(ctx.request.headers.get('authorization'), ip)
        Object.assign(ctx.set.headers, admission.headers)
        admitted.set(ctx.request, { ...admission, ip })
      },
      resolve: (ctx) => {
        const { principal, ip } = admitted.get(ctx.request)!
        authorize(principal, need === 'manage-keys' ? { mode: 'all', on: 'keys' } : { mode: need, on: 'any' })
        const actor: Actor = {
          userId: principal.userId,
          keyId: principal.keyId,
          get ip() {
            return ip()
          },
          userAgent: ctx.request.headers.get('user-agent'),
        }
        return { principal, actor }
      },
    }),
  })
}

export type AuthPlugin = ReturnType<typeof authPlugin>
