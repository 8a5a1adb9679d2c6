// The KPI store: bounded time windows of samples per (plugin, KPI), turned into one
// reading per KPI at snapshot time for the selector.
//
// Aggregation per KPI over the samples inside the window [now − windowMs, now]:
//   rxBps, txBps            → mean of the rate samples (a rate is already an average over
//                             its scrape interval; the mean over the window smooths bursts)
//   capacityBps,
//   latencySeconds          → median (probe runs have outliers: one slow run must not move
//                             the ranking), spread = median absolute deviation
//   everything else         → the newest value (pool counts, ratios and costs are states,
//                             not measurements to average)
// When no sample lies inside the window, the newest sample alone is the reading, so an
// old value is still shown (and marked stale) rather than vanishing.
//
// Derived in snapshot() when not measured directly (a fresh direct reading wins):
//   usageBps    = max(rxBps, txBps)       (the busier direction; needs both)
//   capacityBps = min(capacityRxBps, capacityTxBps)   (when both directions were measured)
//   headroomBps = min(capRx − rx, capTx − tx), a direction without its own capacity using
//                 capacityBps (may be negative: the network is oversubscribed)
//   ipOccupancy = ipUsed / ipCapacity     (capacity > 0; capped at 1)
// A derived reading's age is the oldest of its inputs, its sample count the smallest,
// and it is stale if any input is — so it is fresh only when all inputs are.
//
// Samples with source 'static' are operator overrides: they win over measured samples
// of the same KPI and never go stale.
//
// Memory: every series is trimmed on every ingest, by time (older than its newest
// sample − windowMs) and by count (maxSamplesPerSeries), so it is bounded by the
// window, not by uptime; retain() drops plugins that left the catalog.
import { mean, median, medianAbsoluteDeviation } from 'simple-statistics'
import { KPI_NAMES } from '../contract/kpis.js'
import { isCniName } from '../contract/names.js'
import type { KpiName, KpiReading, KpiSample, KpiSnapshot } from '../contract/kpis.js'

export interface KpiStoreOptions {
  /** samples older than this drop out, ms (memory bounded by the window) */
  windowMs: number
  /** hard cap per (plugin, KPI) series */
  maxSamplesPerSeries: number
  /** per-KPI staleness, ms; a number applies to every KPI, a map must name every KPI */
  staleAfterMs: number | Readonly<Record<KpiName, number>>
}

/** Values beyond these are measurement errors, not networks. */
export const KPI_LIMITS = Object.freeze({
  maxBps: 1e13, // 10 Tbit/s: no node has a NIC that fast
  maxLatencySeconds: 60, // 60 s RTT: a timeout, not a latency
  maxIpCount: 2 ** 128, // the whole IPv6 address space
  maxCostPerGiB: 1e9, // any currency unit
})

/** Why a sample was rejected, as a metric label. */
export const REJECT_KINDS = ['malformed', 'not-finite', 'negative', 'out-of-range', 'absurd', 'not-integer'] as const
export type RejectKind = typeof REJECT_KINDS[number]

export interface IngestResult {
  accepted: number
  rejected: Array<{ sample: KpiSample, why: string }>
}

interface StoredSample {
  value: number
  atMs: number
  source: string
}

interface Series {
  /** ascending by atMs */
  samples: StoredSample[]
  /** an operator override: wins over samples and never goes stale */
  override?: StoredSample
}

type Aggregation = 'mean' | 'median' | 'newest'

const AGGREGATION: Readonly<Record<KpiName, Aggregation>> = Object.freeze({
  rxBps: 'mean',
  txBps: 'mean',
  usageBps: 'mean',
  capacityBps: 'median',
  capacityRxBps: 'median',
  capacityTxBps: 'median',
  headroomBps: 'newest',
  latencySeconds: 'median',
  latencyP99Seconds: 'median',
  loadedLatencySeconds: 'median',
  responseTimeSeconds: 'median',
  ipUsed: 'newest',
  ipCapacity: 'newest',
  ipOccupancy: 'newest',
  ipSubnets: 'newest',
  ipFree: 'newest',
  costPerGiB: 'newest',
  probeFailureRatio: 'newest',
})

const BPS_KPIS: ReadonlySet<KpiName> = new Set(['rxBps', 'txBps', 'usageBps', 'capacityBps', 'capacityRxBps', 'capacityTxBps', 'headroomBps'])
const SECONDS_KPIS: ReadonlySet<KpiName> = new Set(['latencySeconds', 'latencyP99Seconds', 'loadedLatencySeconds', 'responseTimeSeconds'])
const RATIO_KPIS: ReadonlySet<KpiName> = new Set(['ipOccupancy', 'probeFailureRatio'])
const COUNT_KPIS: ReadonlySet<KpiName> = new Set(['ipUsed', 'ipCapacity', 'ipSubnets', 'ipFree'])
const KPI_SET: ReadonlySet<string> = new Set(KPI_NAMES)
const STATIC_SOURCE = 'static'

