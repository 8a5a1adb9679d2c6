/**
 * The cadvisor collector: every `intervalMs` one scrape of the configured traffic source
 * (kubelet /metrics/cadvisor directly or through the API server's node proxy, the
 * kubelet's /stats/summary, or a standalone cAdvisor's REST API), per pod interface
 * counters attributed to plugins (the shim's attachment records first, then the pod's
 * network-status annotation from the node's pod informer; hostNetwork and probe pods excluded),
 * rates over `windowMs` → `rxBps`/`txBps` per plugin (bits/s). Traffic no source
 * attributes is reported apart (hook + log), never given to a plugin.
 * A failed scrape is reported and emits nothing: the store keeps the last values until
 * they go stale.
 */
import { readFile } from 'node:fs/promises'
import { makeAttribution } from './attribution.js'
import type { AttachmentRecordsSource } from '../attachment-records-source.js'
import { periodic } from '../collector-loop.js'
import { errorText } from '../collector-hooks.js'
import type { CollectorHooks } from '../collector-hooks.js'
import { HttpClient } from '../http-fetch.js'
import type { KubeCache, PodObject } from '../kube-watch.js'
import { PodCounterAggregator, podKey } from './pod-network-counters.js'
import type { PodInterfaceCounters } from './pod-network-counters.js'
import { TrafficRates, trafficKpiSamples } from './traffic-rates.js'
import type { PluginTraffic, TrafficCycle } from './traffic-rates.js'
import type { CriClient } from '../cri/cri-client.js'
import { scrapeCriCounters } from './cri-stats.js'
import { scrapeCadvisorV1Counters, scrapeCadvisorV2Counters, scrapePromCounters, scrapeSummaryCounters } from './traffic-sources.js'
import type { TrafficScrape } from './traffic-sources.js'
import type { Collector, CollectorContext } from '../types.js'

export type CadvisorSource = 'kubelet-metrics' | 'node-proxy-metrics' | 'kubelet-summary' | 'cadvisor-v1' | 'cadvisor-v2' | 'cri'

/** containerd's CRI socket on a node */
export const DEFAULT_CRI_SOCKET = '/run/containerd/containerd.sock'

export interface CadvisorCollectorOptions {
  node: string
  source: CadvisorSource
  /** base URL: kubelet, API server (node-proxy-metrics) or cAdvisor; unused by `cri` */
  url: string
  /** the container runtime's CRI socket (source `cri`) */
  criSocket?: string
  /** re-read every cycle: service-account tokens rotate */
  tokenFile?: string
  caFile?: string
  insecureSkipTlsVerify?: boolean
  intervalMs: number
  windowMs: number
  timeoutMs: number
  maxResponseBytes: number
  /** the catalog: a plugin without pods gets a measured 0 */
  plugins: readonly string[]
  records?: AttachmentRecordsSource
  /** this node's pods (network-status attribution, hostNetwork exclusion, cAdvisor v2 UIDs) */
  nodePods?: () => Promise<KubeCache<PodObject>>
  /** pods carrying this label are probe pods: their traffic is the probes' own, not load (left out like hostNetwork pods) */
  probePodLabel?: string
  /** count ADD durations and shim fallbacks from new records (when the ipam collector does not) */
  recordEvents?: boolean
  hooks?: CollectorHooks
}

/** One pod interface as the last cycle saw it. */
export interface AttributedCounters extends PodInterfaceCounters {
  plugin: string | undefined
  attributedBy: 'attachment-record' | 'network-status' | undefined
}

/** What the last successful cycle saw (the diagnostics CLI prints it). */
export interface CadvisorReport {
  atMs: number
  source: CadvisorSource
  url: string
  bytes: number
  interfaces: AttributedCounters[]
  plugins: PluginTraffic[]
  unattributed: TrafficCycle['unattributed']
  withoutRate: number
  hostNetworkPods: number
}

/** The URL a source is scraped at (for `cri`, `base` is the runtime's socket path). */
export function sourceUrl (source: CadvisorSource, base: string, node: string): string {
  const b = base.replace(/\/+$/, '')
  switch (source) {
    case 'kubelet-metrics': return `${b}/metrics/cadvisor`
    case 'node-proxy-metrics': return `${b}/api/v1/nodes/${encodeURIComponent(node)}/proxy/metrics/cadvisor`
    case 'kubelet-summary': return `${b}/stats/summary`
    case 'cadvisor-v1': return `${b}/api/v1.3/subcontainers`
    case 'cadvisor-v2': return `${b}/api/v2.0/stats?type=docker&recursive=true`
    case 'cri': return `unix://${base}` // base: the runtime's socket path
  }
}

export interface CadvisorCollector extends Collector {
  /** the last successful cycle, or undefined */
  readonly lastReport: CadvisorReport | undefined
}

