/**
 * Builds the HTTP application from its dependencies. Never listens: `serve` does that, and
 * tests call `app.handle(request)` directly.
 */
import { Elysia } from 'elysia'
import { authPlugin } from './access/auth-plugin'
import { DEFAULT_AUTH_FAILURE_LIMIT, Gate, type GateLimits } from './access/gate'
import type { Core } from './core'
import { receivedRequest, withAbsoluteUrl } from './http/absolute-url'
import { clientAddressOf, type TrustedProxies } from './http/client-address'
import { consolePlugin } from './http/console'
import { Metrics, metricsRoute, type MetricsBackground } from './http/metrics'
import { errorHandler } from './http/errors'
import type { Logger } from './http/logger'
import { openapiPlugin } from './http/openapi'
import { respond, type Activity } from './http/respond'
import { apikeyModule } from './modules/apikey'
import { appModule } from './modules/app'
import { auditModule } from './modules/audit'
import { healthModule } from './modules/health'
import { organizationModule } from './modules/organization'

export interface AppDeps extends Core {
  log: Logger
  version: string
  /** The failed-authentication throttle; by default 100 failures a minute per address. */
  limits?: Partial<GateLimits>
  /** Serve GET /metrics (Prometheus); off by default. */
  metrics?: boolean
  /** True once the server is shutting down: answers then close their connection. */
  draining?: () => boolean
  /** Counts the answered requests (serve uses it to tell when the server is idle). */
  activity?: Activity
  /** Proxies believed about the client they forward for (X-Forwarded-For); none by default. */
  trustedProxies?: TrustedProxies | null
  /** The background Worker (serve's; src/store/sqlite/background.ts), for /metrics. */
  background?: MetricsBackground | null
}

export function createApp(deps: AppDeps) {
  const gate = new Gate(deps, { authFailureLimit: DEFAULT_AUTH_FAILURE_LIMIT, ...deps.limits })
  const metrics = deps.metrics ? new Metrics() : null
  // normalize: false — unknown fields are rejected (400), never silently dropped.
  // standardHostname: false — the path starts at the first `/` after `http://`, wherever the
  // Host header ends (src/http/absolute-url.ts).
  const app = new Elysia({ normalize: false, handler: { standardHostname: false } }).wrap(withAbsoluteUrl)
  // The server exists once `serve` has called listen(); `app.handle` in tests has none.
  const trusted = deps.trustedProxies ?? null
  const auth = authPlugin(
    gate,
    (request) => clientAddressOf(app.server?.requestIP(receivedRequest(request))?.address ?? null, () => request.headers.get('x-forwarded-for'), trusted),
    { waits: deps.store.backend !== 'sqlite' },
  )
  return app
    .use(respond({ log: deps.log, metrics, draining: deps.draining, activity: deps.activity, keyUsage: deps.usage.counts }))
    .use(errorHandler(deps.log, metrics))
    .use(openapiPlugin(deps.version))
    .use(consolePlugin())
    .use(healthModule(deps, deps.version))
    .use(metrics ? metricsRoute(metrics, deps.store.apikeys, () => deps.readModel.stats(), deps.background ?? null) : new Elysia())
    .use(apikeyModule(deps, auth))
    .use(organizationModule(deps, auth))
    .use(appModule(deps, auth))
    .use(auditModule(deps, auth))
}

export type App = ReturnType<typeof createApp>
