// The one place that decides how traffic is scored: headroom over raw usage.
//
// Headroom (probe capacity − current usage) says how much more a network can carry;
// raw usage only says how busy it is, which punishes a fast network for being used.
// But scores must compare like with like: if any eligible network with usage data
// lacks a fresh headroom (no probe yet, or a stale one), scoring headroom for some and
// nothing for others would favour the unprobed one. Then usage is scored for all.
import type { ProfileWeights } from './types.js'
import type { KpiName, KpiReading } from '../contract/kpis.js'

export interface TrafficChoice {
  /** the weights with the headroomBps share moved to usageBps when headroom cannot be used */
  weights: ProfileWeights
  /** set when the fallback to usage applied, for every scored plugin's reasons */
  reason?: string
}

/**
 * `weights` as given when they do not weigh headroomBps or when every eligible plugin with
 * fresh usageBps also has a fresh headroomBps; otherwise headroomBps's weight moves to usageBps.
 */
export function trafficWeights (weights: ProfileWeights, eligible: ReadonlyArray<readonly [string, Partial<Record<KpiName, KpiReading>>]>): TrafficChoice {
  const headroomWeight = weights.headroomBps ?? 0
  if (headroomWeight <= 0) return { weights }
  const fresh = (r: KpiReading | undefined): boolean => r !== undefined && !r.stale
  const lacking = eligible.filter(([, r]) => fresh(r.usageBps) && !fresh(r.headroomBps)).map(([name]) => name)
  if (lacking.length === 0) return { weights }
  const moved: ProfileWeights = { ...weights, usageBps: (weights.usageBps ?? 0) + headroomWeight }
  delete moved.headroomBps
  return {
    weights: moved,
    reason: `traffic scored by usageBps, not headroomBps: no fresh headroom (capacity − usage) for ${lacking.join(', ')}`,
  }
}
