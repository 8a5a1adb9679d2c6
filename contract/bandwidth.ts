// A pod's expected bandwidth: the `netrank.io/expected-bandwidth` annotation, the
// `expectedBandwidth` of /v1/select and of /v1/rank's query, and the config's
// `selector.expectedBandwidth`. Bits per second, per direction as the pod sees it (rx
// into it, tx out of it). Imports nothing (contract/).
//
// Forms:
//   200M, 1.5G, 500k, 2T, 10000 (bits/s)   both directions
//   200 Mbit/s, 200Mbps, 200Mb/s, 1 Gbit/s the same, with a unit
//   10Mi, 1Gi                               binary prefixes (× 1024ⁿ)
//   {"rx":"1G","tx":"100M"}                 per direction; a rate string or a number of bits/s;
//                                           a direction left out is 0
// The SI prefixes are k/K, M, G, T. A value above 10 Tbit/s is refused as absurd.

import { EXPECTED_BANDWIDTH_MAX_LENGTH } from './select-api.js'

export type ParsedBandwidth = { ok: true, rxBps: number, txBps: number } | { ok: false, why: string }

/** 10 Tbit/s: no pod declares more; anything above is a typo. */
export const MAX_EXPECTED_BPS = 1e13

const PREFIX: Readonly<Record<string, number>> = Object.freeze({
  '': 1, k: 1e3, K: 1e3, M: 1e6, G: 1e9, T: 1e12, Ki: 1024, Mi: 1024 ** 2, Gi: 1024 ** 3, Ti: 1024 ** 4,
})

// a number, an optional prefix, an optional unit; whitespace around and between
const RATE = /^\s*(\d+(?:\.\d+)?|\.\d+)(?:e(\d+))?\s*(Ki|Mi|Gi|Ti|[kKMGT])?\s*(bit\/s|bits\/s|bps|b\/s)?\s*$/

const shown = (s: string): string => JSON.stringify(s.length > 40 ? `${s.slice(0, 40)}…` : s)

/** One rate → bits/s, or a sentence saying why it is not one. */
export function parseRate (s: unknown): number | string {
  if (typeof s === 'number') {
    if (!Number.isFinite(s)) return `${String(s)} is not a rate`
    if (s < 0) return `${s} is negative: a rate is ≥ 0`
    return s > MAX_EXPECTED_BPS ? `${s} bit/s is beyond 10 Tbit/s` : s
  }
  if (typeof s !== 'string') return `${s === null ? 'null' : Array.isArray(s) ? 'an array' : typeof s} is not a rate: use a string like "200M" or a number of bits/s`
  if (s.trim() === '') return 'an empty value is not a rate: use 200M, 1G, 500k'
  if (s.length > EXPECTED_BANDWIDTH_MAX_LENGTH) return `a value of ${s.length} characters is not a rate (at most ${EXPECTED_BANDWIDTH_MAX_LENGTH})`
  if (/^\s*-/.test(s)) return `${shown(s)} is negative: a rate is ≥ 0`
  const m = RATE.exec(s)
  if (m === null) return `${shown(s)} is not a rate: use 200M, 1G, 500k or {"rx":"1G","tx":"100M"} (bits/s, SI prefixes k M G T)`
  const v = Number(m[1]) * 10 ** Number(m[2] ?? 0) * (PREFIX[m[3] ?? ''] ?? NaN)
  if (!Number.isFinite(v)) return `${shown(s)} is not a finite rate`
  if (v > MAX_EXPECTED_BPS) return `${shown(s)} is beyond 10 Tbit/s`
  return v
}

/** The annotation's value (or the API's field) → bits/s per direction, or why it is not one. */
export function parseExpectedBandwidth (s: string): ParsedBandwidth {
  if (typeof s !== 'string') return { ok: false, why: 'expected bandwidth must be a string' }
  const t = s.trim()
  if (t.length > EXPECTED_BANDWIDTH_MAX_LENGTH) return { ok: false, why: `a value of ${t.length} characters is not a rate (at most ${EXPECTED_BANDWIDTH_MAX_LENGTH})` }
  if (t.startsWith('{') || t.startsWith('[')) {
    let o: unknown
    try {
      o = JSON.parse(t)
    } catch {
      return { ok: false, why: `${shown(t)} is not valid JSON: use {"rx":"1G","tx":"100M"}` }
    }
    if (typeof o !== 'object' || o === null || Array.isArray(o)) return { ok: false, why: 'per-direction bandwidth must be an object {"rx": …, "tx": …}, not an array' }
    const rec = o as Record<string, unknown>
    const extra = Object.keys(rec).filter(k => k !== 'rx' && k !== 'tx')
    if (extra.length > 0) return { ok: false, why: `unknown key ${JSON.stringify(extra[0])}: only "rx" and "tx"` }
    if (!('rx' in rec) && !('tx' in rec)) return { ok: false, why: 'per-direction bandwidth needs "rx", "tx" or both' }
    const rx = 'rx' in rec ? parseRate(rec.rx) : 0
    if (typeof rx === 'string') return { ok: false, why: `rx: ${rx}` }
    const tx = 'tx' in rec ? parseRate(rec.tx) : 0
    if (typeof tx === 'string') return { ok: false, why: `tx: ${tx}` }
    return { ok: true, rxBps: rx, txBps: tx }
  }
  const v = parseRate(t)
  return typeof v === 'string' ? { ok: false, why: v } : { ok: true, rxBps: v, txBps: v }
}

/** bits/s → the short form the parser reads back: 200000000 → '200M', 1.5e9 → '1.5G', 0 → '0'. */
export function formatRate (bps: number): string {
  if (!Number.isFinite(bps) || bps < 0) throw new RangeError(`formatRate: ${bps} is not a rate`)
  for (const [div, p] of [[1e12, 'T'], [1e9, 'G'], [1e6, 'M'], [1e3, 'k']] as const) {
    if (bps >= div) return `${+(bps / div).toPrecision(6)}${p}`
  }
  return String(+bps.toPrecision(6))
}
