// One plugin's criteria: from its fresh KPI readings (a missing or stale one replaced by
// the pessimistic prior), the pod's demand and the phantom load of recent placements, each
// criterion's value (value-functions.ts), its confidence band and how much of it was
// measured. Pure, and about this plugin alone.
import { bps, pct, seconds } from './explain.js'
import { capacityValue, costValue, latencyValue, occupancyValue, probeHealthValue, utilisationValue } from './value-functions.js'
import type { Criterion, Demand, Profile, SelectorOptions } from './types.js'
import type { KpiName, KpiReading } from '../contract/kpis.js'

export type Readings = Partial<Record<KpiName, KpiReading>>

/** A criterion before weighting. */
export interface Evaluated {
  score: number
  band: number
  value: number
  /** 0–1: how much of the criterion's input was measured (fresh) rather than a prior */
  measured: number
  prior?: string
}

export interface PluginEvaluation {
  criteria: Record<Criterion, Evaluated>
  predicted: { rxUtilisation?: number, txUtilisation?: number, headroomBps?: number }
}

/** The KPIs each criterion reads: a criterion no plugin has any reading for is absent for all. */
export const CRITERION_INPUTS: Readonly<Record<Criterion, readonly KpiName[]>> = Object.freeze({
  utilisation: ['capacityBps', 'capacityRxBps', 'capacityTxBps'],
  latency: ['latencySeconds'],
  capacity: ['capacityBps', 'capacityRxBps', 'capacityTxBps'],
  occupancy: ['ipOccupancy'],
  probeHealth: ['probeFailureRatio'],
  cost: ['costPerGiB'],
})

const fresh = (r: KpiReading | undefined): KpiReading | undefined => r !== undefined && !r.stale ? r : undefined

/** Why a reading is not used: 'missing' or 'stale (95 s old)'. */
function absence (r: KpiReading | undefined): string {
  return r === undefined ? 'missing' : `stale (${seconds(r.ageMs)} old)`
}

/**
 * The uncertainty (one σ) of a reading's value: the spread of its samples over √n, or, with
 * one sample, `single` of the value; operator-set values (static, catalog) are exact.
 */
export function uncertainty (r: KpiReading, single: number): number {
  if (r.source === 'static' || r.source === 'catalog') return 0
  const n = Math.max(1, r.samples)
  if (r.spread !== undefined && n >= 2) return 1.4826 * r.spread / Math.sqrt(n)
  return single * Math.abs(r.value) / Math.sqrt(n)
}

/** Half the swing of a monotone value function over x ± δ. */
function bandOf (f: (x: number) => number, x: number, delta: number): number {
  return delta > 0 ? Math.abs(f(x + delta) - f(Math.max(0, x - delta))) / 2 : 0
}

interface Direction { rho: number, rhoLo: number, rhoHi: number, headroom: number }

function direction (use: number, dUse: number, cap: number, dCap: number, extra: number): Direction {
  const ratio = (u: number, c: number): number => c > 0 ? u / c : Infinity
  return {
    rho: ratio(use + extra, cap),
    rhoLo: ratio(Math.max(0, use - dUse) + extra, cap + dCap),
    rhoHi: ratio(use + dUse + extra, cap - dCap),
    headroom: cap - use - extra,
  }
}

