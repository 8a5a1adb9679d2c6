/**
 * One /v1/select decision: resolve the pod's demand, rank under the profile with the
 * phantom load of recent placements, choose (hysteresis, exploration, the near-best drawn
 * with this node's seed), remember the placement, and write the audit line (to the OS; its
 * fdatasync follows within 100 ms, agent/audit-log.ts) before the caller gets the answer.
 */
import { createHash } from 'node:crypto'
import { choose } from '../selector/index.js'
import type { Agent } from './agent.js'
import type { DecisionRecord } from '../contract/decision-record.js'
import { resolveDemand } from './demand.js'
import { agentError } from './errors.js'
import type { SelectRequest } from '../contract/select-api.js'

/** A per-node, per-decision seed: nodes draw differently, and a decision can be replayed. */
export function decisionSeed (node: string, seq: number): number {
  return createHash('sha256').update(`${node}\0${seq}`).digest().readUInt32BE(0)
}

/**
 * Decides, audits (fsync'd) and counts; throws AgentError NR_UNKNOWN_PROFILE, NR_NO_ELIGIBLE_PLUGIN or NR_AUDIT_WRITE_FAILED.
 * `dryRun`: the same choice on the same state, with nothing remembered — no placement (no
 * phantom load, no hysteresis step, no exploration count), no audit line, no metric; the
 * record's seq is 0 and its decisionId `<node>-dry-run`.
 */
export async function decide (agent: Agent, req: SelectRequest, opts: { dryRun?: boolean } = {}): Promise<DecisionRecord> {
  const started = process.hrtime.bigint()
  const { config, state } = agent
  const profileName = req.profile ?? config.selector.defaultProfile
  const profile = agent.profile(profileName)
  const { demand, note } = resolveDemand(req.expectedBandwidth, profile)
  const snapshot = agent.snapshot()
  const input = {
    snapshot,
    catalog: config.plugins,
    profileName,
    profile,
    options: agent.selectorOptions,
    demand,
    recent: state.recent(snapshot.atMs),
    previous: state.leaderState(profileName),
    sinceExplore: state.sinceExplore(),
    seed: decisionSeed(config.node, state.peekSeq()),
  }
  // agent.rank() is the ranking of this same snapshot, demand and placements, shared until one changes
  const selection = choose(input, agent.rank(profileName, demand))
  const plugin = selection.plugin
  if (plugin === undefined) {
    const why = selection.ranking.plugins.map((p) => `${p.plugin}: ${p.reasons.join('; ') || 'ineligible'}`).join(' | ')
    throw agentError('NR_NO_ELIGIBLE_PLUGIN', `no plugin is eligible under profile '${profileName}' (${why})`)
  }
  const nowMs = agent.now()
  const dry = opts.dryRun === true
  // Remember the placement before the audit write, so concurrent requests already see its phantom load.
  if (!dry) state.record(profileName, selection.leaderState, { plugin, atMs: nowMs, rxBps: demand.rxBps, txBps: demand.txBps }, selection.explored)
  const seq = dry ? 0 : state.nextSeq()
  const rec: DecisionRecord = {
    seq,
    decisionId: dry ? `${config.node}-dry-run` : `${config.node}-${seq}`,
    at: new Date(nowMs).toISOString(),
    namespace: req.namespace,
    pod: req.pod,
    podUid: req.podUid ?? null,
    containerId: req.containerId,
    ifname: req.ifname ?? null,
    profile: profileName,
    plugin,
    ...(selection.leader !== undefined ? { leader: selection.leader } : {}),
    reason: selection.reason,
    demand,
    scores: Object.fromEntries(selection.ranking.plugins.map((p) => [p.plugin, p.score])),
    because: note !== undefined ? [note, ...selection.because] : selection.because,
  }
  if (dry) return rec
  try {
    await agent.audit.append(rec)
  } catch (err) {
    agent.log.error({ err, decisionId: rec.decisionId }, 'audit write failed; the decision is not answered')
    throw agentError('NR_AUDIT_WRITE_FAILED', `the decision could not be written to the audit log: ${(err as Error).message}`)
  }
  agent.metrics.selections.inc({ node: config.node, plugin, reason: rec.reason, profile: agent.metrics.profileLabel(profileName) })
  agent.metrics.selectDuration.observe(Number(process.hrtime.bigint() - started) / 1e9)
  return rec
}