function isKpiName (k: unknown): k is KpiName {
  return typeof k === 'string' && KPI_SET.has(k)
}

/** Check one sample; returns the rejection, or undefined when it may be stored. */
export function checkSample (s: KpiSample): { kind: RejectKind, why: string } | undefined {
  if (s === null || typeof s !== 'object') return { kind: 'malformed', why: 'sample is not an object' }
  if (!isCniName(s.plugin)) {
    return { kind: 'malformed', why: `plugin ${JSON.stringify(s.plugin)} is not a CNI network name (letters, digits, _ . -; a letter or digit first)` }
  }
  if (!isKpiName(s.kpi)) return { kind: 'malformed', why: `unknown KPI ${JSON.stringify(s.kpi)}; known: ${KPI_NAMES.join(', ')}` }
  if (typeof s.source !== 'string' || s.source === '') return { kind: 'malformed', why: 'source must be a non-empty string' }
  if (typeof s.atMs !== 'number' || !Number.isFinite(s.atMs) || s.atMs < 0) {
    return { kind: 'malformed', why: `atMs must be finite ms since the epoch, got ${String(s.atMs)}` }
  }
  const { kpi, value: v } = s
  if (typeof v !== 'number' || !Number.isFinite(v)) return { kind: 'not-finite', why: `${kpi} ${String(v)} is not a finite number` }
  if (kpi !== 'headroomBps' && v < 0) return { kind: 'negative', why: `${kpi} ${v} is negative; it cannot be` }
  if (RATIO_KPIS.has(kpi) && v > 1) return { kind: 'out-of-range', why: `${kpi} ${v} is outside 0–1` }
  if (BPS_KPIS.has(kpi) && Math.abs(v) > KPI_LIMITS.maxBps) {
    return { kind: 'absurd', why: `${kpi} ${v} bit/s is beyond ${KPI_LIMITS.maxBps} bit/s (10 Tbit/s)` }
  }
  if (SECONDS_KPIS.has(kpi) && v > KPI_LIMITS.maxLatencySeconds) {
    return { kind: 'absurd', why: `${kpi} ${v} s is beyond ${KPI_LIMITS.maxLatencySeconds} s` }
  }
  if (COUNT_KPIS.has(kpi)) {
    if (!Number.isInteger(v)) return { kind: 'not-integer', why: `${kpi} ${v} is not a whole number of addresses` }
    if (v > KPI_LIMITS.maxIpCount) return { kind: 'absurd', why: `${kpi} ${v} is more addresses than IPv6 has` }
  }
  if (kpi === 'costPerGiB' && v > KPI_LIMITS.maxCostPerGiB) {
    return { kind: 'absurd', why: `costPerGiB ${v} is beyond ${KPI_LIMITS.maxCostPerGiB}` }
  }
  return undefined
}

function checkOptions (opts: KpiStoreOptions): void {
  if (opts === null || typeof opts !== 'object') throw new TypeError('KpiStore: options must be an object')
  if (typeof opts.windowMs !== 'number' || !(opts.windowMs > 0) || !Number.isFinite(opts.windowMs)) {
    throw new RangeError(`KpiStore: windowMs must be a finite number > 0 (ms), got ${String(opts.windowMs)}`)
  }
  if (!Number.isInteger(opts.maxSamplesPerSeries) || opts.maxSamplesPerSeries < 1) {
    throw new RangeError(`KpiStore: maxSamplesPerSeries must be an integer ≥ 1, got ${String(opts.maxSamplesPerSeries)}`)
  }
  const st = opts.staleAfterMs
  if (typeof st === 'number') {
    if (!(st >= 0)) throw new RangeError(`KpiStore: staleAfterMs must be ≥ 0 (ms), got ${st}`)
  } else if (st !== null && typeof st === 'object') {
    for (const [k, v] of Object.entries(st)) {
      if (!isKpiName(k)) throw new RangeError(`KpiStore: staleAfterMs.${k} is not a KPI; known: ${KPI_NAMES.join(', ')}`)
      if (typeof v !== 'number' || !(v >= 0)) throw new RangeError(`KpiStore: staleAfterMs.${k} must be ≥ 0 (ms), got ${String(v)}`)
    }
    const missing = KPI_NAMES.filter((k) => !Object.hasOwn(st, k))
    if (missing.length > 0) throw new RangeError(`KpiStore: staleAfterMs names no staleness for ${missing.join(', ')}; give every KPI one (the agent config fills them all)`)
  } else {
    throw new TypeError('KpiStore: staleAfterMs must be a number of ms or a map KPI → ms')
  }
}

