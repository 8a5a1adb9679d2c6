// Phantom load: a pod placed a moment ago moves no measured bytes yet, but it will. Like
// the scheduler's "assumed pods", each recent placement's demand counts on its network and
// fades linearly over spreadWindowMs — the traffic mean's window — as the measured usage
// catches up with it. Pure.
import type { Demand, Placement } from './types.js'

/** Per plugin, the fading demand of the placements younger than windowMs at nowMs. */
export function phantomLoad (recent: readonly Placement[], nowMs: number, windowMs: number): Map<string, Demand> {
  const out = new Map<string, Demand>()
  if (windowMs <= 0) return out
  for (const p of recent) {
    const age = Math.max(0, nowMs - p.atMs)
    if (age >= windowMs) continue
    const f = 1 - age / windowMs
    const d = out.get(p.plugin) ?? { rxBps: 0, txBps: 0 }
    d.rxBps += f * p.rxBps
    d.txBps += f * p.txBps
    out.set(p.plugin, d)
  }
  return out
}
