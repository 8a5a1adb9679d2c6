// select(): rank, then pick one plugin for one pod. Pure; the snapshot's atMs is "now".
//
// Hysteresis: the leader only changes when the new top beats the previous leader by
// more than hysteresisMargin, so two networks with near-equal scores do not make the
// leader flap with every probe's noise.
// Burst spreading: plugins scoring within tieBand of the leader are equally good; among
// them the one with the fewest placements in the last spreadWindowMs gets the pod, so
// a burst of pods spreads over them instead of all landing on the leader before the
// KPIs can show the load (ties: the leader, then catalog order).
import { num } from './explain.js'
import { rank } from './rank.js'
import { validateSelectInput } from './validate.js'
import type { RankedPlugin, Ranking, SelectInput, Selection } from './types.js'

// Scores are sums of floats: compare margins with a little slack.
const EPSILON = 1e-9

const hasData = (p: RankedPlugin): boolean => p.eligible && Object.keys(p.effectiveWeights).length > 0

/** Choose a plugin for one pod. Throws TypeError/RangeError on a malformed input. */
export function select (input: SelectInput): Selection {
  validateSelectInput(input)
  return choose(input, rank(input))
}

/**
 * The choice alone, on a ranking already computed from the same input (`rank(input)`):
 * the agent ranks once per KPI snapshot and profile and reuses that ranking for every
 * /v1/select until the snapshot changes, so a burst of pods does not re-rank per pod.
 */
export function choose (input: SelectInput, ranking: Ranking): Selection {
  validateSelectInput(input)
  const { options } = input
  const nowMs = input.snapshot.atMs
  const because: string[] = []

  const eligible = ranking.plugins.filter(p => p.eligible)
  if (eligible.length === 0) {
    because.push(ranking.plugins.length === 0 ? 'the catalog is empty' : 'no plugin is eligible: every IP pool is full')
    return { plugin: undefined, reason: 'no-eligible-plugin', leader: undefined, because, ranking }
  }
  const scored = eligible.filter(hasData)
  if (scored.length === 0) {
    const first = eligible[0] as RankedPlugin
    because.push(`no plugin has a fresh KPI: ${first.plugin}, the first eligible in catalog order`)
    return { plugin: first.plugin, reason: 'no-fresh-kpi', leader: first.plugin, because, ranking }
  }

  const top = scored[0] as RankedPlugin
  let leader = top
  const prev = input.previousLeader === undefined ? undefined : ranking.plugins.find(p => p.plugin === input.previousLeader)
  if (prev !== undefined && prev !== top) {
    const lead = top.score - prev.score
    if (hasData(prev) && lead <= options.hysteresisMargin + EPSILON) {
      leader = prev
      because.push(`${prev.plugin} stays leader: ${top.plugin} is ahead by only ${num(lead)} (≤ hysteresisMargin ${num(options.hysteresisMargin)})`)
    } else if (hasData(prev)) {
      because.push(`leader changes from ${prev.plugin} to ${top.plugin}: ahead by ${num(lead)} (> hysteresisMargin ${num(options.hysteresisMargin)})`)
    } else {
      because.push(`leader changes from ${prev.plugin} to ${top.plugin}: ${prev.plugin} is ${prev.eligible ? 'without fresh KPIs' : 'ineligible'}`)
    }
  } else if (input.previousLeader !== undefined && prev === undefined) {
    because.push(`previous leader ${input.previousLeader} is no longer in the catalog`)
  }

  const floor = leader.score - options.tieBand - EPSILON
  const candidates = scored.filter(p => p.score >= floor)
  if (candidates.length === 1) {
    because.push(`${leader.plugin} leads with score ${num(leader.score)}; no other plugin within tieBand ${num(options.tieBand)}`)
    return { plugin: leader.plugin, reason: 'smart', leader: leader.plugin, because, ranking }
  }

  const since = nowMs - options.spreadWindowMs
  const counts = new Map<string, number>(candidates.map(p => [p.plugin, 0]))
  for (const placement of input.recent) {
    const n = counts.get(placement.plugin)
    if (n !== undefined && placement.atMs > since) counts.set(placement.plugin, n + 1)
  }
  const catalogIndex = new Map(input.catalog.map((e, i) => [e.name, i]))
  const order = (p: RankedPlugin): number => p === leader ? -1 : catalogIndex.get(p.plugin) ?? Infinity
  const chosen = [...candidates].sort((a, b) =>
    (counts.get(a.plugin) ?? 0) - (counts.get(b.plugin) ?? 0) || order(a) - order(b))[0] as RankedPlugin
  const tally = candidates.map(p => `${p.plugin} ${counts.get(p.plugin) ?? 0}`).join(', ')
  because.push(`spreading over ${candidates.map(p => p.plugin).join(', ')} (within tieBand ${num(options.tieBand)} of leader ${leader.plugin}); ` +
    `placements in the last ${num(options.spreadWindowMs / 1000)} s: ${tally} → ${chosen.plugin}`)
  return { plugin: chosen.plugin, reason: 'smart', leader: leader.plugin, because, ranking }
}
