/**
 * The ranking as an aligned text table for people (`netrank rank`, `netrank demo`).
 * Traffic in Mbit/s, latency in ms, the pool as used/capacity and percent.
 */

/** The parts of a /rank answer the table reads. */
export interface RankAnswer {
  node: string
  profile: string
  generatedAt: string
  plugins: Array<{
    plugin: string
    rank: number
    score: number
    eligible: boolean
    reasons: string[]
    kpis: Record<string, { value: number, ageSeconds: number, samples: number, stale: boolean } | undefined>
  }>
}

type Row = RankAnswer['plugins'][number]

const STALE_MARK = '*'

function kpi (row: Row, name: string, format: (v: number) => string): string {
  const r = row.kpis[name]
  if (r === undefined) return '-'
  return `${format(r.value)}${r.stale ? STALE_MARK : ''}`
}

const mbit = (bps: number): string => (bps / 1e6).toFixed(bps !== 0 && Math.abs(bps) < 1e7 ? 2 : 0)
const ms = (s: number): string => (s * 1000).toFixed(s < 0.01 ? 3 : 1)

function pool (row: Row): string {
  const used = row.kpis.ipUsed
  const cap = row.kpis.ipCapacity
  const occ = row.kpis.ipOccupancy
  const stale = (used?.stale ?? false) || (cap?.stale ?? false) ? STALE_MARK : ''
  if (used !== undefined && cap !== undefined) {
    const pct = occ !== undefined ? occ.value : (cap.value > 0 ? used.value / cap.value : NaN)
    return `${used.value}/${cap.value} (${Number.isFinite(pct) ? Math.round(pct * 100) : '?'}%)${stale}`
  }
  if (occ !== undefined) return `${Math.round(occ.value * 100)}%${occ.stale ? STALE_MARK : ''}`
  return '-'
}

/** Renders the table; a footnote explains the stale mark when one is shown. */
export function formatRankTable (answer: RankAnswer): string {
  const header = ['PLUGIN', 'RANK', 'SCORE', 'USAGE Mbit/s', 'CAPACITY Mbit/s', 'HEADROOM Mbit/s', 'LATENCY ms', 'IP POOL', 'REASONS']
  const rows = answer.plugins.map((p) => [
    p.plugin,
    String(p.rank),
    p.score.toFixed(3),
    kpi(p, 'usageBps', mbit),
    kpi(p, 'capacityBps', mbit),
    kpi(p, 'headroomBps', mbit),
    kpi(p, 'latencySeconds', ms),
    pool(p),
    p.reasons.length > 0 ? p.reasons.join('; ') : (p.eligible ? '-' : 'ineligible'),
  ])
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)))
  // numbers right-aligned, text left-aligned; the last column is not padded
  const numeric = new Set([1, 2, 3, 4, 5, 6])
  const line = (cells: string[]): string => cells.map((c, i) => {
    if (i === cells.length - 1) return c
    const w = widths[i] ?? 0
    return numeric.has(i) ? c.padStart(w) : c.padEnd(w)
  }).join('  ').trimEnd()
  const out = [
    `node ${answer.node} · profile ${answer.profile} · ${answer.generatedAt}`,
    line(header),
    ...rows.map(line),
  ]
  if (rows.some((r) => r.some((c) => c.endsWith(STALE_MARK)))) out.push(`${STALE_MARK} stale: older than its staleAfterMs, not counted in the score`)
  return `${out.join('\n')}\n`
}
