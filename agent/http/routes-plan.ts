/**
 * The shim's fast path, served on the agent's root-only unix socket only (agent/http/socket-server.ts):
 * POST /v1/plan answers an ADD's whole question, POST /v1/pod-status takes its status
 * annotations to patch in the background (contract/plan-api.ts, docs/cni-shim.md#two-paths).
 */
import type { FastifyInstance } from 'fastify'
import type { Agent } from '../agent.js'
import { agentError } from '../errors.js'
import { planFor } from '../plan.js'
import type { PlanRequest, PodStatusRequest } from '../../contract/plan-api.js'
import { errorSchema, planBodySchema, planResponseSchema, podStatusBodySchema, podStatusResponseSchema } from './schemas.js'

export function planRoutes (agent: Agent) {
  return async (app: FastifyInstance): Promise<void> => {
    app.post<{ Body: PlanRequest }>('/v1/plan', {
      schema: {
        summary: 'Everything an ADD needs: the pod, the NADs it names, the smart selection (agent socket only)',
        tags: ['shim'],
        body: planBodySchema,
        response: { 200: planResponseSchema, 400: errorSchema, 413: errorSchema, 500: errorSchema, 503: errorSchema },
      },
    }, async (request) => {
      const kube = agent.planKube
      if (kube === undefined) throw agentError('NR_NO_KUBERNETES')
      try {
        const answer = await planFor(agent, kube, request.body)
        agent.metrics.planRequests.inc({ node: agent.config.node, pod_source: answer.podSource, result: 'ok' })
        return answer
      } catch (err) {
        agent.metrics.planRequests.inc({ node: agent.config.node, pod_source: 'api', result: 'error' })
        throw err
      }
    })

    app.post<{ Body: PodStatusRequest }>('/v1/pod-status', {
      schema: {
        summary: 'Status annotations of an ADD, patched onto the pod in the background with its uid as precondition (agent socket only)',
        tags: ['shim'],
        body: podStatusBodySchema,
        response: { 202: podStatusResponseSchema, 400: errorSchema, 413: errorSchema, 503: errorSchema },
      },
    }, async (request, reply) => {
      const queue = agent.podStatus
      if (queue === undefined) throw agentError('NR_NO_KUBERNETES')
      if (!queue.enqueue(request.body)) throw agentError('NR_QUEUE_FULL', `${queue.size} pod status patches are waiting; patch it yourself`)
      return await reply.code(202).send({ queued: true })
    })
  }
}
