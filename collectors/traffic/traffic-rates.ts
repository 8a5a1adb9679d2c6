/**
 * Successive per pod interface counters → per-plugin receive and transmit rates (bits/s,
 * the KPI unit), through the shared CounterRates (collectors/traffic/counter-rates.ts):
 * - the first sample of an interface gives no rate; so does a counter reset (a negative
 *   delta) and a new sandbox (its ID is part of the key, so its counters start afresh);
 * - interfaces not seen for `forgetAfterMs` are forgotten (pods that went away);
 * - traffic of interfaces the attribution does not know is summed apart as
 *   `unattributed`, never given to a plugin;
 * - each plugin's reported rate is the mean of its per-cycle rates over `windowMs`.
 */
import { CounterRates } from './counter-rates.js'
import type { KpiSample } from '../../contract/kpis.js'
import type { Attribute } from './attribution.js'
import type { PodInterfaceCounters } from './pod-network-counters.js'

export const TRAFFIC_DEFAULTS = Object.freeze({
  windowMs: 60_000, // 1 min of cycle rates averaged per plugin
  forgetAfterMs: 300_000, // 5 min: an interface not seen for this long belongs to a gone pod
})

export interface TrafficRatesOptions {
  attribute: Attribute
  windowMs?: number
  forgetAfterMs?: number
  /**
   * The node's plugins (catalog). A listed plugin with no attributed interface in a cycle
   * gets a measured 0 (no pods, no traffic) instead of no value.
   */
  plugins?: readonly string[]
}

export interface PluginTraffic {
  plugin: string
  /** windowed receive rate, bits/s */
  rxBps: number
  /** windowed transmit rate, bits/s */
  txBps: number
  /** this cycle's rates, bits/s */
  cycleRxBps: number
  cycleTxBps: number
  /** interfaces attributed to the plugin this cycle (with or without a rate yet) */
  interfaces: number
  /** cycle rates inside the window */
  samples: number
}

export interface TrafficCycle {
  atMs: number
  plugins: PluginTraffic[]
  /** traffic of interfaces no source attributes, bytes/s, this cycle */
  unattributed: { rxBytesPerSecond: number, txBytesPerSecond: number, interfaces: number }
  /** interfaces whose counter gave no rate this cycle (first sample, reset, new sandbox, repeated time) */
  withoutRate: number
}

interface CycleRate { atMs: number, rxBps: number, txBps: number }

/** Keeps counter state between cycles; call update() once per collection. */
export class TrafficRates {
  readonly #attribute: Attribute
  readonly #windowMs: number
  readonly #plugins: readonly string[]
  // rx and tx apart, under the same key: one key string per interface and cycle
  readonly #rx: CounterRates
  readonly #tx: CounterRates
  readonly #history = new Map<string, CycleRate[]>()

  constructor (opts: TrafficRatesOptions) {
    if (opts === null || typeof opts !== 'object' || typeof opts.attribute !== 'function') {
      throw new TypeError('TrafficRates needs attribute(namespace, pod, iface) → plugin | undefined')
    }
    const windowMs = opts.windowMs ?? TRAFFIC_DEFAULTS.windowMs
    if (!Number.isFinite(windowMs) || windowMs <= 0) throw new RangeError(`TrafficRates: windowMs must be > 0 (ms), got ${String(windowMs)}`)
    const forgetAfterMs = opts.forgetAfterMs ?? TRAFFIC_DEFAULTS.forgetAfterMs
    this.#attribute = opts.attribute
    this.#windowMs = windowMs
    this.#plugins = opts.plugins ?? []
    this.#rx = new CounterRates({ forgetAfterMs })
    this.#tx = new CounterRates({ forgetAfterMs })
  }

  /** Interfaces whose counters are tracked (rx and tx count once each). */
  get trackedCounters (): number {
    return this.#rx.size + this.#tx.size
  }

