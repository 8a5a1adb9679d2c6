/** POST /v1/select: the shim's smart selection. Loopback callers, or the bearer token. */
import { timingSafeEqual } from 'node:crypto'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import type { Agent } from '../agent.js'
import { decide } from '../decide.js'
import type { SelectRequest } from '../../contract/select-api.js'
import { agentError } from '../errors.js'
import { errorSchema, selectBodySchema, selectResponseSchema } from './schemas.js'

/** 127.0.0.0/8, ::1 and IPv4-mapped 127.x. */
export function isLoopback (address: string | undefined): boolean {
  if (address === undefined) return false
  return address === '::1' || /^127\.\d+\.\d+\.\d+$/.test(address) || /^::ffff:127\.\d+\.\d+\.\d+$/i.test(address)
}

function tokenMatches (header: string | undefined, token: string): boolean {
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '')
  if (m === null) return false
  const given = Buffer.from(m[1] ?? '')
  const want = Buffer.from(token)
  return given.length === want.length && timingSafeEqual(given, want)
}

export function selectRoutes (agent: Agent) {
  return async (app: FastifyInstance): Promise<void> => {
    const authorise = async (request: FastifyRequest): Promise<void> => {
      if (isLoopback(request.socket.remoteAddress)) return
      const token = agent.config.auth.selectToken
      if (token !== undefined && tokenMatches(request.headers.authorization, token)) return
      throw agentError('NR_FORBIDDEN', token === undefined
        ? `/v1/select answers loopback callers only (caller ${request.socket.remoteAddress ?? 'unknown'}); set auth.selectToken to allow others`
        : '/v1/select needs `Authorization: Bearer <auth.selectToken>` from non-loopback callers')
    }
    app.post<{ Body: SelectRequest, Querystring: { dryRun: boolean } }>('/v1/select', {
      onRequest: authorise,
      schema: {
        summary: 'Choose the network for a pod (smart selection); audited before the answer',
        tags: ['selection'],
        body: selectBodySchema,
        querystring: { type: 'object', properties: { dryRun: { type: 'boolean', default: false, description: 'choose as now, remember nothing: no placement, no audit, no metric (decisionId <node>-dry-run)' } } },
        response: { 200: selectResponseSchema, 400: errorSchema, 403: errorSchema, 413: errorSchema, 500: errorSchema, 503: errorSchema },
      },
    }, async (request) => {
      const rec = await decide(agent, request.body, { dryRun: request.query.dryRun })
      return { plugins: [rec.plugin], reason: rec.reason, decisionId: rec.decisionId, profile: rec.profile }
    })
  }
}
