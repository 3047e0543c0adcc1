/**
 * Builds the HTTP application from its dependencies. Never listens: `serve` does that, and
 * tests call `app.handle(request)` directly.
 */
import { Elysia } from 'elysia'
import type { Core } from './core'
import { jsonBody } from './http/body'
import { errorHandler } from './http/errors'
import type { Logger } from './http/logger'
import { openapiPlugin } from './http/openapi'
import { requestLog } from './http/request-log'
import { apikeyModule } from './modules/apikey'
import { appModule } from './modules/app'
import { healthModule } from './modules/health'
import { organizationModule } from './modules/organization'

export interface AppDeps extends Core {
  log: Logger
  version: string
}

export function createApp(deps: AppDeps) {
  // normalize: false — unknown fields are rejected (400), never silently dropped.
  return new Elysia({ normalize: false })
    .use(errorHandler(deps.log))
    .use(requestLog(deps.log))
    .use(jsonBody)
    .use(openapiPlugin(deps.version))
    .use(healthModule(deps, deps.version))
    .use(apikeyModule(deps))
    .use(organizationModule(deps))
    .use(appModule(deps))
}

export type App = ReturnType<typeof createApp>
