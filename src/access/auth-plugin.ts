/**
 * The `access` macro: a route declares what it needs (`access: 'manage-keys'` or a mode) and
 * gets `principal` (who calls) and `actor` (for the audit log). Authentication and the
 * route-level decision both happen here, through `authenticate` and `authorize`.
 */
import { Elysia } from 'elysia'
import type { Actor, Core } from '../core'
import { authenticate } from './authenticate'
import type { Mode } from './modes'
import { authorize } from './policy'

export type RouteAccess = 'manage-keys' | Mode

export function authPlugin(core: Core) {
  return new Elysia({ name: 'auth' }).macro({
    access: (need: RouteAccess) => ({
      resolve({ request, server }) {
        const principal = authenticate(core, request.headers.get('authorization'))
        authorize(principal, need === 'manage-keys' ? { mode: 'all', on: 'keys' } : { mode: need, on: 'any' })
        const actor: Actor = {
          userId: principal.userId,
          keyId: principal.keyId,
          ip: server?.requestIP(request)?.address ?? null,
          userAgent: request.headers.get('user-agent'),
        }
        return { principal, actor }
      },
    }),
  })
}
