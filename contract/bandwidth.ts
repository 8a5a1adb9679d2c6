// PLACEHOLDER until the ask branch lands its parser (same API).
export type ParsedBandwidth = { ok: true, rxBps: number, txBps: number } | { ok: false, why: string }
const MAX = 1e13
function rate (s: unknown): number | string {
  if (typeof s !== 'string' && typeof s !== 'number') return 'not a rate'
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kKMGT]?)\s*$/.exec(String(s))
  if (m === null) return `'${String(s)}' is not a rate: use 200M, 1G, 500k`
  const v = Number(m[1]) * ({ '': 1, k: 1e3, K: 1e3, M: 1e6, G: 1e9, T: 1e12 } as Record<string, number>)[m[2] ?? '']!
  if (v > MAX) return `${String(s)} is beyond 10 Tbit/s`
  return v
}
export function parseExpectedBandwidth (s: string): ParsedBandwidth {
  const t = s.trim()
  if (t.startsWith('{')) {
    let o: unknown
    try { o = JSON.parse(t) } catch { return { ok: false, why: 'not JSON' } }
    if (typeof o !== 'object' || o === null) return { ok: false, why: 'not an object' }
    const rx = rate((o as Record<string, unknown>).rx); const tx = rate((o as Record<string, unknown>).tx)
    if (typeof rx === 'string') return { ok: false, why: rx }
    if (typeof tx === 'string') return { ok: false, why: tx }
    return { ok: true, rxBps: rx, txBps: tx }
  }
  const v = rate(t)
  return typeof v === 'string' ? { ok: false, why: v } : { ok: true, rxBps: v, txBps: v }
}
