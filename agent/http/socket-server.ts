/**
 * The agent's unix socket: the shim's fast path (routes-plan.ts) and /healthz, reachable by
 * root only — the socket's directory is created 0700, the socket is made 0600 (umask while
 * it is bound, so it is never reachable by others, not even for a moment). A socket left by
 * a killed agent is removed first; anything else at that path is refused.
 */
import { lstatSync, mkdirSync, unlinkSync } from 'node:fs'
import { dirname } from 'node:path'
import Fastify from 'fastify'
import type { FastifyInstance } from 'fastify'
import type { Agent } from '../agent.js'
import { HTTP_LIMITS } from './http-limits.js'
import { installErrorHandlers } from './error-handlers.js'
import { installValidation } from './validation.js'
import { planRoutes } from './routes-plan.js'

/** The socket's fastify app, not listening (tests inject into it). */
export async function buildSocketServer (agent: Agent, logger: boolean | object = false): Promise<FastifyInstance> {
  const app = Fastify({ logger, bodyLimit: HTTP_LIMITS.socketBodyLimitBytes })
  installValidation(app)
  installErrorHandlers(app)
  app.get('/healthz', { schema: { hide: true } }, async () => ({ status: 'ok' }))
  await app.register(planRoutes(agent))
  return app
}

/** Listens on `path`: mode 0600 in a 0700 directory. */
export async function listenOnSocket (app: FastifyInstance, path: string): Promise<void> {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 })
  let existing
  try {
    existing = lstatSync(path)
  } catch {
    existing = undefined
  }
  if (existing !== undefined) {
    if (!existing.isSocket()) throw new Error(`listen.socket ${path} exists and is not a socket; refusing to replace it`)
    // a socket left behind by an agent that was killed: nobody listens on it any more
    unlinkSync(path)
  }
  const umask = process.umask(0o177)
  try {
    await app.listen({ path })
  } finally {
    process.umask(umask)
  }
}
