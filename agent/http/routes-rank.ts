/** GET /rank and GET /v1/rank: the ranking with its explanation, for a profile and a pod demand. */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { parseExpectedBandwidth } from '../../contract/bandwidth.js'
import type { Ranking } from '../../selector/types.js'
import type { Agent } from '../agent.js'
import { agentError } from '../errors.js'
import { errorSchema, profileQuerySchema, rankResponseSchema } from './schemas.js'

/** Networks with measured KPIs that are not in the catalog: CNI-Genie logical networks (docs/isolation.md), NAD networks by their own name. */
export type UnrankedNetwork = { network: string, kpis: Record<string, { value: number, ageSeconds: number, stale: boolean, source: string }> }

/** The store's KPIs of every network the ranking does not rank (shown, never chosen). */
export function unrankedNetworks (agent: Pick<Agent, 'store' | 'now' | 'config'>): UnrankedNetwork[] {
  const catalog = new Set(agent.config.plugins.map((p) => p.name))
  const out: UnrankedNetwork[] = []
  for (const [network, kpis] of Object.entries(agent.store.snapshot(agent.now()).plugins)) {
    if (catalog.has(network)) continue
    const k: UnrankedNetwork['kpis'] = {}
    for (const [kpi, r] of Object.entries(kpis)) if (r !== undefined) k[kpi] = { value: r.value, ageSeconds: r.ageMs / 1000, stale: r.stale, source: r.source }
    out.push({ network, kpis: k })
  }
  return out.sort((a, b) => a.network.localeCompare(b.network))
}

/** The wire form of a ranking (docs/api.md). */
export function rankView (node: string, r: Ranking, unranked: UnrankedNetwork[] = []): object {
  return {
    node,
    profile: r.profile,
    generatedAt: new Date(r.generatedAtMs).toISOString(),
    demand: r.demand,
    absent: r.absent,
    notes: r.notes,
    plugins: r.plugins,
    unranked,
  }
}

type RankQuery = { Querystring: { profile?: string, expectedBandwidth?: string } }

export function rankRoutes (agent: Agent) {
  return async (app: FastifyInstance): Promise<void> => {
    // The serialised answer per (profile, demand), reused while the agent's KPI view and its
    // recent placements are unchanged (no new samples, within the 0.25 s reuse period): dashboards poll /rank.
    const bodies = new Map<string, { key: string, body: ReturnType<FastifyReply['serialize']> }>()
    const handler = async (request: FastifyRequest<RankQuery>, reply: FastifyReply): Promise<FastifyReply> => {
      const profile = request.query.profile ?? agent.config.selector.defaultProfile
      const raw = request.query.expectedBandwidth
      let demand: { rxBps: number, txBps: number, source: string } | undefined
      if (raw !== undefined) {
        const d = parseExpectedBandwidth(raw)
        if (!d.ok) throw agentError('NR_BAD_EXPECTED_BANDWIDTH', `expectedBandwidth ${JSON.stringify(raw)}: ${d.why}`)
        demand = { rxBps: d.rxBps, txBps: d.txBps, source: 'query' }
      }
      const id = `${profile}\0${raw ?? ''}`
      const key = `${agent.viewKey()}:${agent.state.version()}`
      let body = bodies.get(id)?.key === key ? bodies.get(id)?.body : undefined
      if (body === undefined) {
        // unknown profiles throw here and are never cached
        body = reply.serialize(rankView(agent.config.node, agent.rank(profile, demand), unrankedNetworks(agent)))
        if (bodies.size >= 64) bodies.clear()
        bodies.set(id, { key, body })
      }
      return reply.type('application/json; charset=utf-8').send(body)
    }
    const schema = (summary: string) => ({
      summary,
      tags: ['ranking'],
      querystring: profileQuerySchema,
      response: { 200: rankResponseSchema, 400: errorSchema },
    })
    app.get<RankQuery>('/rank', { schema: schema('The ranking under a profile (the default profile when none given), for a pod of the given demand') }, handler)
    app.get<RankQuery>('/v1/rank', { schema: schema('The ranking under a profile, versioned path') }, handler)
  }
}
