// select(): rank, then pick one plugin for one pod. Pure and deterministic given the seed;
// the snapshot's atMs is "now".
//
// Exploration: at most one placement in exploreEvery goes to an eligible network whose
//   score is mostly priors (coverage under 50 %), so a new network gets measured traffic
//   without ever outranking a measured one by default; named 'explore' in the reasons.
// Hysteresis: the leader changes only when a challenger has led it by more than the tie
//   (max(tieBand, band of both): statistically distinguishable) on hysteresisSnapshots
//   consecutive KPI snapshots; requests on the same snapshot do not count twice.
// Near-best: every plugin within the tie of the leader (or above it) is a candidate. Two
//   candidates are drawn at random, weighted by their predicted headroom after this pod,
//   and the better-scoring of the two gets the pod ("power of two choices"). Each node
//   draws from its own seed, so nodes do not herd onto one network at once, and phantom
//   load (rank.ts) moves the scores as a burst lands.
import { unsafeUniformIntDistribution, xoroshiro128plus } from 'pure-rand'
import { num, pct } from './explain.js'
import { rank } from './rank.js'
import { validateSelectInput } from './validate.js'
import type { LeaderState, RankedPlugin, Ranking, SelectInput, Selection, SelectorOptions } from './types.js'

// Scores are sums of floats: compare margins with a little slack.
const EPSILON = 1e-9
/** A network with less than this share of its score measured is under-measured. */
export const EXPLORE_BELOW_COVERAGE = 0.5
const DRAW_MAX = 0x7fffffff

/** Two scores closer than this are not told apart: the tie band, or both confidence bands when wider. */
export function tieOf (a: RankedPlugin, b: RankedPlugin, options: Pick<SelectorOptions, 'tieBand'>): number {
  return Math.max(options.tieBand, a.band + b.band)
}

/** Choose a plugin for one pod. Throws TypeError/RangeError on a malformed input. */
export function select (input: SelectInput): Selection {
  validateSelectInput(input)
  return choose(input, rank(input))
}

interface Led { leader: RankedPlugin, state: LeaderState, because: string }

function hysteresis (eligible: readonly RankedPlugin[], input: SelectInput, nowMs: number): Led {
  const top = eligible[0] as RankedPlugin
  const prev = input.previous
  const fresh = (p: RankedPlugin): LeaderState => ({ leader: p.plugin, leads: 0, snapshotAtMs: nowMs })
  const held = prev === undefined ? undefined : eligible.find(p => p.plugin === prev.leader)
  if (prev === undefined) return { leader: top, state: fresh(top), because: `${top.plugin} leads with score ${num(top.score)} ± ${num(top.band)}` }
  if (held === undefined) {
    return { leader: top, state: fresh(top), because: `leader changes from ${prev.leader} to ${top.plugin}: ${prev.leader} is no longer eligible or in the catalog` }
  }
  if (held === top) return { leader: top, state: fresh(top), because: `${top.plugin} stays leader with score ${num(top.score)} ± ${num(top.band)}` }
  const gap = top.score - held.score
  const tie = tieOf(top, held, input.options)
  if (gap <= tie + EPSILON) {
    return { leader: held, state: fresh(held), because: `${held.plugin} stays leader: ${top.plugin} is ahead by ${num(gap)}, within the tie ${num(tie)}` }
  }
  const same = prev.challenger === top.plugin
  const newSnapshot = !same || nowMs > prev.snapshotAtMs
  const leads = same ? prev.leads + (newSnapshot ? 1 : 0) : 1
  const need = input.options.hysteresisSnapshots
  if (leads >= need) {
    return { leader: top, state: fresh(top), because: `leader changes from ${held.plugin} to ${top.plugin}: ahead by ${num(gap)} (> tie ${num(tie)}) on ${leads} snapshot${leads === 1 ? '' : 's'}` }
  }
  return {
    leader: held,
    state: { leader: held.plugin, challenger: top.plugin, leads, snapshotAtMs: newSnapshot ? nowMs : prev.snapshotAtMs },
    because: `${held.plugin} stays leader: ${top.plugin} is ahead by ${num(gap)} (> tie ${num(tie)}) on ${leads} of the ${need} snapshots a change needs`,
  }
}

/**
 * Seeds close together (1, 2, 3 …) give xoroshiro128+ nearly the same first outputs, so
 * the seed goes through murmur3's 32-bit finaliser first (both halves of a safe integer).
 */