/** Keeps bounded windows of KPI samples per (plugin, KPI) and hands out snapshots. */
export class KpiStore {
  readonly #windowMs: number
  readonly #maxSamples: number
  readonly #staleAfterMs: Readonly<Record<KpiName, number>>
  readonly #series = new Map<string, Map<KpiName, Series>>()
  #rejectedTotal = 0
  readonly #rejectedByKind: Record<RejectKind, number> = Object.fromEntries(REJECT_KINDS.map(k => [k, 0])) as Record<RejectKind, number>

  constructor (opts: KpiStoreOptions) {
    checkOptions(opts)
    this.#windowMs = opts.windowMs
    this.#maxSamples = opts.maxSamplesPerSeries
    const st = opts.staleAfterMs
    this.#staleAfterMs = Object.freeze(Object.fromEntries(KPI_NAMES.map(k =>
      [k, typeof st === 'number' ? st : st[k]])) as Record<KpiName, number>)
  }

  /** Rejections since start (all kinds). */
  get rejectedTotal (): number {
    return this.#rejectedTotal
  }

  /** Rejections since start per kind, for the metrics. */
  get rejectedByKind (): Readonly<Record<RejectKind, number>> {
    return { ...this.#rejectedByKind }
  }

  /**
   * Validate and keep samples. NaN/Infinity, negative values (every KPI but headroomBps is ≥ 0),
   * ratios outside 0–1, fractional address counts and absurd values (> 10 Tbit/s, latency > 60 s)
   * are rejected with a reason and counted, never stored.
   */
  ingest (samples: readonly KpiSample[]): IngestResult {
    if (!Array.isArray(samples)) throw new TypeError('KpiStore.ingest: samples must be an array')
    const result: IngestResult = { accepted: 0, rejected: [] }
    for (const sample of samples) {
      const bad = checkSample(sample)
      if (bad !== undefined) {
        this.#reject(bad.kind)
        result.rejected.push({ sample, why: bad.why })
        continue
      }
      this.#store(sample)
      result.accepted++
    }
    return result
  }

  /** Forget plugins not in this list (the catalog changed). */
  retain (plugins: readonly string[]): void {
    const keep = new Set(plugins)
    for (const p of [...this.#series.keys()]) if (!keep.has(p)) this.#series.delete(p)
  }

  /** Number of samples held for (plugin, kpi), the override included: for tests and diagnostics. */
  seriesLength (plugin: string, kpi: KpiName): number {
    const s = this.#series.get(plugin)?.get(kpi)
    return s === undefined ? 0 : s.samples.length + (s.override === undefined ? 0 : 1)
  }

  /** One reading per known (plugin, KPI) as of `nowMs` (ms since the epoch), derived KPIs included. */
  snapshot (nowMs: number): KpiSnapshot {
    if (typeof nowMs !== 'number' || !Number.isFinite(nowMs)) {
      throw new RangeError(`KpiStore.snapshot: nowMs must be finite ms since the epoch, got ${String(nowMs)}`)
    }
    const plugins: KpiSnapshot['plugins'] = {}
    for (const [plugin, byKpi] of this.#series) {
      const readings: Partial<Record<KpiName, KpiReading>> = {}
      for (const kpi of KPI_NAMES) {
        const series = byKpi.get(kpi)
        if (series === undefined) continue
        const r = this.#read(kpi, series, nowMs)
        if (r !== undefined) readings[kpi] = r
      }
      derive(readings)
      plugins[plugin] = readings
    }
    return { atMs: nowMs, plugins }
  }

  #reject (kind: RejectKind): void {
    this.#rejectedTotal++
    this.#rejectedByKind[kind]++
  }

  #store (s: KpiSample): void {
    let byKpi = this.#series.get(s.plugin)
    if (byKpi === undefined) {
      byKpi = new Map()
      this.#series.set(s.plugin, byKpi)
    }
    let series = byKpi.get(s.kpi)
    if (series === undefined) {
      series = { samples: [] }
      byKpi.set(s.kpi, series)
    }
    const stored: StoredSample = { value: s.value, atMs: s.atMs, source: s.source }
    if (s.source === STATIC_SOURCE) {
      series.override = stored
      return
    }
    const arr = series.samples
    // Keep ascending order; collectors almost always append, so search from the end.
    let i = arr.length
    while (i > 0 && (arr[i - 1] as StoredSample).atMs > s.atMs) i--
    arr.splice(i, 0, stored)
    const newest = arr[arr.length - 1] as StoredSample
    const cutoff = newest.atMs - this.#windowMs
    let drop = 0
    while (drop < arr.length - 1 && (arr[drop] as StoredSample).atMs < cutoff) drop++
    drop = Math.max(drop, arr.length - this.#maxSamples)
    if (drop > 0) arr.splice(0, drop)
  }

  #read (kpi: KpiName, series: Series, nowMs: number): KpiReading | undefined {
    const o = series.override
    if (o !== undefined) {
      return { value: o.value, ageMs: Math.max(0, nowMs - o.atMs), samples: 1, stale: false, source: o.source }
    }
    const arr = series.samples
    const newest = arr[arr.length - 1]
    if (newest === undefined) return undefined
    const cutoff = nowMs - this.#windowMs
    let inWindow = arr.filter(s => s.atMs >= cutoff)
    if (inWindow.length === 0) inWindow = [newest]
    const ageMs = Math.max(0, nowMs - newest.atMs)
    const stale = ageMs > this.#staleAfterMs[kpi]
    const agg = AGGREGATION[kpi]
    if (agg === 'newest') return { value: newest.value, ageMs, samples: 1, stale, source: newest.source }
    const values = inWindow.map(s => s.value)
    const reading: KpiReading = {
      value: agg === 'mean' ? mean(values) : median(values),
      ageMs,
      samples: values.length,
      stale,
      source: newest.source,
    }
    if (values.length >= 2) reading.spread = medianAbsoluteDeviation(values)
    return reading
  }
}

