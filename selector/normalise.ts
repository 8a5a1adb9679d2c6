// Per-KPI normalisation across the plugins being compared, to 0–1 where 1 is best.
//
// Scale-aware, not min-max: min-max maps the worst plugin to 0 and the best to 1
// whatever the gap, so a 0.1% difference in latency would look like the whole range
// and tieBand (which says "these are equally good") could never apply. Dividing by
// the maximum keeps a small difference small:
//   higher is better (capacityBps, headroomBps, ipCapacity): max(0, v) / max
//   lower is better (the rest):                              1 − (v − min) / (max + r)   (r below)
// so 100 vs 100.1 µs scores 1 vs 0.999, and 1 vs 2 ms scores 1 vs 0.5.
//
// Lower-is-better KPIs also have a resolution r: 1 − (v − min) / (max + r). Near zero,
// dividing by the maximum alone blows noise up — an idle network with 2 kbit/s of ARP
// against one with 0 would score 0 vs 1, a /24 with 3 addresses used against one with
// 2 would score 0.67 vs 1, and 50 vs 80 µs of veth RTT would score 0.63 vs 1 — each a
// whole tieBand or more, decided by noise no operator cares about. With r, differences
// well below r hardly count and differences well above it count fully:
// 50 vs 80 µs → 1 vs 0.95 (r = 0.5 ms); 1 vs 5 ms → 1 vs 0.27.
import type { KpiName } from '../contract/kpis.js'

export type Direction = 'higher' | 'lower'

/** Which way is better for each KPI. */
export const KPI_DIRECTION: Readonly<Record<KpiName, Direction>> = Object.freeze({
  rxBps: 'lower', // traffic already on the network
  txBps: 'lower',
  usageBps: 'lower',
  capacityBps: 'higher',
  capacityRxBps: 'higher',
  capacityTxBps: 'higher',
  headroomBps: 'higher',
  latencySeconds: 'lower',
  latencyP99Seconds: 'lower',
  loadedLatencySeconds: 'lower',
  responseTimeSeconds: 'lower',
  ipUsed: 'lower',
  ipCapacity: 'higher',
  ipOccupancy: 'lower',
  costPerGiB: 'lower',
  probeFailureRatio: 'lower',
})

/**
 * The difference below which a lower-is-better KPI hardly discriminates, in the KPI's
 * units: what the measurement cannot resolve reliably, or what no placement should
 * turn on. Higher-is-better KPIs need none: v / max keeps small gaps small at any scale.
 */
export const KPI_RESOLUTION: Readonly<Record<KpiName, number>> = Object.freeze({
  rxBps: 1e6, // 1 Mbit/s: ARP, probes and health checks on an idle network
  txBps: 1e6,
  usageBps: 1e6,
  capacityBps: 0,
  capacityRxBps: 0,
  capacityTxBps: 0,
  headroomBps: 0,
  latencySeconds: 0.0005, // 0.5 ms: RTT jitter of a loaded node; pods do not notice less
  latencyP99Seconds: 0.0005,
  loadedLatencySeconds: 0.0005,
  responseTimeSeconds: 0.0005,
  ipUsed: 4, // a few addresses
  ipCapacity: 0,
  ipOccupancy: 0.05, // 5 points of a pool
  costPerGiB: 0, // costs are set by the operator on purpose: every difference counts
  probeFailureRatio: 0.05, // one failed run in twenty
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
    const scale = max + KPI_RESOLUTION[kpi]
    // Clamped: these KPIs are ≥ 0 when they come from the store, but a hand-made snapshot may not be.
    for (const [k, v] of values) out.set(k, scale <= 0 ? 1 : Math.min(1, Math.max(0, 1 - (v - min) / scale)))
  }
  return out
}
