/** GET /v1/explain: why a pod got its networks (agent/explain.ts). */
import type { FastifyInstance } from 'fastify'
import type { Agent } from '../agent.js'
import { explainPod } from '../explain.js'
import { decisionSchema, errorSchema } from './schemas.js'

const DNS_LABEL = '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$'

export function explainRoutes (agent: Agent) {
  return async (app: FastifyInstance): Promise<void> => {
    app.get<{ Querystring: { namespace: string, pod: string } }>('/v1/explain', {
      schema: {
        summary: 'Why a pod got its networks: its attachment records on this node, its audited decisions (scores, demand, reasons at that time), and the ranking now',
        tags: ['audit'],
        querystring: {
          type: 'object',
          required: ['namespace', 'pod'],
          properties: {
            namespace: { type: 'string', pattern: DNS_LABEL, maxLength: 63 },
            pod: { type: 'string', pattern: '^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$', maxLength: 253 },
          },
        },
        response: {
          200: {
            type: 'object',
            required: ['node', 'namespace', 'pod', 'attachments', 'decisions', 'now'],
            properties: {
              node: { type: 'string' },
              namespace: { type: 'string' },
              pod: { type: 'string' },
              attachments: {
                type: 'array',
                items: {
                  type: 'object',
                  required: ['containerId', 'state', 'reason', 'decisionId', 'createdAt', 'interfaces'],
                  properties: {
                    containerId: { type: 'string' }, state: { type: 'string' }, reason: { type: 'string' }, decisionId: { type: 'string' }, createdAt: { type: 'string' },
                    interfaces: { type: 'array', items: { type: 'object', required: ['ifname', 'network', 'ips'], properties: { ifname: { type: 'string' }, network: { type: 'string' }, ips: { type: 'array', items: { type: 'string' } }, nad: { type: 'string' } } } },
                  },
                },
              },
              decisions: { type: 'array', items: decisionSchema, description: 'newest first, at most 10' },
              now: {
                type: 'object',
                required: ['profile', 'plugins'],
                properties: {
                  profile: { type: 'string' },
                  plugins: { type: 'array', items: { type: 'object', required: ['plugin', 'rank', 'score', 'eligible', 'reasons'], properties: { plugin: { type: 'string' }, rank: { type: 'integer' }, score: { type: 'number' }, eligible: { type: 'boolean' }, reasons: { type: 'array', items: { type: 'string' } } } } },
                },
              },
            },
          },
          400: errorSchema,
          404: errorSchema,
        },
      },
    }, async (request) => explainPod(agent, request.query.namespace, request.query.pod))
  }
}
