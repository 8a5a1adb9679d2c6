/**
 * CNI-Genie's questionnaire, the pure part: a workload's answers → the nearest built-in
 * profile, an operator profile (criterion weights) and the expected bandwidth to declare.
 * `netrank profile ask` (cmd-profile.ts) asks the questions and shows the agent's ranking.
 */
import { ANNOTATIONS } from '../contract/annotations.js'
import { formatRate, parseExpectedBandwidth } from '../contract/bandwidth.js'
import { CRITERIA } from '../selector/types.js'
import type { BuiltinProfileName } from '../selector/profiles.js'
import type { Criterion, CriterionWeights } from '../selector/types.js'

export interface Answers {
  latencySensitive: boolean
  /** the per-pod traffic as the operator wrote it (200M, {"rx":"1G","tx":"100M"}); undefined: not known */
  bandwidth?: string
  bursty: boolean
  costSensitive: boolean
  manyAddresses: boolean
}

export interface Advice {
  builtin: BuiltinProfileName
  /** why that built-in, in one line */
  why: string
  /** an operator profile for exactly these answers; sums to 1 */
  weights: Required<CriterionWeights>
  /** the criterion with the largest weight */
  dominant: Criterion
  /** normalised for the annotation (200M, {"rx":"1G","tx":"100M"}); undefined when not known */
  expectedBandwidth?: string
  demand?: { rxBps: number, txBps: number }
}

/** A pod moving this much or more (either direction) is a bulk workload. */
export const BULK_BPS = 100e6

// Every workload starts balanced-like; each answer adds weight to what it needs.
const BASE: Readonly<Record<Criterion, number>> = Object.freeze({ utilisation: 0.30, latency: 0.20, capacity: 0.10, occupancy: 0.15, probeHealth: 0.10, cost: 0.05 })

/** Throws RangeError when the bandwidth does not parse (the command re-asks or exits 2). */
export function advise (a: Answers): Advice {
  let demand: { rxBps: number, txBps: number } | undefined
  if (a.bandwidth !== undefined && a.bandwidth.trim() !== '') {
    const d = parseExpectedBandwidth(a.bandwidth)
    if (!d.ok) throw new RangeError(d.why)
    demand = { rxBps: d.rxBps, txBps: d.txBps }
  }
  const bulk = demand !== undefined && Math.max(demand.rxBps, demand.txBps) >= BULK_BPS
  const w: Record<Criterion, number> = { ...BASE }
  if (a.latencySensitive) { w.latency += 0.5; w.probeHealth += 0.1 }
  if (bulk) { w.utilisation += 0.3; w.capacity += 0.25 }
  if (a.bursty) w.utilisation += 0.2
  if (a.costSensitive) w.cost += 0.55
  if (a.manyAddresses) w.occupancy += 0.45
  const total = CRITERIA.reduce((s, c) => s + w[c], 0)
  const weights = Object.fromEntries(CRITERIA.map(c => [c, Math.round(w[c] / total * 1000) / 1000])) as Record<Criterion, number>
  // rounding to 3 decimals may leave ±0.001: the largest weight takes it, so they sum to 1
  const largest = (): Criterion => CRITERIA.reduce((best, c) => (weights[c] > weights[best] ? c : best), CRITERIA[0])
  const top = largest()
  weights[top] = Math.round((weights[top] + 1 - CRITERIA.reduce((s, c) => s + weights[c], 0)) * 1000) / 1000
  const dominant = largest()

  const needs = [a.latencySensitive && 'latency', bulk && 'bulk transfer', a.manyAddresses && 'many addresses', a.costSensitive && 'cost'].filter((x): x is string => x !== false)
  let builtin: BuiltinProfileName
  // latency-sensitive and bulk: no built-in favours one over the other but balanced
  if (a.latencySensitive && bulk) builtin = 'balanced'
  else if (a.latencySensitive) builtin = 'latency'
  else if (bulk) builtin = 'throughput'
  else if (a.manyAddresses) builtin = 'ip-conservative'
  else if (a.costSensitive) builtin = 'cost'
  else builtin = 'balanced'
  const why = needs.length === 0
    ? 'no single need stands out: balanced weighs room for traffic, latency, pool room and capacity'
    : needs.length === 1
      ? `${needs[0]} is this workload's need: the ${builtin} profile weighs it most`
      : `${needs.join(' and ')}: ${builtin} is the nearest built-in; the operator profile below weighs all of them`
  const out: Advice = { builtin, why, weights, dominant }
  if (demand !== undefined) {
    out.demand = demand
    out.expectedBandwidth = demand.rxBps === demand.txBps ? formatRate(demand.rxBps) : JSON.stringify({ rx: formatRate(demand.rxBps), tx: formatRate(demand.txBps) })
  }
  return out
}

/** The pod annotations that ask for this (with the built-in, or the operator profile `name`). */
export function annotationsFor (advice: Advice, profile: string): Record<string, string> {
  return {
    [ANNOTATIONS.cni]: '',
    [ANNOTATIONS.profile]: profile,
    ...(advice.expectedBandwidth !== undefined ? { [ANNOTATIONS.expectedBandwidth]: advice.expectedBandwidth } : {}),
  }
}
