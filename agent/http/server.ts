/**
 * The agent's HTTP service (docs/api.md). `buildServer` returns the fastify app without
 * listening: tests use inject(), startAgent() listens.
 */
import swagger from '@fastify/swagger'
import Fastify from 'fastify'
import type { FastifyInstance } from 'fastify'
import type { Agent } from '../agent.js'
import { HTTP_LIMITS } from './http-limits.js'
import { installErrorHandlers } from './error-handlers.js'
import { installValidation } from './validation.js'
import { auditRoutes } from './routes-audit.js'
import { rankRoutes } from './routes-rank.js'
import { selectRoutes } from './routes-select.js'
import { statusRoutes } from './routes-status.js'
import { policyRoutes } from './routes-policy.js'
import { explainRoutes } from './routes-explain.js'

export interface ServerOptions {
  agent: Agent
  /** fastify logger options; false (the default) keeps tests quiet */
  logger?: boolean | object
  /** request body limit, bytes */
  bodyLimitBytes?: number
}

/** The version of the HTTP API the OpenAPI document describes. */
export const API_VERSION = '1.0.0'

export async function buildServer (opts: ServerOptions): Promise<FastifyInstance> {
  const app = Fastify({
    logger: opts.logger ?? false,
    bodyLimit: opts.bodyLimitBytes ?? HTTP_LIMITS.bodyLimitBytes,
  })
  opts.agent.attachLogger(app.log)
  installValidation(app)
  installErrorHandlers(app)
  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'netrank agent',
        version: API_VERSION,
        description: 'Ranks this node\'s CNI networks by measured KPIs and picks one for pods (docs/api.md). ' +
          'Errors are {error:{code, message}}. Traffic KPIs are bits per second; /metrics uses bytes.',
      },
    },
  })
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger())
  await app.register(rankRoutes(opts.agent))
  await app.register(selectRoutes(opts.agent))
  await app.register(auditRoutes(opts.agent))
  await app.register(statusRoutes(opts.agent))
  await app.register(policyRoutes(opts.agent))
  await app.register(explainRoutes(opts.agent))
  return app
}