function mixSeed (seed: number): number {
  const fmix = (h: number): number => {
    h ^= h >>> 16; h = Math.imul(h, 0x85ebca6b); h ^= h >>> 13; h = Math.imul(h, 0xc2b2ae35); h ^= h >>> 16
    return h | 0
  }
  return fmix((seed | 0) ^ fmix(Math.floor(seed / 0x100000000) | 0))
}

/** Two weighted draws (with replacement) among the candidates; the better-scoring one wins. */
function powerOfTwo (candidates: readonly RankedPlugin[], seed: number): { chosen: RankedPlugin, drawn: [RankedPlugin, RankedPlugin], weighted: boolean } {
  const room = candidates.map(p => p.predicted.headroomBps)
  const weighted = room.every(h => h !== undefined) && room.some(h => (h ?? 0) > 0)
  const weights = weighted ? room.map(h => Math.max(0, h ?? 0)) : candidates.map(() => 1)
  const total = weights.reduce((s, x) => s + x, 0)
  const rng = xoroshiro128plus(mixSeed(seed))
  const draw = (): RankedPlugin => {
    let x = unsafeUniformIntDistribution(0, DRAW_MAX, rng) / (DRAW_MAX + 1) * total
    for (let i = 0; i < candidates.length; i++) {
      x -= weights[i] ?? 0
      if (x < 0) return candidates[i] as RankedPlugin
    }
    return candidates[candidates.length - 1] as RankedPlugin
  }
  const a = draw()
  const b = draw()
  // ranking order breaks equal scores: candidates keep it
  const chosen = b.score > a.score + EPSILON || (Math.abs(b.score - a.score) <= EPSILON && candidates.indexOf(b) < candidates.indexOf(a)) ? b : a
  return { chosen, drawn: [a, b], weighted }
}

/**
 * The choice alone, on a ranking already computed from the same input (`rank(input)`).
 */
export function choose (input: SelectInput, ranking: Ranking): Selection {
  validateSelectInput(input)
  const { options } = input
  const nowMs = input.snapshot.atMs
  const because: string[] = []
  const done = (plugin: RankedPlugin | undefined, reason: string, leader: RankedPlugin | undefined, leaderState: LeaderState | undefined, explored = false): Selection =>
    ({ plugin: plugin?.plugin, reason, leader: leader?.plugin, leaderState, explored, because, ranking })

  const eligible = ranking.plugins.filter(p => p.eligible)
  if (eligible.length === 0) {
    because.push(ranking.plugins.length === 0 ? 'the catalog is empty' : 'no plugin is eligible: every IP pool is full')
    return done(undefined, 'no-eligible-plugin', undefined, input.previous)
  }

  if (eligible.every(p => p.coverage === 0)) {
    const first = eligible[0] as RankedPlugin
    because.push(`no network has a fresh measurement that profile "${ranking.profile}" weighs: every score is priors alone; ${first.plugin} is first in ranking order`)
    return done(first, 'no-fresh-kpi', first, input.previous)
  }

  const led = hysteresis(eligible, input, nowMs)
  because.push(led.because)
  const { leader } = led

  const under = eligible.filter(p => p.coverage < EXPLORE_BELOW_COVERAGE)
  if (options.exploreEvery > 0 && under.length > 0 && under.length < eligible.length && input.sinceExplore + 1 >= options.exploreEvery) {
    const x = under[0] as RankedPlugin
    because.push(`exploring ${x.plugin}: coverage ${pct(x.coverage)} (under ${pct(EXPLORE_BELOW_COVERAGE)}); one placement in ${options.exploreEvery} goes to an under-measured network until it is measured`)
    return done(x, 'explore', leader, led.state, true)
  }

  const candidates = eligible.filter(p => p === leader || p.score >= leader.score - tieOf(leader, p, options) - EPSILON)
  if (candidates.length === 1) {
    because.push(`no other plugin within the tie of ${leader.plugin}`)
    return done(leader, 'smart', leader, led.state)
  }
  const { chosen, drawn, weighted } = powerOfTwo(candidates, input.seed)
  because.push(`near-best: ${candidates.map(p => `${p.plugin} ${num(p.score)}`).join(', ')} (within the tie of ${leader.plugin}); ` +
    `drew ${drawn[0].plugin} and ${drawn[1].plugin} ${weighted ? 'weighted by predicted headroom' : 'uniformly (headroom not known for all)'} → ${chosen.plugin}, the better score`)
  return done(chosen, 'smart', leader, led.state)
}
