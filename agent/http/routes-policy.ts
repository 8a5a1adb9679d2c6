/** GET /v1/policy: the network policy engine's view — networks, matrices, policies, rules (docs/isolation.md). */
import type { FastifyInstance } from 'fastify'
import type { Agent } from '../agent.js'
import { agentError } from '../errors.js'
import { errorSchema } from './schemas.js'

const names = { type: 'array', items: { type: 'string' } } as const

export function policyRoutes (agent: Agent) {
  return async (app: FastifyInstance): Promise<void> => {
    app.get('/v1/policy', {
      schema: {
        summary: 'Logical networks, the allowed matrix per namespace, the genieNetworkpolicy entries in force and the nftables rules',
        tags: ['policy'],
        response: {
          200: {
            type: 'object',
            required: ['enabled', 'generation', 'networks', 'namespaces', 'policies', 'rules'],
            properties: {
              enabled: { type: 'boolean' },
              generation: { type: 'integer', description: 'how many times the rules were replaced since the agent started' },
              appliedAt: { type: 'string', format: 'date-time' },
              lastError: { type: 'string' },
              networks: {
                type: 'array',
                items: { type: 'object', required: ['namespace', 'name', 'valid', 'reason'], properties: { namespace: { type: 'string' }, name: { type: 'string' }, valid: { type: 'boolean' }, reason: { type: 'string' }, subnet: { type: 'string' }, plugin: { type: 'string' } } },
              },
              namespaces: {
                type: 'array',
                items: {
                  type: 'object',
                  required: ['namespace', 'networks', 'allowed', 'confined'],
                  properties: {
                    namespace: { type: 'string' },
                    networks: names,
                    allowed: { type: 'array', items: { type: 'array', items: { type: 'boolean' } }, description: 'allowed[i][j]: networks[i] and networks[j] may communicate' },
                    confined: { type: 'object', additionalProperties: names, description: 'each network a policy names → its peers' },
                  },
                },
              },
              policies: {
                type: 'array',
                items: {
                  type: 'object',
                  required: ['namespace', 'name', 'entries', 'inForce'],
                  properties: {
                    namespace: { type: 'string' },
                    name: { type: 'string' },
                    entries: { type: 'array', items: { type: 'object', required: ['networkSelector', 'peerNetworks'], properties: { networkSelector: { type: 'string' }, peerNetworks: names } } },
                    error: { type: 'string', description: 'why the annotation does not parse' },
                    inForce: { type: 'string', enum: ['current', 'previous', 'none'] },
                  },
                },
              },
              rules: {
                type: 'object',
                required: ['table', 'denied', 'droppedPackets'],
                properties: {
                  table: { type: 'string' },
                  denied: { type: 'integer', description: 'ordered pairs of networks dropped' },
                  rulesetSha256: { type: 'string' },
                  droppedPackets: { type: 'object', additionalProperties: { type: 'integer' }, description: 'rule (from -> to) → packets dropped' },
                },
              },
            },
          },
          404: errorSchema,
        },
      },
    }, async () => {
      if (agent.policy === undefined) throw agentError('NR_POLICY_DISABLED', 'the network policy engine does not run on this agent: set policy.enabled (and kubernetes) in its config')
      return await agent.policy.state()
    })
  }
}
