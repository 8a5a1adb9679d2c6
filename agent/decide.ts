/**
 * One /v1/select decision: rank under the profile, apply hysteresis and burst spreading
 * (the selector), remember the placement, and write the audit line durably before
 * the caller gets the answer.
 */
import { choose } from '../selector/index.js'
import type { Agent } from './agent.js'
import type { DecisionRecord } from '../contract/decision-record.js'
import { profileWeights } from './config/load-config.js'
import { agentError } from './errors.js'
import type { SelectRequest } from '../contract/select-api.js'

// The wire type of POST /v1/select is defined once, beside its client in the shim.

/** Decides, audits (fsync'd) and counts; throws AgentError NR_UNKNOWN_PROFILE, NR_NO_ELIGIBLE_PLUGIN or NR_AUDIT_WRITE_FAILED. */
export async function decide (agent: Agent, req: SelectRequest): Promise<DecisionRecord> {
  const started = process.hrtime.bigint()
  const { config, state } = agent
  const profile = req.profile ?? config.selector.defaultProfile
  const weights = profileWeights(config, profile)
  if (weights === undefined) {
    throw agentError('NR_UNKNOWN_PROFILE', `unknown profile '${profile}'; valid profiles: ${agent.profiles().join(', ')}`)
  }
  const nowMs = agent.now()
  const input = {
    snapshot: agent.snapshot(),
    catalog: config.plugins,
    profileName: profile,
    weights,
    options: agent.selectorOptions,
    recent: state.recent(nowMs),
    previousLeader: state.previousLeader(profile),
  }
  // agent.rank(profile) is the ranking of this same snapshot, shared until the snapshot changes
  const selection = choose(input, agent.rank(profile))
  const plugin = selection.plugin
  if (plugin === undefined) {
    const why = selection.ranking.plugins.map((p) => `${p.plugin}: ${p.reasons.join('; ') || 'ineligible'}`).join(' | ')
    throw agentError('NR_NO_ELIGIBLE_PLUGIN', `no plugin is eligible under profile '${profile}' (${why})`)
  }
  // Remember the placement before the fsync, so concurrent requests already spread around it.
  state.record(profile, selection.leader, { plugin, atMs: nowMs })
  const seq = state.nextSeq()
  const rec: DecisionRecord = {
    seq,
    decisionId: `${config.node}-${seq}`,
    at: new Date(nowMs).toISOString(),
    namespace: req.namespace,
    pod: req.pod,
    podUid: req.podUid ?? null,
    containerId: req.containerId,
    ifname: req.ifname ?? null,
    profile,
    plugin,
    ...(selection.leader !== undefined ? { leader: selection.leader } : {}),
    reason: selection.reason,
    scores: Object.fromEntries(selection.ranking.plugins.map((p) => [p.plugin, p.score])),
    because: selection.because,
  }
  try {
    await agent.audit.append(rec)
  } catch (err) {
    agent.log.error({ err, decisionId: rec.decisionId }, 'audit write failed; the decision is not answered')
    throw agentError('NR_AUDIT_WRITE_FAILED', `the decision could not be written to the audit log: ${(err as Error).message}`)
  }
  agent.metrics.selections.inc({ node: config.node, plugin, reason: rec.reason })
  agent.metrics.selectDuration.observe(Number(process.hrtime.bigint() - started) / 1e9)
  return rec
}
