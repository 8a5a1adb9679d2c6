/**
 * /v1/report: the audited decisions of a recent window aggregated — share per plugin,
 * count per reason and per profile.
 */
import type { DecisionRecord } from '../contract/decision-record.js'
import { agentError } from './errors.js'

const UNIT_MS: Readonly<Record<string, number>> = Object.freeze({ s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 })
const MAX_WINDOW_MS = 30 * 86_400_000 // 30 d: older decisions are rotated out long before

/** '15m' → 900000; AgentError NR_BAD_WINDOW for anything else. */
export function parseWindow (text: string): number {
  const m = /^(\d{1,6})(s|m|h|d)$/.exec(text)
  const n = m === null ? NaN : Number(m[1]) * (UNIT_MS[m[2] ?? ''] ?? NaN)
  if (!(n > 0) || n > MAX_WINDOW_MS) {
    throw agentError('NR_BAD_WINDOW', `window '${text}' is not a duration: use a positive number and a unit s, m, h or d (e.g. 15m, 1h), at most 30d`)
  }
  return n
}

export interface Report {
  window: string
  from: string
  to: string
  total: number
  plugins: Array<{ plugin: string, count: number, share: number }>
  reasons: Record<string, number>
  profiles: Record<string, number>
}

/** Aggregates decisions (already filtered to the window); every catalog plugin appears, in catalog order. */
export function aggregate (decisions: readonly DecisionRecord[], catalog: readonly string[], window: string, fromMs: number, toMs: number): Report {
  const counts = new Map<string, number>(catalog.map((p) => [p, 0]))
  const reasons: Record<string, number> = {}
  const profiles: Record<string, number> = {}
  for (const d of decisions) {
    counts.set(d.plugin, (counts.get(d.plugin) ?? 0) + 1)
    reasons[d.reason] = (reasons[d.reason] ?? 0) + 1
    profiles[d.profile] = (profiles[d.profile] ?? 0) + 1
  }
  const total = decisions.length
  return {
    window,
    from: new Date(fromMs).toISOString(),
    to: new Date(toMs).toISOString(),
    total,
    plugins: [...counts].map(([plugin, count]) => ({ plugin, count, share: total === 0 ? 0 : count / total })),
    reasons,
    profiles,
  }
}
