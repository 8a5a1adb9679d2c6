/**
 * The selector's own types: its input (a KPI snapshot, the catalog, a profile) and its
 * answer (a ranking, a selection). The KPI shapes themselves are contract/kpis.ts.
 */
import type { KpiName, KpiSnapshot } from '../contract/kpis.js'

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
