/**
 * Which collectors an agent runs, from its config: static always; cadvisor, probes and
 * ipam when enabled, sharing one attachment-records reader and one set of Kubernetes
 * watches (started on first use, stopped with the last collector). Their non-KPI
 * figures go to the agent's metrics through CollectorHooks.
 */
import type { Collector } from '../collectors/types.js'
import { AttachmentRecordsSource } from '../collectors/attachment-records-source.js'
import { createCadvisorCollector } from '../collectors/traffic/cadvisor-collector.js'
import type { CollectorHooks, CollectorLog } from '../collectors/collector-hooks.js'
import { createIpamCollector } from '../collectors/ipam/ipam-collector.js'
import { SharedKube } from '../collectors/kube-watch.js'
import { ISOLATION_PATHS } from '../contract/logical-network.js'
import { createProbesCollector } from '../collectors/probes/probes-collector.js'
import { createStaticCollector } from '../collectors/static-collector.js'
import type { AgentConfig } from './config/load-config.js'
import type { AgentMetrics } from './metrics.js'

/** A collector that is configured but cannot run, and why. */
export interface SkippedCollector {
  name: string
  why: string
}

export interface CollectorDeps {
  /** metrics the collectors feed besides KPIs (absent in the diagnostics CLI) */
  metrics?: AgentMetrics
  log?: CollectorLog
  now?: () => number
  /** the agent's Kubernetes access, shared with its plan service (the agent stops it); built here when absent */
  kube?: SharedKube
}

/** The agent's hooks: unattributed traffic, probe runs and RTTs, ADD durations and fallbacks onto its metrics. */
export function metricsHooks (node: string, metrics: AgentMetrics | undefined, log: CollectorLog | undefined): CollectorHooks {
  const hooks: CollectorHooks = {}
  if (log !== undefined) hooks.log = log
  if (metrics === undefined) return hooks
  hooks.unattributed = (rx, tx) => {
    metrics.unattributed.set({ node, direction: 'receive' }, rx)
    metrics.unattributed.set({ node, direction: 'transmit' }, tx)
  }
  hooks.probeRun = (plugin, result) => metrics.probeRuns.inc({ node, plugin, result })
  hooks.probeRtt = (plugin, seconds) => metrics.probeRtt.observe({ node, plugin }, seconds)
  hooks.cniAddDuration = (seconds) => metrics.cniAddDuration.observe(seconds)
  // the shim fell back without the agent: no profile was applied
  hooks.fallback = (plugin, reason) => metrics.selections.inc({ node, plugin, reason, profile: 'none' })
  // a plugin's ranges replace its last cycle's: a range dropped from the conf leaves no series behind
  const shown = new Map<string, Array<{ subnet: string, range: string }>>()
  hooks.ipamRanges = (plugin, ranges) => {
    for (const r of shown.get(plugin) ?? []) metrics.ipamRangeFree.remove({ node, plugin, ...r })
    for (const r of ranges) metrics.ipamRangeFree.set({ node, plugin, subnet: r.subnet, range: r.range }, r.free)
    shown.set(plugin, ranges.map((r) => ({ subnet: r.subnet, range: r.range })))
  }
  return hooks
}

/** `kubernetes` is configured: a kubeconfig or the pod's service account. */
export function hasKubernetes (config: AgentConfig): boolean {
  return config.kubernetes.kubeconfig !== undefined || config.kubernetes.inCluster
}

/** The collectors of `config`. `stop` of the last one also stops the shared Kubernetes watches. */
export function buildCollectors (config: AgentConfig, deps: CollectorDeps = {}): { collectors: Collector[], skipped: SkippedCollector[] } {
  const collectors: Collector[] = [
    createStaticCollector({ kpis: config.collectors.static.kpis, catalog: config.plugins, intervalMs: config.collectors.static.intervalMs }),
  ]
  const skipped: SkippedCollector[] = []
  const c = config.collectors
  if (!c.cadvisor.enabled && !c.probes.enabled && !c.ipam.enabled) return { collectors, skipped }

  const hooks = metricsHooks(config.node, deps.metrics, deps.log)
  const plugins = config.plugins.map((p) => p.name)
  const records = new AttachmentRecordsSource({ stateDir: config.cni.stateDir, ...(deps.now !== undefined ? { now: deps.now } : {}) })
  const ownKube = deps.kube === undefined
  const kube = deps.kube ?? (hasKubernetes(config) ? new SharedKube(config.kubernetes, config.node) : undefined)
  const live: Collector[] = []

  if (c.cadvisor.enabled) {
    live.push(createCadvisorCollector({
      node: config.node,
      ...c.cadvisor,
      plugins,
      records,
      ...(kube !== undefined ? { nodePods: async () => await kube.nodePods() } : {}),
      recordEvents: !c.ipam.enabled,
      ...(c.probes.enabled ? { probePodLabel: c.probes.podLabel } : {}),
      hooks,
    }))
  }
  if (c.probes.enabled) {
    if (kube === undefined) {
      skipped.push({ name: 'probes', why: 'probe pods are found through the Kubernetes API and `kubernetes` is not configured' })
    } else {
      live.push(createProbesCollector({
        node: config.node,
        plugins,
        podLabel: c.probes.podLabel,
        port: c.probes.port,
        iperf3: c.probes.iperf3,
        rtt: c.probes.rtt,
        tcpRr: c.probes.tcpRr,
        budget: c.probes.budget,
        samples: c.probes.samples,
        peers: c.probes.peers,
        peerRotationMs: c.probes.peerRotationMs,
        records,
        probePods: async () => await kube.labelledPods(c.probes.podLabel),
        nodes: async () => await kube.nodes(),
        hooks,
      }))
    }
  }
  // ADD durations and fallbacks are counted once, by one collector: ipam when enabled, else cadvisor.
  if (c.ipam.enabled) {
    live.push(createIpamCollector({
      plugins,
      confDir: config.cni.confDir,
      hostLocalDataDir: config.cni.hostLocalDataDir,
      intervalMs: c.ipam.intervalMs,
      records,
      ...(c.ipam.whereabouts && kube !== undefined ? { ipPools: async () => await kube.ipPools() } : {}),
      // CNI-Genie's logical networks, each a pool of its own (a cluster without their CRDs: the watches stay unsynced, nothing is reported)
      ...(kube !== undefined ? { logicalNetworks: { logical: async () => await kube.collection(ISOLATION_PATHS.logical), physical: async () => await kube.collection(ISOLATION_PATHS.physical) } } : {}),
      recordEvents: true,
      hooks,
    }))
  }

  // The shared watches stop after the last live collector stopped.
  let running = live.length
  for (const col of live) {
    const stop = col.stop
    col.stop = async () => {
      await stop()
      if (--running === 0 && ownKube) await kube?.stop()
    }
    collectors.push(col)
  }
  return { collectors, skipped }
}
