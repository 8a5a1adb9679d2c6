/** GET /rank and GET /v1/rank: the ranking with its explanation. */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { Ranking } from '../../selector/types.js'
import type { Agent } from '../agent.js'
import { errorSchema, profileQuerySchema, rankResponseSchema } from './schemas.js'

/** The wire form of a ranking (docs/api.md). */
export function rankView (node: string, r: Ranking): object {
  return {
    node,
    profile: r.profile,
    generatedAt: new Date(r.generatedAtMs).toISOString(),
    plugins: r.plugins,
  }
}

export function rankRoutes (agent: Agent) {
  return async (app: FastifyInstance): Promise<void> => {
    // The serialised answer per profile, reused while the agent's KPI view is unchanged
    // (no new samples, within the 0.25 s reuse period): dashboards poll /rank.
    const bodies = new Map<string, { key: string, body: ReturnType<FastifyReply['serialize']> }>()
    const handler = async (request: FastifyRequest<{ Querystring: { profile?: string } }>, reply: FastifyReply): Promise<FastifyReply> => {
      const profile = request.query.profile ?? agent.config.selector.defaultProfile
      const key = agent.viewKey()
      let body = bodies.get(profile)?.key === key ? bodies.get(profile)?.body : undefined
      if (body === undefined) {
        // unknown profiles throw here and are never cached
        body = reply.serialize(rankView(agent.config.node, agent.rank(profile)))
        bodies.set(profile, { key, body })
      }
      return reply.type('application/json; charset=utf-8').send(body)
    }
    const schema = (summary: string) => ({
      summary,
      tags: ['ranking'],
      querystring: profileQuerySchema,
      response: { 200: rankResponseSchema, 400: errorSchema },
    })
    app.get<{ Querystring: { profile?: string } }>('/rank', { schema: schema('The ranking under a profile (the default profile when none given)') }, handler)
    app.get<{ Querystring: { profile?: string } }>('/v1/rank', { schema: schema('The ranking under a profile, versioned path') }, handler)
  }
}
