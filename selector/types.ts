/**
 * The selector's own types: its input (a KPI snapshot, the catalog, a profile, the pod's
 * expected demand, recent placements) and its answer (a ranking, a selection). The KPI
 * shapes themselves are contract/kpis.ts; the model is docs/selection.md.
 */
import type { KpiName, KpiSnapshot } from '../contract/kpis.js'

/** A network the node offers, in catalog (config) order. */
export interface PluginEntry {
  name: string
  costPerGiB?: number
}

/**
 * What a profile scores: criteria, each an absolute value function of measured KPIs
 * (criteria.ts), never of the other plugins in the set.
 */
export const CRITERIA = ['utilisation', 'latency', 'capacity', 'occupancy', 'probeHealth', 'cost'] as const
export type Criterion = typeof CRITERIA[number]

/** Weights per criterion; they need not sum to 1 (the selector normalises). */
export type CriterionWeights = Partial<Record<Criterion, number>>

/** The operator's anchors of the value functions. */
export interface Targets {
  /** L0: a network at this idle RTT scores 0.5 on latency, seconds */
  latencySeconds: number
  /** C0: a network of this one-direction capacity scores 0.5 on capacity, bits/s */
  capacityBps: number
  /** the reference price: a network at this cost scores 0.5 on cost, per GiB */
  costPerGiB: number
}

/** Bits per second the pod is expected to move, per direction (the pods' view: rx into it). */
export interface Demand {
  rxBps: number
  txBps: number
}

/** A profile as the selector uses it: weights, targets, and its default demand. */
export interface Profile {
  weights: CriterionWeights
  targets: Targets
  /** demand of a pod of this profile that does not say its own */
  demand: Demand
}

/**
 * The value assumed for a KPI that is missing or stale: the worst plausible one, so a
 * network never gains from not being measured.
 */
export interface Priors {
  /** seconds */
  latencySeconds: number
  /** bits/s; 0 makes an unmeasured network's utilisation the worst (−1) */
  capacityBps: number
  /** 0–1 */
  probeFailureRatio: number
  /** 0–1; at or above maxOccupancy scores 0 */
  ipOccupancy: number
  /** a missing cost is this many times the reference price */
  costFactor: number
}

export interface SelectorOptions {
  /** the smallest score gap that is not a tie, whatever the confidence bands say (score units) */
  tieBand: number
  /** a pool at or above this occupancy (0–1) is never chosen */
  maxOccupancy: number
  /** a new leader must lead by more than the tie for this many consecutive snapshots */
  hysteresisSnapshots: number
  /** a placement's demand counts as phantom load for this long, fading linearly as measured usage catches up, ms */
  spreadWindowMs: number
  /** at most one placement in this many goes to an under-measured network (0: never) */
  exploreEvery: number
  /** relative uncertainty of a reading made of one sample (no spread to go by), 0–1 */
  singleSampleUncertainty: number
  priors: Priors
}

/** A placement made earlier: its demand is phantom load until the traffic shows it. */
export interface Placement {
  plugin: string
  atMs: number
  rxBps: number
  txBps: number
}

/** One criterion of one plugin, explained. */
export interface CriterionScore {
  /** the value function's result: 0–1 (utilisation: −1–1, below 0 when oversubscribed) */
  score: number
  /** the criterion's share of the profile, after criteria nobody measures dropped out */
  weight: number
  /** ± score units from the inputs' uncertainty (0 for a prior) */
  band: number
  /** the input value scored (utilisation: ρ of the tighter direction); absent when there is none (utilisation without capacity or traffic) */
  value?: number
  /** set when a prior stood in: which input, and why */
  prior?: string
}

export interface RankedPlugin {
  plugin: string
  /** 1-based; 1 is the best */
  rank: number
  /** Σ weight × criterion score, −1–1 (0 when ineligible); independent of the other plugins */
  score: number
  /** ± score units: scores closer than the bands are not told apart */
  band: number
  /** share of the profile's weight backed by fresh measurements, 0–1 */
  coverage: number
  eligible: boolean
  /** the utilisation after placing the pod's demand, per direction (measured + phantom + demand) / capacity */
  predicted: { rxUtilisation?: number, txUtilisation?: number, headroomBps?: number }
  /** why it is where it is, in words an operator reads */
  reasons: string[]
  kpis: Partial<Record<KpiName, { value: number, ageSeconds: number, samples: number, stale: boolean }>>
  criteria: Partial<Record<Criterion, CriterionScore>>
}

export interface Ranking {
  profile: string
  generatedAtMs: number
  /** the demand ranked for, and where it came from */
  demand: Demand & { source: string }
  /** criteria of the profile that no plugin has data for: left out for everyone, said once */
  absent: Criterion[]
  /** said once for the whole ranking (the absent criteria, why) */
  notes: string[]
  plugins: RankedPlugin[]
}

export interface RankInput {
  snapshot: KpiSnapshot
  catalog: readonly PluginEntry[]
  profileName: string
  profile: Profile
  options: SelectorOptions
  /** the pod's demand; the profile's when absent */
  demand?: Demand & { source: string }
  /** recent placements, any order; their demand is phantom load (older than spreadWindowMs: none) */
  recent: readonly Placement[]
}

/** Hysteresis memory of one profile: the leader, and a challenger counting snapshots. */
export interface LeaderState {
  leader: string
  challenger?: string
  /** consecutive snapshots the challenger has led by more than the tie */
  leads: number
  /** the snapshot the count was last advanced on */
  snapshotAtMs: number
}

export interface SelectInput extends RankInput {
  /** the profile's hysteresis memory from the previous selection */
  previous?: LeaderState
  /** placements since the last exploration */
  sinceExplore: number
  /** seeds the random choice among the near-best; the agent derives it from node and sequence */
  seed: number
}

export interface Selection {
  /** the chosen plugin, or undefined when no plugin is eligible */
  plugin: string | undefined
  /** 'smart' normally; 'explore'; otherwise a short machine-readable reason, e.g. 'no-eligible-plugin' */
  reason: string
  /** the leader after hysteresis */
  leader: string | undefined
  /** pass back as `previous` next time */
  leaderState: LeaderState | undefined
  /** true when this placement explored an under-measured network (reset sinceExplore) */
  explored: boolean
  /** human-readable explanation of the choice (hysteresis, near-best, exploration) */
  because: string[]
  ranking: Ranking
}