/** A reading made from others: oldest age, fewest samples, stale if any input is. */
function combine (value: number, inputs: readonly KpiReading[]): KpiReading {
  return {
    value,
    ageMs: Math.max(...inputs.map(r => r.ageMs)),
    samples: Math.min(...inputs.map(r => r.samples)),
    stale: inputs.some(r => r.stale),
    source: 'derived',
  }
}

/** A fresh direct measurement wins; otherwise a fresh derived one; otherwise whatever exists. */
function prefer (direct: KpiReading | undefined, derived: KpiReading | undefined): KpiReading | undefined {
  if (direct !== undefined && !direct.stale) return direct
  if (derived !== undefined && !derived.stale) return derived
  return direct ?? derived
}

function derive (r: Partial<Record<KpiName, KpiReading>>): void {
  const { rxBps: rx, txBps: tx } = r
  // The busier direction: each direction is compared with its own capacity, never summed.
  const usage = prefer(r.usageBps, rx !== undefined && tx !== undefined ? combine(Math.max(rx.value, tx.value), [rx, tx]) : undefined)
  if (usage !== undefined) r.usageBps = usage
  const { capacityRxBps: capRx, capacityTxBps: capTx } = r
  const cap = prefer(r.capacityBps, capRx !== undefined && capTx !== undefined ? combine(Math.min(capRx.value, capTx.value), [capRx, capTx]) : undefined)
  if (cap !== undefined) r.capacityBps = cap
  // Headroom of the tighter direction; a direction without its own capacity uses capacityBps.
  const headroom = prefer(r.headroomBps, headroomOf(rx, tx, capRx ?? cap, capTx ?? cap, usage, cap))
  if (headroom !== undefined) r.headroomBps = headroom
  const { ipUsed: used, ipCapacity: ipCap } = r
  const occ = prefer(r.ipOccupancy, used !== undefined && ipCap !== undefined && ipCap.value > 0
    ? combine(Math.min(1, used.value / ipCap.value), [used, ipCap])
    : undefined)
  if (occ !== undefined) r.ipOccupancy = occ
}

/** min over directions of (capacity − usage) when both directions are known; else capacity − usage. */
function headroomOf (rx: KpiReading | undefined, tx: KpiReading | undefined, capRx: KpiReading | undefined, capTx: KpiReading | undefined,
  usage: KpiReading | undefined, cap: KpiReading | undefined): KpiReading | undefined {
  if (rx !== undefined && tx !== undefined && capRx !== undefined && capTx !== undefined) {
    return combine(Math.min(capRx.value - rx.value, capTx.value - tx.value), [rx, tx, capRx, capTx])
  }
  return cap !== undefined && usage !== undefined ? combine(cap.value - usage.value, [cap, usage]) : undefined
}
