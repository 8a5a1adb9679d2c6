/**
 * `netrank collect <cadvisor|probes|ipam> --config FILE --once [--json]`: one collection
 * by one collector, built from the agent config exactly as the agent builds it (enabled or
 * not in the file), printed so an operator sees what feeds the ranking: per pod interface
 * counters with their attribution and per-plugin totals; per-probe results; per-plugin
 * used/capacity and where it came from. Exit 1 when the collector reported an error.
 */
import type { CadvisorCollector, CadvisorReport } from '../collectors/traffic/cadvisor-collector.js'
import type { IpamCollector, IpamReport } from '../collectors/ipam/ipam-collector.js'
import type { ProbesCollector, ProbesReport } from '../collectors/probes/probes-collector.js'
import type { CollectorContext } from '../collectors/types.js'
import type { KpiSample } from '../contract/kpis.js'
import type { Command } from './command.js'
import { UsageError } from './command.js'
import { buildCollectors } from '../agent/build-collectors.js'
import { loadConfig } from '../agent/config/load-config.js'
import type { AgentConfig } from '../agent/config/load-config.js'
import { setTimeout as sleep } from 'node:timers/promises'

const NAMES = ['cadvisor', 'probes', 'ipam'] as const
type LiveName = typeof NAMES[number]

/** What one collection gave, ready to print. */
export interface CollectOutput {
  collector: LiveName
  node: string
  at: string
  errors: string[]
  samples: Array<Omit<KpiSample, 'atMs' | 'source'>>
  cadvisor?: ReturnType<typeof cadvisorView>
  probes?: ProbesReport
  ipam?: IpamReport
}

function cadvisorView (r: CadvisorReport | undefined, rates: CadvisorReport | undefined): unknown {
  if (r === undefined) return undefined
  const totals = new Map<string, { plugin: string, interfaces: number, rxBytes: number, txBytes: number, rxBps?: number, txBps?: number }>()
  for (const i of r.interfaces) {
    const key = i.plugin ?? '(unattributed)'
    let tot = totals.get(key)
    if (tot === undefined) totals.set(key, tot = { plugin: key, interfaces: 0, rxBytes: 0, txBytes: 0 })
    tot.interfaces++
    tot.rxBytes += i.rxBytes
    tot.txBytes += i.txBytes
  }
  for (const p of rates?.plugins ?? []) {
    const tot = totals.get(p.plugin)
    if (tot !== undefined && p.samples > 0) { tot.rxBps = p.cycleRxBps; tot.txBps = p.cycleTxBps }
  }
  return {
    source: r.source,
    url: r.url,
    bytesRead: r.bytes,
    hostNetworkPodsExcluded: r.hostNetworkPods,
    interfaces: r.interfaces.map((i) => ({ namespace: i.namespace, pod: i.pod, interface: i.interface, rxBytes: i.rxBytes, txBytes: i.txBytes, plugin: i.plugin ?? null, attributedBy: i.attributedBy ?? null })),
    plugins: [...totals.values()].sort((a, b) => (a.plugin < b.plugin ? -1 : a.plugin > b.plugin ? 1 : 0)),
    unattributed: rates?.unattributed ?? { interfaces: r.interfaces.filter((i) => i.plugin === undefined).length },
  }
}

/** Runs one collection of `name` with `config`; `rateMs` > 0 takes a second cadvisor scrape that much later for rates. */
export async function collectOnceFor (config: AgentConfig, name: LiveName, opts: { rateMs?: number } = {}): Promise<CollectOutput> {
  const only: AgentConfig = {
    ...config,
    collectors: {
      ...config.collectors,
      static: { ...config.collectors.static, kpis: [] },
      cadvisor: { ...config.collectors.cadvisor, enabled: name === 'cadvisor' },
      probes: { ...config.collectors.probes, enabled: name === 'probes' },
      ipam: { ...config.collectors.ipam, enabled: name === 'ipam' },
    },
  }
  const built = buildCollectors(only)
  const skipped = built.skipped.find((s) => s.name === name)
  if (skipped !== undefined) throw new Error(`collector ${name} cannot run: ${skipped.why}`)
  const collector = built.collectors.find((c) => c.name === name)
  if (collector === undefined) throw new Error(`collector ${name} was not built`)
  const errors: string[] = []
  const samples: KpiSample[] = []
  const ctx: CollectorContext = {
    node: config.node,
    now: Date.now,
    emit: (s) => { samples.push(...s); return 0 },
    reportSuccess: () => undefined,
    reportError: (_c, err) => { errors.push(err instanceof Error ? err.message : String(err)) },
  }
  const out: CollectOutput = { collector: name, node: config.node, at: new Date().toISOString(), errors, samples: [] }
  try {
    await collector.collectOnce(ctx)
    if (name === 'cadvisor') {
      const c = collector as CadvisorCollector
      const first = c.lastReport
      let second: CadvisorReport | undefined
      if ((opts.rateMs ?? 0) > 0 && first !== undefined) {
        await sleep(opts.rateMs)
        await c.collectOnce(ctx)
        second = c.lastReport
      }
      out.cadvisor = cadvisorView(second ?? first, second) as CollectOutput['cadvisor']
    } else if (name === 'probes') {
      out.probes = (collector as ProbesCollector).report()
    } else {
      const r = (collector as IpamCollector).lastReport
      if (r !== undefined) out.ipam = r
    }
  } finally {
    await Promise.allSettled(built.collectors.map(async (c) => { await c.stop() }))
  }
  out.samples = samples.map((s) => ({ plugin: s.plugin, kpi: s.kpi, value: s.value }))
  return out
}