  /**
   * Take one scrape's counters; `nowMs` drives the window and forgetting. `attributed`, when
   * given, is each counter's plugin (same index) as the caller already worked it out;
   * otherwise the attribute option is asked.
   */
  update (counters: readonly PodInterfaceCounters[], nowMs: number, attributed?: ReadonlyArray<string | undefined>): TrafficCycle {
    const rx = new Map<string, number>()
    const tx = new Map<string, number>()
    const ifaces = new Map<string, number>()
    for (const p of this.#plugins) { rx.set(p, 0); tx.set(p, 0); ifaces.set(p, 0) }
    const withRate = new Set<string>()
    const un = { rxBytesPerSecond: 0, txBytesPerSecond: 0, interfaces: 0 }
    let withoutRate = 0
    for (let i = 0; i < counters.length; i++) {
      const c = counters[i] as PodInterfaceCounters
      const key = `${c.namespace}/${c.pod}/${c.interface}/${c.sandboxId ?? ''}`
      const r = this.#rx.observe(key, c.rxBytes, c.atMs)
      const t = this.#tx.observe(key, c.txBytes, c.atMs)
      const plugin = attributed !== undefined ? attributed[i] : this.#attribute(c.namespace, c.pod, c.interface)
      if (plugin === undefined) {
        un.interfaces++
        if (r !== undefined && t !== undefined) { un.rxBytesPerSecond += r; un.txBytesPerSecond += t } else withoutRate++
        continue
      }
      ifaces.set(plugin, (ifaces.get(plugin) ?? 0) + 1)
      if (r === undefined || t === undefined) { withoutRate++; continue }
      withRate.add(plugin)
      rx.set(plugin, (rx.get(plugin) ?? 0) + r * 8)
      tx.set(plugin, (tx.get(plugin) ?? 0) + t * 8)
    }
    this.#rx.sweep(nowMs)
    this.#tx.sweep(nowMs)
    // No attributed interface at all: a measured 0. Interfaces without a rate yet: no sample.
    for (const p of this.#plugins) if (ifaces.get(p) === 0) withRate.add(p)

    // A plugin that had interfaces but none with a rate yet adds no cycle sample.
    for (const plugin of withRate) {
      let h = this.#history.get(plugin)
      if (h === undefined) { h = []; this.#history.set(plugin, h) }
      h.push({ atMs: nowMs, rxBps: rx.get(plugin) ?? 0, txBps: tx.get(plugin) ?? 0 })
    }
    const plugins: PluginTraffic[] = []
    for (const [plugin, h] of this.#history) {
      while (h.length > 0 && (h[0]?.atMs ?? 0) <= nowMs - this.#windowMs) h.shift()
      if (h.length === 0) { this.#history.delete(plugin); continue }
      const n = h.length
      plugins.push({
        plugin,
        rxBps: h.reduce((a, s) => a + s.rxBps, 0) / n,
        txBps: h.reduce((a, s) => a + s.txBps, 0) / n,
        cycleRxBps: withRate.has(plugin) ? rx.get(plugin) ?? 0 : 0,
        cycleTxBps: withRate.has(plugin) ? tx.get(plugin) ?? 0 : 0,
        interfaces: ifaces.get(plugin) ?? 0,
        samples: n,
      })
    }
    plugins.sort((a, b) => (a.plugin < b.plugin ? -1 : a.plugin > b.plugin ? 1 : 0))
    return { atMs: nowMs, plugins, unattributed: un, withoutRate }
  }
}

/** The cycle as KPI samples (rxBps, txBps per plugin); usageBps and headroomBps are the store's to derive. */
export function trafficKpiSamples (cycle: TrafficCycle, source = 'cadvisor'): KpiSample[] {
  const out: KpiSample[] = []
  for (const p of cycle.plugins) {
    out.push({ plugin: p.plugin, kpi: 'rxBps', value: p.rxBps, atMs: cycle.atMs, source })
    out.push({ plugin: p.plugin, kpi: 'txBps', value: p.txBps, atMs: cycle.atMs, source })
  }
  return out
}
