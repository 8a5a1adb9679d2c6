/** GET /v1/kpis, /healthz, /readyz and /metrics: what the agent knows and how it is. */
import type { FastifyInstance } from 'fastify'
import type { Agent } from '../agent.js'
import { agentError } from '../errors.js'
import { errorSchema } from './schemas.js'

export function statusRoutes (agent: Agent) {
  const startedMs = Date.now()
  return async (app: FastifyInstance): Promise<void> => {
    app.get('/v1/kpis', {
      schema: {
        summary: 'The KPI snapshot per plugin, with age and staleness',
        tags: ['kpis'],
        response: {
          200: {
            type: 'object',
            required: ['node', 'generatedAt', 'plugins', 'rejectedTotal'],
            properties: {
              node: { type: 'string' },
              generatedAt: { type: 'string', format: 'date-time' },
              rejectedTotal: { type: 'integer', description: 'samples rejected at ingestion since start (NaN, negative, absurd)' },
              plugins: {
                type: 'object',
                description: 'plugin → KPI name → reading',
                additionalProperties: {
                  type: 'object',
                  additionalProperties: {
                    type: 'object',
                    required: ['value', 'ageSeconds', 'samples', 'stale', 'source'],
                    properties: {
                      value: { type: 'number' },
                      ageSeconds: { type: 'number' },
                      samples: { type: 'integer' },
                      stale: { type: 'boolean' },
                      source: { type: 'string' },
                      spread: { type: 'number', description: 'median absolute deviation of the samples' },
                    },
                  },
                },
              },
            },
          },
        },
      },
    }, async () => {
      const snap = agent.store.snapshot(agent.now())
      const plugins: Record<string, Record<string, object>> = {}
      for (const [plugin, kpis] of Object.entries(snap.plugins)) {
        const out: Record<string, object> = {}
        for (const [kpi, r] of Object.entries(kpis)) {
          if (r === undefined) continue
          out[kpi] = {
            value: r.value,
            ageSeconds: r.ageMs / 1000,
            samples: r.samples,
            stale: r.stale,
            source: r.source,
            ...(r.spread !== undefined ? { spread: r.spread } : {}),
          }
        }
        plugins[plugin] = out
      }
      return { node: agent.config.node, generatedAt: new Date(snap.atMs).toISOString(), rejectedTotal: agent.store.rejectedTotal, plugins }
    })

    app.get('/healthz', {
      schema: {
        summary: 'The process is up',
        tags: ['health'],
        response: { 200: { type: 'object', required: ['status', 'uptimeSeconds'], properties: { status: { type: 'string' }, uptimeSeconds: { type: 'number' } } } },
      },
    }, async () => ({ status: 'ok', uptimeSeconds: (Date.now() - startedMs) / 1000 }))

    app.get('/readyz', {
      schema: {
        summary: 'Ready once every collector ran once and the audit is open',
        tags: ['health'],
        response: { 200: { type: 'object', required: ['status'], properties: { status: { type: 'string' } } }, 503: errorSchema },
      },
    }, async () => {
      const r = agent.readiness()
      if (!r.ready) throw agentError('NR_NOT_READY', `not ready: ${r.waiting.join('; ')}`)
      return { status: 'ready' }
    })

    app.get('/metrics', {
      schema: {
        summary: 'Prometheus metrics (text exposition format)',
        tags: ['metrics'],
        produces: ['text/plain'],
        response: { 200: { type: 'string', description: 'Prometheus text format 0.0.4' } },
      },
    }, async (_request, reply) => {
      const body = await agent.metrics.registry.metrics()
      return reply.type(agent.metrics.registry.contentType).send(body)
    })
  }
}
