// rank(): KPI snapshot + catalog + profile → ordered plugins with their explanation.
// Pure: no I/O, no clock (the snapshot's atMs is "now").
//
//  1. eligibility (a full IP pool excludes a plugin)
//  2. the traffic rule (headroom, or usage for all: traffic.ts)
//  3. per KPI, normalise the fresh values of the eligible plugins (normalise.ts)
//  4. per plugin, the KPIs it has no fresh value for drop out and their weight is
//     redistributed proportionally over the rest: effective weight = w / Σ w(counted)
//  5. score = Σ effective weight × normalised; contributions keep each term
//  6. order: eligible with data by score, then eligible without data, then ineligible;
//     equal keys keep catalog order (Array.prototype.sort is stable)
import { eligibility } from './eligibility.js'
import { num, seconds, trafficReason } from './explain.js'
import { normalise } from './normalise.js'
import { trafficWeights } from './traffic.js'
import { validateRankInput } from './validate.js'
import { KPI_NAMES } from '../contract/kpis.js'
import type { PluginEntry, ProfileWeights, RankedPlugin, RankInput, Ranking } from './types.js'
import type { KpiName, KpiReading } from '../contract/kpis.js'

type Readings = Partial<Record<KpiName, KpiReading>>

interface Entry {
  entry: PluginEntry
  index: number
  readings: Readings
  eligible: boolean
  reasons: string[]
}

/** Ordering group: eligible with data first, then eligible without data, then ineligible. */
const GROUP_SCORED = 0
const GROUP_NO_DATA = 1
const GROUP_INELIGIBLE = 2

/** The snapshot's readings for a plugin; the catalog's costPerGiB stands in when no cost was measured or set. */
function readingsFor (input: RankInput, entry: PluginEntry): Readings {
  const all = input.snapshot.plugins
  const readings: Readings = { ...(Object.hasOwn(all, entry.name) ? all[entry.name] : {}) }
  if (readings.costPerGiB === undefined && entry.costPerGiB !== undefined) {
    readings.costPerGiB = { value: entry.costPerGiB, ageMs: 0, samples: 1, stale: false, source: 'catalog' }
  }
  return readings
}

/** Weights scaled to sum 1, zero weights dropped. */
function shares (weights: ProfileWeights): ProfileWeights {
  const pairs = KPI_NAMES.map(k => [k, weights[k] ?? 0] as const).filter(([, v]) => v > 0)
  const total = pairs.reduce((s, [, v]) => s + v, 0)
  return Object.fromEntries(pairs.map(([k, v]) => [k, v / total]))
}

function explainKpis (readings: Readings): RankedPlugin['kpis'] {
  const out: RankedPlugin['kpis'] = {}
  for (const k of KPI_NAMES) {
    const r = readings[k]
    if (r !== undefined) out[k] = { value: r.value, ageSeconds: r.ageMs / 1000, samples: r.samples, stale: r.stale }
  }
  return out
}

/** Rank the catalog's plugins for one profile. Throws TypeError/RangeError on a malformed input. */
export function rank (input: RankInput): Ranking {
  validateRankInput(input)
  const { snapshot, catalog, profileName, options } = input

  const entries: Entry[] = catalog.map((entry, index) => {
    const readings = readingsFor(input, entry)
    const e = eligibility(readings, options)
    return { entry, index, readings, eligible: e.eligible, reasons: e.reasons }
  })
  const eligible = entries.filter(e => e.eligible)
  const traffic = trafficWeights(shares(input.weights), eligible.map(e => [e.entry.name, e.readings] as const))
  const weights = traffic.weights
  const weighted = KPI_NAMES.filter(k => (weights[k] ?? 0) > 0)

  const normalised = new Map<KpiName, Map<string, number>>()
  for (const kpi of weighted) {
    const values = new Map<string, number>()
    for (const e of eligible) {
      const r = e.readings[kpi]
      if (r !== undefined && !r.stale) values.set(e.entry.name, r.value)
    }
    normalised.set(kpi, normalise(kpi, values))
  }

  const ranked = entries.map(e => {
    const plugin: RankedPlugin = {
      plugin: e.entry.name,
      rank: 0,
      score: 0,
      eligible: e.eligible,
      reasons: [...e.reasons],
      kpis: explainKpis(e.readings),
      contributions: {},
      effectiveWeights: {},
    }
    if (!e.eligible) return { plugin, group: GROUP_INELIGIBLE, index: e.index }

    const counted = weighted.filter(k => normalised.get(k)?.has(e.entry.name) === true)
    if (counted.length === 0) {
      const fresh = KPI_NAMES.filter(k => e.readings[k]?.stale === false)
      plugin.reasons.push(fresh.length === 0
        ? 'no fresh KPI'
        : `no fresh KPI that profile "${profileName}" weighs (fresh: ${fresh.join(', ')})`)
      return { plugin, group: GROUP_NO_DATA, index: e.index }
    }

    const total = counted.reduce((s, k) => s + (weights[k] ?? 0), 0)
    let score = 0
    for (const k of counted) {
      const ew = (weights[k] ?? 0) / total
      const term = ew * (normalised.get(k)?.get(e.entry.name) ?? 0)
      plugin.effectiveWeights[k] = ew
      plugin.contributions[k] = term
      score += term
    }
    plugin.score = score
    for (const k of weighted) {
      if (counted.includes(k)) continue
      const r = e.readings[k]
      const why = r === undefined ? `${k} missing` : `${k} stale (${seconds(r.ageMs)} old)`
      plugin.reasons.push(`${why}: its weight ${num(weights[k] ?? 0)} redistributed`)
    }
    if (traffic.reason !== undefined) plugin.reasons.push(traffic.reason)
    const fresh = (k: KpiName): number | undefined => e.readings[k]?.stale === false ? e.readings[k]?.value : undefined
    const load = trafficReason(fresh('usageBps'), fresh('capacityBps'))
    if (load !== undefined) plugin.reasons.push(load)
    return { plugin, group: GROUP_SCORED, index: e.index }
  })

  ranked.sort((a, b) => a.group - b.group || b.plugin.score - a.plugin.score || a.index - b.index)
  return {
    profile: profileName,
    generatedAtMs: snapshot.atMs,
    plugins: ranked.map((r, i) => ({ ...r.plugin, rank: i + 1 })),
  }
}