function utilisation (r: Readings, o: SelectorOptions, demand: Demand, phantom: Demand): { e: Evaluated, predicted: PluginEvaluation['predicted'] } {
  const one = fresh(r.capacityBps)
  const capRx = fresh(r.capacityRxBps) ?? one
  const capTx = fresh(r.capacityTxBps) ?? one
  const usage = fresh(r.usageBps)
  const rx = fresh(r.rxBps) ?? usage
  const tx = fresh(r.txBps) ?? usage
  const s = o.singleSampleUncertainty
  const capMeasured = capRx !== undefined && capTx !== undefined
  const useMeasured = rx !== undefined && tx !== undefined
  const measured = (capMeasured ? 0.5 : 0) + (useMeasured ? 0.5 : 0)
  // An operator may assume a capacity for unprobed networks (priors.capacityBps > 0); by default none.
  const cRx = capRx ?? (o.priors.capacityBps > 0 ? { value: o.priors.capacityBps, ageMs: 0, samples: 1, stale: false, source: 'static' } : undefined)
  const cTx = capTx ?? cRx
  if (cRx === undefined || cTx === undefined || rx === undefined || tx === undefined) {
    // Unknown traffic could be any amount, no capacity holds any: the worst utilisation (−1), never a guess that helps.
    const priors: string[] = []
    if (!capMeasured) priors.push(`capacity ${absence(r.capacityRxBps ?? r.capacityTxBps ?? r.capacityBps)}: prior ${bps(o.priors.capacityBps)}`)
    if (!useMeasured) priors.push(`traffic (rxBps, txBps) ${absence(r.rxBps ?? r.txBps ?? r.usageBps)}: the worst utilisation`)
    return { e: { score: utilisationValue(Infinity), band: 0, value: Infinity, measured, prior: priors.join('; ') }, predicted: {} }
  }
  const dRx = direction(rx.value, uncertainty(rx, s), cRx.value, uncertainty(cRx, s), phantom.rxBps + demand.rxBps)
  const dTx = direction(tx.value, uncertainty(tx, s), cTx.value, uncertainty(cTx, s), phantom.txBps + demand.txBps)
  const tight = dRx.rho >= dTx.rho ? dRx : dTx
  return {
    e: {
      score: utilisationValue(tight.rho),
      band: Math.abs(utilisationValue(tight.rhoLo) - utilisationValue(tight.rhoHi)) / 2,
      value: tight.rho,
      measured,
      ...(capMeasured ? {} : { prior: `capacity ${absence(r.capacityRxBps ?? r.capacityTxBps ?? r.capacityBps)}: prior ${bps(o.priors.capacityBps)}` }),
    },
    predicted: { rxUtilisation: dRx.rho, txUtilisation: dTx.rho, headroomBps: Math.min(dRx.headroom, dTx.headroom) },
  }
}

/** A criterion of one KPI: its fresh value, or the prior, through the value function. */
function single (r: KpiReading | undefined, kpi: KpiName, prior: number, priorText: () => string, f: (x: number) => number, s: number): Evaluated {
  const f0 = fresh(r)
  if (f0 === undefined) return { score: f(prior), band: 0, value: prior, measured: 0, prior: `${kpi} ${absence(r)}: prior ${priorText()}` }
  return { score: f(f0.value), band: bandOf(f, f0.value, uncertainty(f0, s)), value: f0.value, measured: 1 }
}

/** Every criterion of one plugin (the ranker weighs and drops the absent ones). */
export function evaluate (r: Readings, profile: Profile, o: SelectorOptions, demand: Demand, phantom: Demand): PluginEvaluation {
  const t = profile.targets
  const s = o.singleSampleUncertainty
  const u = utilisation(r, o, demand, phantom)
  const capPrior = o.priors.capacityBps
  // the one-direction capacity (the store derives it from both directions); else either direction
  const capacity = fresh(r.capacityBps) ?? fresh(r.capacityRxBps) ?? fresh(r.capacityTxBps) ?? r.capacityBps
  const costPrior = o.priors.costFactor * t.costPerGiB
  return {
    criteria: {
      utilisation: u.e,
      latency: single(r.latencySeconds, 'latencySeconds', o.priors.latencySeconds, () => seconds(o.priors.latencySeconds * 1000), (x) => latencyValue(x, t.latencySeconds), s),
      capacity: single(capacity, 'capacityBps', capPrior, () => bps(capPrior), (x) => capacityValue(x, t.capacityBps), s),
      occupancy: single(r.ipOccupancy, 'ipOccupancy', o.priors.ipOccupancy, () => pct(o.priors.ipOccupancy), (x) => occupancyValue(x, o.maxOccupancy), s),
      probeHealth: single(r.probeFailureRatio, 'probeFailureRatio', o.priors.probeFailureRatio, () => pct(o.priors.probeFailureRatio), probeHealthValue, s),
      cost: single(r.costPerGiB, 'costPerGiB', costPrior, () => `${+costPrior.toPrecision(3)}/GiB (${o.priors.costFactor}× the reference)`, (x) => costValue(x, t.costPerGiB), s),
    },
    predicted: u.predicted,
  }
}
