/**
 * The contract between collectors, the KPI store, the selector and the agent.
 * KPI names and units follow DESIGN §3.3: every traffic KPI is in bits per second.
 */

/** Every KPI netrank knows, in the units its name says. */
export const KPI_NAMES = [
  'rxBps', // receive rate on this node's pods of the plugin, bits/s
  'txBps', // transmit rate, bits/s
  'usageBps', // rx + tx, bits/s (derived when both are known)
  'capacityBps', // achievable throughput measured by probes, bits/s
  'headroomBps', // capacity − usage, bits/s (derived when both are known)
  'latencySeconds', // probe RTT p50, seconds
  'ipUsed', // addresses allocated in the plugin's pool on this node
  'ipCapacity', // addresses the pool can hand out
  'ipOccupancy', // ipUsed / ipCapacity, 0–1 (derived when both are known)
  'costPerGiB', // operator-set cost of a GiB carried, any currency unit
  'probeFailureRatio', // failed / all probe runs over the window, 0–1
] as const

export type KpiName = typeof KPI_NAMES[number]

/** One measured value, as a collector hands it to the KPI store. */
export interface KpiSample {
  plugin: string
  kpi: KpiName
  value: number
  /** when it was measured, ms since the epoch */
  atMs: number
  /** which collector produced it: 'static', 'cadvisor', 'probes', 'ipam' … */
  source: string
}

/** What the store knows of one (plugin, KPI) at snapshot time. */
export interface KpiReading {
  /** the aggregated value over the window (see the store for each KPI's aggregation) */
  value: number
  /** age of the newest sample, ms */
  ageMs: number
  /** samples inside the window that made the value */
  samples: number
  /** true when ageMs > staleAfterMs for this KPI (static values never go stale) */
  stale: boolean
  source: string
  /** spread of the samples (median absolute deviation), when there are 2 or more */
  spread?: number
}

/** A point-in-time view of every KPI of every plugin: the selector's input. */
export interface KpiSnapshot {
  /** ms since the epoch */
  atMs: number
  plugins: Record<string, Partial<Record<KpiName, KpiReading>>>
}

/** A network the node offers, in catalog (config) order: the tie-break order. */
export interface PluginEntry {
  name: string
  costPerGiB?: number
}

/** Weights per KPI; they need not sum to 1 (the selector normalises). */
export type ProfileWeights = Partial<Record<KpiName, number>>

export interface SelectorOptions {
  /** plugins scoring within this of the leader (0–1 score units) count as equally good: burst spreading applies */
  tieBand: number
  /** a pool at or above this occupancy (0–1) is never chosen */
  maxOccupancy: number
  /** the top choice changes only when the new leader is ahead of the previous one by more than this (score units) */
  hysteresisMargin: number
  /** placements older than this no longer count for burst spreading, ms */
  spreadWindowMs: number
}

/** A placement made earlier: burst spreading looks at these. */
export interface Placement {
  plugin: string
  atMs: number
}

export interface RankedPlugin {
  plugin: string
  /** 1-based; 1 is the best */
  rank: number
  /** weighted score 0–1 (0 when ineligible or without data) */
  score: number
  eligible: boolean
  /** why it is where it is, in words an operator reads */
  reasons: string[]
  kpis: Partial<Record<KpiName, { value: number, ageSeconds: number, samples: number, stale: boolean }>>
  /** weight × normalised score per KPI that counted (after redistribution) */
  contributions: Partial<Record<KpiName, number>>
  /** the weights actually used for this plugin, after stale/missing KPIs dropped out */
  effectiveWeights: Partial<Record<KpiName, number>>
}

export interface Ranking {
  profile: string
  generatedAtMs: number
  plugins: RankedPlugin[]
}

export interface RankInput {
  snapshot: KpiSnapshot
  catalog: readonly PluginEntry[]
  profileName: string
  weights: ProfileWeights
  options: SelectorOptions
}

export interface SelectInput extends RankInput {
  /** recent placements, any order; older than spreadWindowMs are ignored */
  recent: readonly Placement[]
  /** the plugin the last selection with this profile led with, for hysteresis */
  previousLeader?: string
}

export interface Selection {
  /** the chosen plugin, or undefined when no plugin is eligible */
  plugin: string | undefined
  /** 'smart' normally; a short machine-readable reason otherwise, e.g. 'no-eligible-plugin' */
  reason: string
  /** the leader after hysteresis (before spreading): pass it back as previousLeader next time */
  leader: string | undefined
  /** human-readable explanation of the choice (hysteresis, spreading) */
  because: string[]
  ranking: Ranking
}
