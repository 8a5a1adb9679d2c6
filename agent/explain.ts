/**
 * `GET /v1/explain?namespace=&pod=` and `netrank explain pod NS/NAME`: why a pod got its
 * networks — the shim's attachment records of it on this node (reason, decision id,
 * network and address per interface), the audited decisions for it (each with every
 * plugin's score, the demand and the selector's reasons at that time), and how the same
 * profile and demand rank now.
 */
import { readAttachmentRecords } from '../contract/attachment-record.js'
import { resultIps } from '../collectors/attachment-records-source.js'
import type { DecisionRecord } from '../contract/decision-record.js'
import type { Agent } from './agent.js'
import { agentError } from './errors.js'

export interface PodExplanation {
  node: string
  namespace: string
  pod: string
  attachments: Array<{
    containerId: string
    state: string
    reason: string
    decisionId: string
    createdAt: string
    interfaces: Array<{ ifname: string, network: string, ips: string[], nad?: string }>
  }>
  /** newest first, at most 10 */
  decisions: DecisionRecord[]
  /** the ranking now under the newest decision's profile and demand (or the default profile) */
  now: { profile: string, plugins: Array<{ plugin: string, rank: number, score: number, eligible: boolean, reasons: string[] }> }
}

export function explainPod (agent: Agent, namespace: string, pod: string): PodExplanation {
  const records = readAttachmentRecords(agent.config.cni.stateDir).records.filter((r) => r.pod?.namespace === namespace && r.pod.name === pod)
  const decisions = agent.audit.records().filter((d) => d.namespace === namespace && d.pod === pod).slice(-10).reverse()
  if (records.length === 0 && decisions.length === 0) {
    throw agentError('NR_POD_UNKNOWN', `no attachment record and no audited decision for ${namespace}/${pod} on node ${agent.config.node} (is it on this node? was it networked by netrank?)`)
  }
  const latest = decisions[0]
  const profile = latest?.profile ?? agent.config.selector.defaultProfile
  const demand = latest?.demand
  let ranking
  try {
    ranking = agent.rank(profile, demand)
  } catch {
    ranking = agent.rank(agent.config.selector.defaultProfile)
  }
  return {
    node: agent.config.node,
    namespace,
    pod,
    attachments: records.map((r) => ({
      containerId: r.containerId,
      state: r.state,
      reason: r.reason,
      decisionId: r.decisionId,
      createdAt: r.createdAt,
      interfaces: r.attachments.map((a) => ({ ifname: a.ifname, network: a.network, ips: resultIps(a.result), ...(a.nad === undefined ? {} : { nad: a.nad }) })),
    })),
    decisions,
    now: { profile: ranking.profile, plugins: ranking.plugins.map((p) => ({ plugin: p.plugin, rank: p.rank, score: p.score, eligible: p.eligible, reasons: p.reasons })) },
  }
}