/** Aligned columns: numbers right, text left, the last column not padded. */
export function table (header: string[], rows: string[][], numeric: ReadonlySet<number> = new Set()): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)))
  const line = (cells: string[]): string => cells.map((c, i) => {
    if (i === cells.length - 1) return c
    return numeric.has(i) ? c.padStart(widths[i] ?? 0) : c.padEnd(widths[i] ?? 0)
  }).join('  ').trimEnd()
  return [line(header), ...rows.map(line)].join('\n') + '\n'
}

const mbit = (bps: number | undefined): string => (bps === undefined ? '-' : (bps / 1e6).toFixed(2))

/** The output as text tables. */
export function formatCollectOutput (o: CollectOutput): string {
  const parts: string[] = [`${o.collector} on node ${o.node} at ${o.at}\n`]
  if (o.cadvisor !== undefined) {
    const c = o.cadvisor as { source: string, url: string, interfaces: Array<Record<string, unknown>>, plugins: Array<Record<string, unknown>> }
    parts.push(`source ${c.source} ${c.url}\n\n`)
    parts.push(table(['NAMESPACE', 'POD', 'IFACE', 'RX BYTES', 'TX BYTES', 'PLUGIN', 'BY'],
      c.interfaces.map((i) => [String(i.namespace), String(i.pod), String(i.interface), String(i.rxBytes), String(i.txBytes), String(i.plugin ?? '-'), String(i.attributedBy ?? 'unattributed')]), new Set([3, 4])))
    parts.push('\n')
    parts.push(table(['PLUGIN', 'IFACES', 'RX BYTES', 'TX BYTES', 'RX Mbit/s', 'TX Mbit/s'],
      c.plugins.map((p) => [String(p.plugin), String(p.interfaces), String(p.rxBytes), String(p.txBytes), mbit(p.rxBps as number | undefined), mbit(p.txBps as number | undefined)]), new Set([1, 2, 3, 4, 5])))
  }
  if (o.probes !== undefined) {
    const p = o.probes
    parts.push(table(['PLUGIN', 'KIND', 'RESULT', 'Mbit/s', 'RTT ms', 'CLIENT', 'SERVER', 'ERROR'],
      p.runs.map((r) => [r.plugin, r.kind, r.result, mbit(r.throughputBps), r.rttSeconds === undefined ? '-' : (r.rttSeconds * 1000).toFixed(3), r.client ?? '-', r.server ?? '-', r.error ?? '']), new Set([3, 4])))
    for (const g of p.discovery?.gaps ?? []) parts.push(`not probed: ${g.plugin}: ${g.why}\n`)
  }
  if (o.ipam !== undefined) {
    const n = (v: number | undefined): string => v === undefined ? '-' : String(v)
    parts.push(table(['PLUGIN', 'SOURCE', 'USED', 'CAPACITY', 'SUBNETS', 'FREE', 'FROM', 'ERROR'],
      o.ipam.plugins.map((r) => [r.plugin, r.source ?? '-', n(r.used), n(r.capacity), n(r.subnets), n(r.free), r.detail ?? r.conf ?? '-', r.error ?? '']), new Set([2, 3, 4, 5])))
    // range by range: the set (an ADD takes one address from each), used and free
    const ranges = o.ipam.plugins.flatMap((r) => (r.ranges ?? []).map((x) => [r.plugin, String(x.set), x.subnet, x.range, String(x.used), String(x.capacity), String(x.free)]))
    if (ranges.length > 0) parts.push(table(['PLUGIN', 'SET', 'SUBNET', 'RANGE', 'USED', 'CAPACITY', 'FREE'], ranges, new Set([1, 4, 5, 6])))
  }
  for (const e of o.errors) parts.push(`error: ${e}\n`)
  return parts.join('')
}

export const collectCommand: Command = {
  name: 'collect',
  summary: 'run one collection of a collector and print what it saw (diagnostics)',
  usage: `netrank collect <cadvisor|probes|ipam> --config FILE --once [--json] [--rate-ms MS]

  --config FILE   the agent config (its cni, kubernetes and collectors sections are used,
                  whether the collector is enabled there or not)
  --once          run one collection and exit (required: continuous collection is the agent's job)
  --json          print JSON instead of tables
  --rate-ms MS    cadvisor: scrape again MS later and show per-plugin rates`,
  options: {
    config: { type: 'string', short: 'c' },
    once: { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
    'rate-ms': { type: 'string' },
  },
  positionals: 1,
  async run (values, positionals, io) {
    const name = positionals[0]
    if (name === undefined) throw new UsageError(`name a collector: ${NAMES.join(', ')}`)
    if (!(NAMES as readonly string[]).includes(name)) throw new UsageError(`unknown collector '${name}' (collectors: ${NAMES.join(', ')})`)
    if (typeof values.config !== 'string' || values.config === '') throw new UsageError('--config FILE is required')
    if (values.once !== true) throw new UsageError('--once is required: `netrank collect` runs one collection (the agent collects continuously)')
    let rateMs = 0
    if (values['rate-ms'] !== undefined) {
      rateMs = Number(values['rate-ms'])
      if (!Number.isInteger(rateMs) || rateMs < 1 || rateMs > 600_000) throw new UsageError(`--rate-ms must be an integer number of ms between 1 and 600000, got '${String(values['rate-ms'])}'`)
      if (name !== 'cadvisor') throw new UsageError('--rate-ms applies to cadvisor only')
    }
    const config = await loadConfig(values.config, io.env)
    const out = await collectOnceFor(config, name as LiveName, { rateMs })
    io.stdout.write(values.json === true ? `${JSON.stringify(out, null, 2)}\n` : formatCollectOutput(out))
    return out.errors.length > 0 ? 1 : 0
  },
}
