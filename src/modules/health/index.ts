/** GET /health: liveness and database check, for load balancers and Docker's HEALTHCHECK. */
import { Elysia, t } from 'elysia'
import type { Core } from '../../core'
import { responses } from '../../http/schemas'

const health = (description: string, status: 'ok' | 'error') =>
  t.Object(
    {
      status: t.Union([t.Literal('ok'), t.Literal('error')]),
      version: t.String({ description: 'The server\'s version.' }),
      db: t.Union([t.Literal('ok'), t.Literal('error')], { description: 'Whether the database answers.' }),
    },
    { description, examples: [{ status, version: '0.1.0', db: status }] },
  )

export function healthModule(core: Core, version: string) {
  return new Elysia().get(
    '/health',
    async ({ set }) => {
      try {
        await core.store.ping()
        return { status: 'ok' as const, version, db: 'ok' as const }
      } catch {
        set.status = 503
        return { status: 'error' as const, version, db: 'error' as const }
      }
    },
    {
      response: responses({ 200: health('The server and its database work.', 'ok'), 503: health('The database is unusable.', 'error') }),
      // `security: []`: no key, overriding the document's default.
      detail: { tags: ['Operations'], operationId: 'getHealth', summary: 'Health check', description: 'No authentication. 503 when the database is unusable.', security: [] },
    },
  )
}
