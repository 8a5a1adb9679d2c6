// Built-in selection profiles: weights over criteria (types.ts CRITERIA), the default
// targets that anchor the value functions, and the default per-pod demand.
//
// Weights need not sum to 1 (the selector shares them out); these do, so each reads as a
// share. Why these shares:
//   balanced        room for the pod's traffic and latency first, then pool room, capacity, probe health, cost
//   throughput      room for traffic and raw capacity dominate; latency barely counts
//   latency         idle RTT dominates; failing probes are a latency problem too
//   ip-conservative the emptiest pool wins, so pools fill evenly and none runs out
//   cost            the cheapest network per GiB, unless it is full or failing
import type { CriterionWeights, Demand, Targets } from './types.js'

export type BuiltinProfileName = 'balanced' | 'throughput' | 'latency' | 'ip-conservative' | 'cost'

/**
 * The default anchors: 1 ms of idle RTT scores 0.5 on latency (a node-local bridge is
 * 0.05–0.5 ms, a cross-node overlay 0.3–2 ms); 1 Gbit/s of capacity scores 0.5; a cost of
 * 0.01 per GiB (a cloud's inter-zone price) scores 0.5.
 */
export const DEFAULT_TARGETS: Readonly<Targets> = Object.freeze({ latencySeconds: 0.001, capacityBps: 1e9, costPerGiB: 0.01 })

/** A pod that says nothing about its traffic is expected to move this much each way: enough for phantom load to spread a burst. */
export const DEFAULT_DEMAND: Readonly<Demand> = Object.freeze({ rxBps: 10e6, txBps: 10e6 })

const w = (weights: CriterionWeights): Readonly<CriterionWeights> => Object.freeze(weights)

/** The profiles every agent knows; operator-defined ones come from config. */
export const BUILTIN_PROFILES: Readonly<Record<BuiltinProfileName, Readonly<CriterionWeights>>> = Object.freeze({
  balanced: w({ utilisation: 0.35, latency: 0.25, occupancy: 0.15, capacity: 0.10, probeHealth: 0.10, cost: 0.05 }),
  throughput: w({ utilisation: 0.45, capacity: 0.30, probeHealth: 0.10, latency: 0.10, occupancy: 0.05 }),
  latency: w({ latency: 0.60, probeHealth: 0.15, utilisation: 0.15, occupancy: 0.10 }),
  'ip-conservative': w({ occupancy: 0.60, utilisation: 0.15, latency: 0.10, probeHealth: 0.10, cost: 0.05 }),
  cost: w({ cost: 0.60, utilisation: 0.15, probeHealth: 0.10, latency: 0.10, occupancy: 0.05 }),
})
