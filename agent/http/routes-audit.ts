/** GET /v1/decisions (pages through the audit) and GET /v1/report (aggregates it). */
import type { FastifyInstance } from 'fastify'
import type { Agent } from '../agent.js'
import { HTTP_LIMITS } from './http-limits.js'
import { decisionSchema, errorSchema } from './schemas.js'
import { aggregate, parseWindow } from '../report.js'

export function auditRoutes (agent: Agent) {
  return async (app: FastifyInstance): Promise<void> => {
    app.get<{ Querystring: { since: number, limit: number } }>('/v1/decisions', {
      schema: {
        summary: 'Audited decisions after a cursor, oldest first (newest last)',
        tags: ['audit'],
        querystring: {
          type: 'object',
          properties: {
            since: { type: 'integer', minimum: 0, default: 0, description: 'return decisions with seq > since (use `next` of the previous page)' },
            limit: { type: 'integer', minimum: 1, maximum: HTTP_LIMITS.decisionsPageMax, default: HTTP_LIMITS.decisionsPageLimit },
          },
        },
        response: {
          200: {
            type: 'object',
            required: ['decisions', 'next', 'more'],
            properties: {
              decisions: { type: 'array', items: decisionSchema },
              next: { type: 'integer', description: 'the cursor for the next page (seq of the last decision returned, or since when none)' },
              more: { type: 'boolean', description: 'more decisions follow this page' },
            },
          },
          400: errorSchema,
        },
      },
    }, async (request) => {
      const { since, limit } = request.query
      const page = agent.audit.page(since, limit)
      return { decisions: page.decisions, next: page.decisions.at(-1)?.seq ?? since, more: page.more }
    })

    app.get<{ Querystring: { window: string } }>('/v1/report', {
      schema: {
        summary: 'Decisions over a recent window: share per plugin, count per reason and profile',
        tags: ['audit'],
        querystring: {
          type: 'object',
          properties: {
            window: { type: 'string', default: '1h', description: 'a duration: 30s, 15m, 1h, 7d (at most 30d)' },
          },
        },
        response: {
          200: {
            type: 'object',
            required: ['node', 'window', 'from', 'to', 'total', 'plugins', 'reasons', 'profiles'],
            properties: {
              node: { type: 'string' },
              window: { type: 'string' },
              from: { type: 'string', format: 'date-time' },
              to: { type: 'string', format: 'date-time' },
              total: { type: 'integer' },
              plugins: {
                type: 'array',
                items: {
                  type: 'object',
                  required: ['plugin', 'count', 'share'],
                  properties: { plugin: { type: 'string' }, count: { type: 'integer' }, share: { type: 'number', description: '0–1' } },
                },
              },
              reasons: { type: 'object', additionalProperties: { type: 'integer' } },
              profiles: { type: 'object', additionalProperties: { type: 'integer' } },
            },
          },
          400: errorSchema,
        },
      },
    }, async (request) => {
      const windowMs = parseWindow(request.query.window)
      const to = agent.now()
      const from = to - windowMs
      const decisions = agent.audit.since(from)
      return { node: agent.config.node, ...aggregate(decisions, agent.config.plugins.map((p) => p.name), request.query.window, from, to) }
    })
  }
}
