// Per-KPI normalisation across the plugins being compared, to 0–1 where 1 is best.
//
// Scale-aware, not min-max: min-max maps the worst plugin to 0 and the best to 1
// whatever the gap, so a 0.1% difference in latency would look like the whole range
// and tieBand (which says "these are equally good") could never apply. Dividing by
// the maximum keeps a small difference small:
//   higher is better (capacityBps, headroomBps, ipCapacity): max(0, v) / max
//   lower is better (the rest):                              1 − (v − min) / max   (1 when max is 0)
// so 100 vs 100.1 µs scores 1 vs 0.999, and 1 vs 2 ms scores 1 vs 0.5.
import type { KpiName } from './types.js'

export type Direction = 'higher' | 'lower'

/** Which way is better for each KPI. */
export const KPI_DIRECTION: Readonly<Record<KpiName, Direction>> = Object.freeze({
  rxBps: 'lower', // traffic already on the network
  txBps: 'lower',
  usageBps: 'lower',
  capacityBps: 'higher',
  headroomBps: 'higher',
  latencySeconds: 'lower',
  ipUsed: 'lower',
  ipCapacity: 'higher',
  ipOccupancy: 'lower',
  costPerGiB: 'lower',
  probeFailureRatio: 'lower',
})

/**
 * Normalise one KPI's values (plugin → value) to 0–1, 1 best, in the KPI's direction.
 * A single value scores 1: with nothing to compare against, the KPI does not discriminate.
 * When every value of a higher-is-better KPI is ≤ 0 (all networks oversubscribed), all score 0.
 */
export function normalise (kpi: KpiName, values: ReadonlyMap<string, number>): Map<string, number> {
  const out = new Map<string, number>()
  if (values.size === 0) return out
  if (values.size === 1) {
    for (const k of values.keys()) out.set(k, 1)
    return out
  }
  const all = [...values.values()]
  const max = Math.max(...all)
  if (KPI_DIRECTION[kpi] === 'higher') {
    for (const [k, v] of values) out.set(k, max > 0 ? Math.max(0, v) / max : 0)
  } else {
    const min = Math.min(...all)
    // Clamped: these KPIs are ≥ 0 when they come from the store, but a hand-made snapshot may not be.
    for (const [k, v] of values) out.set(k, max <= 0 ? 1 : Math.min(1, Math.max(0, 1 - (v - min) / max)))
  }
  return out
}
