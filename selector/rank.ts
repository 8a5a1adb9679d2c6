// rank(): KPI snapshot + catalog + profile + the pod's demand → ordered plugins, each with
// its explanation. Pure: no I/O, no clock (the snapshot's atMs is "now").
//
//  1. eligibility (a full IP pool excludes a plugin)
//  2. the profile's criteria that no plugin has any data for are absent for everyone
//     (said once, in the ranking's notes); the others keep their weights, shared out to 1
//  3. per plugin, each criterion through its absolute value function (criteria.ts): a
//     missing or stale input takes the pessimistic prior — there is no redistribution, so
//     losing a measurement can only lower a score
//  4. score = Σ weight × criterion score; band = Σ weight × criterion band; coverage =
//     Σ weight × measured share. A score depends on this plugin alone: adding or removing
//     another plugin never reorders the rest
//  5. order: eligible by score (catalog order on equal scores), then ineligible
import { eligibility } from './eligibility.js'
import { evaluate, CRITERION_INPUTS } from './criteria.js'
import type { Readings } from './criteria.js'
import { bps, num, pct } from './explain.js'
import { phantomLoad } from './phantom-load.js'
import { validateRankInput } from './validate.js'
import { CRITERIA } from './types.js'
import type { Criterion, CriterionScore, Demand, PluginEntry, RankedPlugin, RankInput, Ranking } from './types.js'
import { KPI_NAMES } from '../contract/kpis.js'

const NO_LOAD: Demand = Object.freeze({ rxBps: 0, txBps: 0 })

/** The snapshot's readings for a plugin; the catalog's costPerGiB stands in when no cost was measured or set. */
function readingsFor (input: RankInput, entry: PluginEntry): Readings {
  const all = input.snapshot.plugins
  const readings: Readings = { ...(Object.hasOwn(all, entry.name) ? all[entry.name] : {}) }
  if (readings.costPerGiB === undefined && entry.costPerGiB !== undefined) {
    readings.costPerGiB = { value: entry.costPerGiB, ageMs: 0, samples: 1, stale: false, source: 'catalog' }
  }
  return readings
}

function explainKpis (readings: Readings): RankedPlugin['kpis'] {
  const out: RankedPlugin['kpis'] = {}
  for (const k of KPI_NAMES) {
    const r = readings[k]
    if (r !== undefined) out[k] = { value: r.value, ageSeconds: r.ageMs / 1000, samples: r.samples, stale: r.stale }
  }
  return out
}

/** The criteria the profile weighs that some plugin has data for, their weights shared out to 1; and the absent ones. */
function activeWeights (input: RankInput, all: readonly Readings[]): { weights: Map<Criterion, number>, absent: Criterion[] } {
  const weighed = CRITERIA.filter(c => (input.profile.weights[c] ?? 0) > 0)
  const hasData = (c: Criterion): boolean => all.some(r => CRITERION_INPUTS[c].some(k => r[k] !== undefined))
  const active = weighed.filter(hasData)
  const total = active.reduce((s, c) => s + (input.profile.weights[c] ?? 0), 0)
  return {
    weights: new Map(active.map(c => [c, (input.profile.weights[c] ?? 0) / total])),
    absent: weighed.filter(c => !active.includes(c)),
  }
}

const ABSENT_WHY: Readonly<Record<Criterion, string>> = Object.freeze({
  utilisation: 'no network\'s capacity is measured (probes off or not yet run)',
  latency: 'no network\'s RTT is measured',
  capacity: 'no network\'s capacity is measured (probes off or not yet run)',
  occupancy: 'no network\'s IP pool is read (ipam collector off)',
  probeHealth: 'no network is probed',
  cost: 'no network has a cost (catalog costPerGiB or a static KPI)',
})

function trafficReason (p: RankedPlugin, demand: Demand, phantom: Demand | undefined, placements: number): string | undefined {
  const { rxUtilisation: rx, txUtilisation: tx, headroomBps: h } = p.predicted
  if (rx === undefined || tx === undefined) return undefined
  const pod = demand.rxBps === demand.txBps ? bps(demand.rxBps) : `rx ${bps(demand.rxBps)} / tx ${bps(demand.txBps)}`
  const ph = phantom !== undefined && placements > 0 ? `, phantom ${bps(Math.max(phantom.rxBps, phantom.txBps))} of ${placements} recent placement${placements === 1 ? '' : 's'}` : ''
  return `predicted utilisation rx ${pct(rx)} / tx ${pct(tx)} with this pod's ${pod}${ph}` +
    (h !== undefined ? `: headroom ${bps(h)}` : '')
}

/** Rank the catalog's plugins for one profile and demand. Throws TypeError/RangeError on a malformed input. */
export function rank (input: RankInput): Ranking {
  validateRankInput(input)
  const { snapshot, catalog, profile, options } = input
  const demand = input.demand ?? { ...profile.demand, source: 'profile' }
  const { load: phantom, placements } = phantomLoad(input.recent, snapshot.atMs, options.spreadWindowMs)

  const all = catalog.map(entry => readingsFor(input, entry))
  const { weights, absent } = activeWeights(input, all)

  const ranked = catalog.map((entry, index) => {
    const readings = all[index] as Readings
    const e = eligibility(readings, options)
    const ev = evaluate(readings, profile, options, demand, phantom.get(entry.name) ?? NO_LOAD)
    const criteria: RankedPlugin['criteria'] = {}
    let score = 0
    let band = 0
    let coverage = 0
    const reasons = [...e.reasons]
    for (const [c, w] of weights) {
      const x = ev.criteria[c]
      const cs: CriterionScore = { score: x.score, weight: w, band: x.band }
      if (Number.isFinite(x.value)) cs.value = x.value
      if (x.prior !== undefined) cs.prior = x.prior
      criteria[c] = cs
      score += w * x.score
      band += w * x.band
      coverage += w * x.measured
      // an ineligible plugin's one reason is its pool; its priors stay in `criteria`
      if (x.prior !== undefined && e.eligible) reasons.push(`${c}: ${x.prior}`)
    }
    const plugin: RankedPlugin = {
      plugin: entry.name,
      rank: 0,
      score: e.eligible ? score : 0,
      band: e.eligible ? band : 0,
      coverage,
      eligible: e.eligible,
      predicted: ev.predicted,
      reasons,
      kpis: explainKpis(readings),
      criteria,
    }
    const traffic = e.eligible ? trafficReason(plugin, demand, phantom.get(entry.name), placements.get(entry.name) ?? 0) : undefined
    if (traffic !== undefined) plugin.reasons.push(traffic)
    if (e.eligible && weights.size > 0) plugin.reasons.push(`score ${num(score)} ± ${num(band)}, coverage ${pct(coverage)}`)
    return { plugin, index }
  })

  ranked.sort((a, b) => Number(b.plugin.eligible) - Number(a.plugin.eligible) || b.plugin.score - a.plugin.score || a.index - b.index)
  const notes = absent.map(c => `${c} left out of profile "${input.profileName}" for every network: ${ABSENT_WHY[c]}`)
  if (weights.size === 0) notes.push(`profile "${input.profileName}" has nothing to score: every network is at the same (empty) score`)
  return {
    profile: input.profileName,
    generatedAtMs: snapshot.atMs,
    demand: { rxBps: demand.rxBps, txBps: demand.txBps, source: demand.source },
    absent,
    notes,
    plugins: ranked.map((r, i) => { r.plugin.rank = i + 1; return r.plugin }),
  }
}
