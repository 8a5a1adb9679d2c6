/**
 * The `cri` traffic source: the container runtime's ListPodSandboxStats (CRI runtime.v1)
 * → per pod interface counters. Each sandbox reports its default interface (eth0) and any
 * others with cumulative rx/tx bytes and the time the runtime read them. The sandbox id
 * is the CNI container id, so the collector attributes these counters to the shim's
 * attachment records by container id and ifname, exactly. hostNetwork and probe pods
 * (known from the API) are left out as for the other sources.
 */
import type { CriClient, SandboxNetworkStats } from '../cri/cri-client.js'
import { compareCounters, podKey } from './pod-network-counters.js'
import type { PodCounterFilter, PodInterfaceCounters } from './pod-network-counters.js'

export interface CriCountersResult {
  counters: PodInterfaceCounters[]
  /** sandboxes the runtime reported no network stats for (not ready, or NODE network) */
  sandboxesWithoutNetwork: string[]
  /** pods dropped as hostNetwork or probe pods */
  excluded: string[]
}

/** The largest byte count a JS number holds exactly; CRI counters are uint64. */
const MAX_EXACT = BigInt(Number.MAX_SAFE_INTEGER)

/** ListPodSandboxStats' answer → counters, sorted as the other sources' are. */
export function criCounters (stats: readonly SandboxNetworkStats[], scrapedAtMs: number, opts: PodCounterFilter = {}): CriCountersResult {
  const out: PodInterfaceCounters[] = []
  const without: string[] = []
  const excluded: string[] = []
  for (const s of stats) {
    const key = podKey(s.metadata.namespace, s.metadata.name)
    if (s.metadata.name === '' || s.id === '') continue
    if (opts.hostNetworkPods?.has(key) === true) { excluded.push(key); continue }
    if (s.interfaces.length === 0) { without.push(key); continue }
    // the runtime's read time; a runtime that gives none is taken as read at the scrape
    const atMs = s.timestampNs === undefined ? scrapedAtMs : Number(s.timestampNs / 1_000_000n)
    const seen = new Set<string>()
    for (const i of s.interfaces) {
      if (i.name === '' || seen.has(i.name) || i.rxBytes === undefined || i.txBytes === undefined) continue
      if (i.rxBytes > MAX_EXACT || i.txBytes > MAX_EXACT) continue // 8 PiB: a counter no rate can come from
      seen.add(i.name)
      const c: PodInterfaceCounters = { namespace: s.metadata.namespace, pod: s.metadata.name, interface: i.name, rxBytes: Number(i.rxBytes), txBytes: Number(i.txBytes), atMs, sandboxId: s.id }
      if (s.metadata.uid !== '') c.podUid = s.metadata.uid
      out.push(c)
    }
  }
  return { counters: out.sort(compareCounters), sandboxesWithoutNetwork: without, excluded }
}

/** One ListPodSandboxStats call, as a traffic scrape. `bytes` is 0: gRPC frames are not counted here. */
export async function scrapeCriCounters (cri: CriClient, nowMs: number, opts: PodCounterFilter = {}): Promise<{ source: 'cri', counters: PodInterfaceCounters[], bytes: number }> {
  const stats = await cri.listPodSandboxStats()
  return { source: 'cri', counters: criCounters(stats, nowMs, opts).counters, bytes: 0 }
}