/** Builds the cadvisor collector. */
export function createCadvisorCollector (opts: CadvisorCollectorOptions): CadvisorCollector {
  const name = 'cadvisor'
  const url = sourceUrl(opts.source, opts.source === 'cri' ? opts.criSocket ?? DEFAULT_CRI_SOCKET : opts.url, opts.node)
  let client: HttpClient | undefined
  let cri: CriClient | undefined
  let clientKey = ''
  let lastReport: CadvisorReport | undefined
  let lastUnattributedIfaces = 0
  // kept from scrape to scrape: each pod interface's entry is made once, not every cycle.
  // A scrape that overlaps another (runCollectorsOnce beside the loop) gets a new one.
  const aggregator = new PodCounterAggregator()
  let aggregatorBusy = false

  // Each cycle attributes every interface once, up front (records, then network-status), and
  // hands the result to the rates; the report for the CLI is built from the same arrays.
  const rates = new TrafficRates({
    attribute: () => undefined,
    windowMs: opts.windowMs,
    // pods gone for 5 windows are forgotten
    forgetAfterMs: opts.windowMs * 5,
    plugins: opts.plugins,
  })

  // A token or CA change rebuilds the client; otherwise its keep-alive sockets are reused.
  const clientFor = async (): Promise<HttpClient> => {
    const token = opts.tokenFile !== undefined ? (await readFile(opts.tokenFile, 'utf8')).trim() : undefined
    const ca = opts.caFile !== undefined ? await readFile(opts.caFile) : undefined
    const key = `${token ?? ''}\u0000${ca?.toString('base64') ?? ''}`
    if (client === undefined || key !== clientKey) {
      client?.close()
      client = new HttpClient({
        timeoutMs: opts.timeoutMs,
        maxBytes: opts.maxResponseBytes,
        ...(token !== undefined ? { bearerToken: token } : {}),
        ...(ca !== undefined ? { ca } : {}),
        insecureSkipTlsVerify: opts.insecureSkipTlsVerify === true,
      })
      clientKey = key
    }
    return client
  }

  const collectOnce = async (ctx: CollectorContext): Promise<void> => {
    const hooks = opts.hooks
    // Pods from the API are a second attribution source: a failure there is reported, the scrape still runs.
    let pods: readonly PodObject[] = []
    let podsCache: KubeCache<PodObject> | undefined
    if (opts.nodePods !== undefined) {
      try {
        podsCache = await opts.nodePods()
        pods = podsCache.list()
        if (!podsCache.synced && podsCache.lastError !== undefined) throw new Error(`pods watch: ${podsCache.lastError}`)
      } catch (err) {
        ctx.reportError(name, new Error(`cannot list this node's pods (attribution by network-status and hostNetwork exclusion are off this cycle): ${errorText(err)}`))
      }
    }
    const annotations = new Map<string, Record<string, string>>()
    // pods whose counters are not load on a pod network: hostNetwork pods (they report the
    // node's own traffic) and probe pods (their traffic is the probes' own measurement)
    const excluded = new Set<string>()
    const uids = new Map<string, { namespace: string, pod: string }>()
    for (const p of pods) {
      const ns = p.metadata?.namespace ?? ''
      const pn = p.metadata?.name ?? ''
      const k = podKey(ns, pn)
      if (p.spec?.hostNetwork === true) excluded.add(k)
      if (opts.probePodLabel !== undefined && p.metadata?.labels?.[opts.probePodLabel] !== undefined) excluded.add(k)
      if (p.metadata?.annotations !== undefined) annotations.set(k, p.metadata.annotations)
      if (p.metadata?.uid !== undefined) uids.set(p.metadata.uid, { namespace: ns, pod: pn })
    }
    try {
      const view = opts.records?.read()
      if (view !== undefined && opts.recordEvents === true) opts.records?.reportEvents(hooks, view)
      // a corrupted record is named and counted once per version; the others still attribute
      for (const e of opts.records?.takeNewErrors() ?? []) {
        ctx.reportError(name, new Error(`attachment record ${e.file} in ${opts.records?.stateDir ?? '?'} skipped (its interfaces fall back to network-status): ${e.error}`))
      }
    } catch (err) {
      ctx.reportError(name, new Error(`cannot read attachment records in ${opts.records?.stateDir ?? '?'}: ${errorText(err)}`))
    }
    const byStatus = makeAttribution({
      annotations: (ns, pod) => annotations.get(podKey(ns, pod)),
      onError: (ns, pod, err) => hooks?.log?.warn({ collector: name, pod: `${ns}/${pod}`, err }, 'bad network-status annotation; its interfaces stay unattributed'),
    })

    let scrape: TrafficScrape
    const started = ctx.now()
    try {
      const filter = { hostNetworkPods: excluded }
      if (opts.source === 'cri') {
        // loaded on first use: gRPC and its proto loader are ~16 MB of RSS an agent on the
        // kubelet's page never needs
        cri ??= new (await import('../cri/cri-client.js')).CriClient(opts.criSocket ?? DEFAULT_CRI_SOCKET, { timeoutMs: opts.timeoutMs })
        scrape = await scrapeCriCounters(cri, started, filter)
      } else {
      const c = await clientFor()
      switch (opts.source) {
        case 'kubelet-metrics':
        case 'node-proxy-metrics': {
          const reuse = !aggregatorBusy
          aggregatorBusy = true
          try {
            scrape = await scrapePromCounters(c, url, started, filter, 'kubelet-metrics', reuse ? aggregator : undefined)
          } finally {
            if (reuse) aggregatorBusy = false
          }
          break
        }
        case 'kubelet-summary':
          scrape = await scrapeSummaryCounters(c, url, started, filter)
          break
        case 'cadvisor-v1':
          scrape = await scrapeCadvisorV1Counters(c, url, filter)
          break
        case 'cadvisor-v2':
          scrape = await scrapeCadvisorV2Counters(c, url, { ...filter, resolvePod: (uid) => uids.get(uid) })
          break
      }
      }
    } catch (err) {
      ctx.reportError(name, new Error(`scrape of ${url} failed: ${errorText(err)}`))
      return
    }
    const counters = scrape.counters
    const plugins: Array<string | undefined> = new Array<string | undefined>(counters.length)
    const by: Array<AttributedCounters['attributedBy']> = new Array<AttributedCounters['attributedBy']>(counters.length)
    const recordsOf = opts.records?.attachmentsOf
    const recordsOfContainer = opts.records?.attachmentsOfContainer
    // the counters come a pod's interfaces one after another: its records are looked up once
    let lastNs: string | undefined
    let lastPod: string | undefined
    let podRecs: ReturnType<NonNullable<typeof recordsOf>>
    for (let i = 0; i < counters.length; i++) {
      const c = counters[i] as PodInterfaceCounters
      let plugin: string | undefined
      if (c.pod !== lastPod || c.namespace !== lastNs) {
        lastNs = c.namespace
        lastPod = c.pod
        podRecs = recordsOf?.(c.namespace, c.pod)
      }
      // by sandbox id when the source gives it (cri: the CNI container id), else by pod
      const recs = (c.sandboxId !== undefined && opts.source === 'cri' ? recordsOfContainer?.(c.sandboxId) : undefined) ?? podRecs
      if (recs !== undefined) for (const r of recs) if (r.ifname === c.interface) { plugin = r.network; break }
      if (plugin !== undefined) { plugins[i] = plugin; by[i] = 'attachment-record'; continue }
      plugin = byStatus(c.namespace, c.pod, c.interface)
      plugins[i] = plugin
      by[i] = plugin !== undefined ? 'network-status' : undefined
    }
    const atMs = ctx.now()
    const cycle = rates.update(counters, atMs, plugins)
    const rejected = ctx.emit(trafficKpiSamples(cycle, name))
    hooks?.unattributed?.(cycle.unattributed.rxBytesPerSecond, cycle.unattributed.txBytesPerSecond)
    if (cycle.unattributed.interfaces !== lastUnattributedIfaces) {
      hooks?.log?.[cycle.unattributed.interfaces > 0 ? 'warn' : 'info']({
        collector: name, interfaces: cycle.unattributed.interfaces,
        rxBytesPerSecond: cycle.unattributed.rxBytesPerSecond, txBytesPerSecond: cycle.unattributed.txBytesPerSecond,
      }, 'pod interfaces without attribution (no attachment record, no network-status entry): their traffic counts for no plugin')
      lastUnattributedIfaces = cycle.unattributed.interfaces
    }

    // built when asked for (the diagnostics CLI): a cycle allocates no per-interface report
    let interfaces: AttributedCounters[] | undefined
    const interfacesOf = (): AttributedCounters[] =>
      (interfaces ??= counters.map((c, i) => ({ ...c, plugin: plugins[i], attributedBy: by[i] })))
    lastReport = {
      atMs, source: opts.source, url, bytes: scrape.bytes, get interfaces () { return interfacesOf() }, plugins: cycle.plugins,
      unattributed: cycle.unattributed, withoutRate: cycle.withoutRate, hostNetworkPods: excluded.size,
    }
    if (rejected > 0) ctx.reportError(name, new Error(`${rejected} traffic sample(s) rejected by the store`))
    else ctx.reportSuccess(name, atMs)
  }

  const loop = periodic(name, opts.intervalMs, collectOnce)

  return {
    name,
    get lastReport () { return lastReport },
    collectOnce,
    start: loop.start,
    async stop () {
      await loop.stop()
      client?.close()
      client = undefined
      cri?.close()
      cri = undefined
    },
  }
}
