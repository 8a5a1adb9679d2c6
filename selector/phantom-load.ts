// Phantom load: a pod placed a moment ago moves no measured bytes yet, but it will. Like
// the scheduler's "assumed pods", each recent placement's demand counts on its network and
// fades linearly over spreadWindowMs — the traffic mean's window — as the measured usage
// catches up with it. Pure.
import type { Demand, Placement } from './types.js'

/** Per plugin, the fading demand of the placements younger than windowMs at nowMs, and how many they are. */
export function phantomLoad (recent: readonly Placement[], nowMs: number, windowMs: number): { load: Map<string, Demand>, placements: Map<string, number> } {
  const load = new Map<string, Demand>()
  const placements = new Map<string, number>()
  if (windowMs <= 0) return { load, placements }
  // one pass, one map lookup per placement: this runs on every decision over up to 2,048 of them
  const acc = new Map<string, { rxBps: number, txBps: number, n: number }>()
  for (let i = 0; i < recent.length; i++) {
    const p = recent[i] as Placement
    const age = nowMs > p.atMs ? nowMs - p.atMs : 0
    if (age >= windowMs) continue
    const f = 1 - age / windowMs
    let a = acc.get(p.plugin)
    if (a === undefined) acc.set(p.plugin, a = { rxBps: 0, txBps: 0, n: 0 })
    a.rxBps += f * p.rxBps
    a.txBps += f * p.txBps
    a.n++
  }
  for (const [plugin, a] of acc) {
    load.set(plugin, { rxBps: a.rxBps, txBps: a.txBps })
    placements.set(plugin, a.n)
  }
  return { load, placements }
}
