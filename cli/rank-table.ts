/**
 * The ranking as an aligned text table for people (`netrank rank`, `netrank demo`): the
 * score with its confidence band and coverage, the predicted utilisation per direction
 * after this pod, traffic and capacity in Mbit/s, latency in ms, the pool as used/capacity.
 */

/** The parts of a /rank answer the table reads. */
export interface RankAnswer {
  node: string
  profile: string
  generatedAt: string
  /** the demand ranked for, bits/s per direction, and where it came from */
  demand?: { rxBps: number, txBps: number, source: string }
  /** said once for the whole ranking */
  notes?: string[]
  plugins: Array<{
    plugin: string
    rank: number
    score: number
    band: number
    /** 0–1 */
    coverage: number
    eligible: boolean
    predicted: { rxUtilisation?: number, txUtilisation?: number, headroomBps?: number }
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

const percent = (x: number | undefined): string => (x === undefined ? '-' : `${(x * 100).toFixed(x < 0.1 ? 1 : 0)}%`)

function predicted (row: Row): string {
  const { rxUtilisation: rx, txUtilisation: tx } = row.predicted
  return rx === undefined && tx === undefined ? '-' : `${percent(rx)}/${percent(tx)}`
}

function traffic (row: Row): string {
  const rx = row.kpis.rxBps
  const tx = row.kpis.txBps
  if (rx === undefined && tx === undefined) return kpi(row, 'usageBps', mbit)
  return `${rx === undefined ? '-' : kpi(row, 'rxBps', mbit)}/${tx === undefined ? '-' : kpi(row, 'txBps', mbit)}`
}

// the score line repeats the SCORE and COVERAGE columns
const SCORE_LINE = /^score -?[\d.]+ ± [\d.]+, coverage /

function demandLine (d: RankAnswer['demand']): string {
  if (d === undefined) return ''
  const both = d.rxBps === d.txBps ? `${mbit(d.rxBps)} Mbit/s each way` : `rx ${mbit(d.rxBps)} / tx ${mbit(d.txBps)} Mbit/s`
  return ` · a pod of ${both} (${d.source})`
}

/** Renders the table; a footnote explains the stale mark when one is shown. */
export function formatRankTable (answer: RankAnswer): string {
  const header = ['PLUGIN', 'RANK', 'SCORE', 'COVERAGE', 'AFTER rx/tx', 'TRAFFIC rx/tx Mbit/s', 'CAPACITY Mbit/s', 'LATENCY ms', 'IP POOL', 'REASONS']
  const rows = answer.plugins.map((p) => {
    const reasons = p.reasons.filter((r) => !SCORE_LINE.test(r))
    return [
      p.plugin,
      String(p.rank),
      p.eligible ? `${p.score.toFixed(3)} ±${p.band.toFixed(3)}` : 'ineligible',
      percent(p.coverage),
      predicted(p),
      traffic(p),
      kpi(p, 'capacityBps', mbit),
      kpi(p, 'latencySeconds', ms),
      pool(p),
      reasons.length > 0 ? reasons.join('; ') : '-',
    ]
  })
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)))
  // numbers right-aligned, text left-aligned; the last column is not padded
  const numeric = new Set([1, 2, 3, 4, 5, 6, 7])
  const line = (cells: string[]): string => cells.map((c, i) => {
    if (i === cells.length - 1) return c
    const w = widths[i] ?? 0
    return numeric.has(i) ? c.padStart(w) : c.padEnd(w)
  }).join('  ').trimEnd()
  const out = [
    `node ${answer.node} · profile ${answer.profile}${demandLine(answer.demand)} · ${answer.generatedAt}`,
    line(header),
    ...rows.map(line),
  ]
  if (rows.some((r) => r.some((c) => c.includes(STALE_MARK)))) out.push(`${STALE_MARK} stale: older than its staleAfterMs; the score uses the pessimistic prior instead`)
  out.push('SCORE: −1 (worst) to 1 (best) ± its confidence band; COVERAGE: the share of the score backed by fresh measurements; AFTER: predicted utilisation per direction with this pod placed')
  for (const n of answer.notes ?? []) out.push(`note: ${n}`)
  return `${out.join('\n')}\n`
}
