// Built-in selection profiles (the selector's options come from the agent config).
//
// Weights need not sum to 1 (the selector normalises them); these do, so each reads
// as a share. `headroomBps` stands for "traffic room": the ranker scores raw usageBps
// instead when headroom is not known for every network that has usage data (see
// traffic.ts). Why these shares:
//   balanced        room for traffic and latency first, then pool room, probe health, cost
//   throughput      room for traffic and probe capacity dominate; latency barely counts
//   latency         probe RTT dominates; failing probes are a latency problem too
//   ip-conservative the emptiest pool wins, so pools fill evenly and none runs out
//   cost            the cheapest network per GiB, unless it is full or failing
import type { ProfileWeights } from './types.js'

export type BuiltinProfileName = 'balanced' | 'throughput' | 'latency' | 'ip-conservative' | 'cost'

const w = (weights: ProfileWeights): Readonly<ProfileWeights> => Object.freeze(weights)

/** The profiles every agent knows; operator-defined ones come from config as plain weight maps. */
export const BUILTIN_PROFILES: Readonly<Record<BuiltinProfileName, Readonly<ProfileWeights>>> = Object.freeze({
  balanced: w({ headroomBps: 0.30, latencySeconds: 0.25, ipOccupancy: 0.15, capacityBps: 0.10, probeFailureRatio: 0.10, costPerGiB: 0.10 }),
  throughput: w({ headroomBps: 0.45, capacityBps: 0.30, probeFailureRatio: 0.10, latencySeconds: 0.10, ipOccupancy: 0.05 }),
  latency: w({ latencySeconds: 0.60, probeFailureRatio: 0.15, headroomBps: 0.15, ipOccupancy: 0.10 }),
  'ip-conservative': w({ ipOccupancy: 0.60, headroomBps: 0.15, latencySeconds: 0.10, probeFailureRatio: 0.10, costPerGiB: 0.05 }),
  cost: w({ costPerGiB: 0.60, headroomBps: 0.15, probeFailureRatio: 0.10, latencySeconds: 0.10, ipOccupancy: 0.05 }),
})
