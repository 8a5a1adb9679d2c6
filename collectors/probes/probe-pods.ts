/**
 * Probe pod discovery: which pair of probe pods measures each plugin.
 *
 * A probe pod carries the label `podLabel` whose value names the plugin (its `cni`
 * annotation names the same plugin, so the shim attaches it there). The CLIENT is a probe
 * pod of plugin P on this node with an attachment record for network P: the record gives
 * its netns (the agent runs iperf3 inside it) and its address. The SERVER is another
 * probe pod of P, one of the client's k ring peers (peer-ring.ts: on other nodes first, so
 * N agents spread over N servers instead of all hitting the first-named one; on this node
 * only when there is no remote one, the lab); the peers take turns within a rotation. Its
 * address on P comes from its attachment record when it is on this node, else from its
 * network-status annotation (the entry of network P); a pod without one is not a peer.
 */
import { ANNOTATIONS } from '../../contract/annotations.js'
import { networkNameToPlugin } from '../traffic/attribution.js'
import { parseNetworkStatus } from '../../contract/network-status.js'
import type { RecordedAttachment } from '../attachment-records-source.js'
import type { NodeObject, PodObject } from '../kube-watch.js'
import { ringPeers } from './peer-ring.js'

export interface ProbeEndpoint {
  namespace: string
  pod: string
  node: string | undefined
  ip: string
  /** where the address came from */
  from: 'attachment-record' | 'network-status'
}

export interface ProbePair {
  plugin: string
  client: ProbeEndpoint & { netns: string }
  /** the peer measured now: peers take turns, each for rotationMs / peers.length */
  server: ProbeEndpoint
  /** the client's ring peers this rotation (server is one of them) */
  peers: ProbeEndpoint[]
}

/** A plugin without a usable pair, and why (shown by the diagnostics CLI). */
export interface ProbeGap {
  plugin: string
  why: string
}

export interface ProbeDiscovery {
  pairs: ProbePair[]
  gaps: ProbeGap[]
}

export interface DiscoverOptions {
  node: string
  podLabel: string
  plugins: readonly string[]
  pods: readonly PodObject[]
  attachments: readonly RecordedAttachment[]
  /** the time the peers are chosen for (default Date.now()) */
  nowMs?: number
  /** peers per client (default PEER_DEFAULTS.peers) */
  peers?: number
  /** the ring is shuffled every rotationMs (default PEER_DEFAULTS.rotationMs) */
  rotationMs?: number
  /** nodes whose probe pods are no peers (cordoned or NotReady: unavailableNodes) */
  excludedNodes?: ReadonlySet<string>
}

/**
 * The nodes a probe must not measure towards: cordoned (spec.unschedulable — being drained,
 * its pods about to go) or NotReady (a Ready condition whose status is not "True": the
 * kubelet is not reporting, its network may be half gone). A node without a Ready condition
 * yet is not excluded (nothing is known against it). Pure.
 */
export function unavailableNodes (nodes: readonly NodeObject[]): Set<string> {
  const out = new Set<string>()
  for (const n of nodes) {
    const name = n.metadata?.name
    if (name === undefined || name === '') continue
    const ready = n.status?.conditions?.find((c) => c.type === 'Ready')
    if (n.spec?.unschedulable === true || (ready !== undefined && ready.status !== 'True')) out.add(name)
  }
  return out
}

/** Two peers, a new ring every hour. */
export const PEER_DEFAULTS = Object.freeze({ peers: 2, rotationMs: 3_600_000 })

const usable = (p: PodObject): boolean =>
  p.metadata?.deletionTimestamp === undefined && (p.status?.phase === undefined || p.status.phase === 'Running' || p.status.phase === 'Pending')

function statusIp (p: PodObject, plugin: string): string | undefined {
  const v = p.metadata?.annotations?.[ANNOTATIONS.networkStatus]
  if (v === undefined) return undefined
  try {
    const e = parseNetworkStatus(v).find((x) => networkNameToPlugin(x.name) === plugin && (x.ips?.length ?? 0) > 0)
    return e?.ips?.[0]
  } catch {
    return undefined
  }
}

const byName = (a: PodObject, b: PodObject): number => {
  const x = `${a.metadata?.namespace ?? ''}/${a.metadata?.name ?? ''}`
  const y = `${b.metadata?.namespace ?? ''}/${b.metadata?.name ?? ''}`
  return x < y ? -1 : x > y ? 1 : 0
}

/** The probe pairs of every plugin in `plugins`; deterministic for a given nowMs. */
export function discoverProbePairs (o: DiscoverOptions): ProbeDiscovery {
  const pairs: ProbePair[] = []
  const gaps: ProbeGap[] = []
  const recordOf = (p: PodObject, plugin: string): RecordedAttachment | undefined => o.attachments.find((a) =>
    a.network === plugin && a.namespace === p.metadata?.namespace && a.pod === p.metadata?.name && a.state !== 'del-failed')
  for (const plugin of o.plugins) {
    const pods = o.pods.filter((p) => p.metadata?.labels?.[o.podLabel] === plugin && usable(p)).sort(byName)
    if (pods.length === 0) { gaps.push({ plugin, why: `no pod labelled ${o.podLabel}=${plugin}` }); continue }
    const local = pods.filter((p) => p.spec?.nodeName === o.node)
    let client: ProbePair['client'] | undefined
    let clientPod: PodObject | undefined
    for (const p of local) {
      const r = recordOf(p, plugin)
      if (r?.ip !== undefined && r.netns !== '') {
        client = { namespace: r.namespace, pod: r.pod, node: o.node, ip: r.ip, from: 'attachment-record', netns: r.netns }
        clientPod = p
        break
      }
    }
    if (client === undefined) {
      gaps.push({ plugin, why: local.length === 0 ? `no probe pod of ${plugin} on node ${o.node}` : `no attachment record with an address on ${plugin} for the probe pod(s) on ${o.node} (${local.map((p) => p.metadata?.name ?? '?').join(', ')})` })
      continue
    }
    // peers on cordoned or NotReady nodes are left out (this node's own pods never: the client is here)
    const excluded = (p: PodObject): boolean => p.spec?.nodeName !== o.node && p.spec?.nodeName !== undefined && o.excludedNodes?.has(p.spec.nodeName) === true
    const skipped = pods.filter((p) => p !== clientPod && excluded(p))
    const others = pods.filter((p) => p !== clientPod && !excluded(p))
    const members: Array<ProbeEndpoint & { key: string }> = [{ ...client, key: `${client.namespace}/${client.pod}` }]
    for (const p of others) {
      const onThisNode = p.spec?.nodeName === o.node
      const rec = onThisNode ? recordOf(p, plugin) : undefined
      const ip = rec?.ip ?? statusIp(p, plugin)
      if (ip === undefined) continue // no address (yet): not a peer
      const namespace = p.metadata?.namespace ?? ''
      const pod = p.metadata?.name ?? ''
      members.push({ key: `${namespace}/${pod}`, namespace, pod, node: p.spec?.nodeName, ip, from: rec?.ip !== undefined ? 'attachment-record' : 'network-status' })
    }
    if (members.length < 2) {
      const why = others.length > 0
        ? `no address on ${plugin} for the peer probe pod(s) (${others.map((p) => p.metadata?.name ?? '?').join(', ')})`
        : skipped.length > 0
          ? `the other probe pods of ${plugin} are on cordoned or NotReady nodes (${[...new Set(skipped.map((p) => p.spec?.nodeName ?? '?'))].join(', ')})`
          : `only one probe pod of ${plugin} (${client.pod}); a peer is needed`
      gaps.push({ plugin, why })
      continue
    }
    const nowMs = o.nowMs ?? Date.now()
    const rotationMs = Math.max(1, o.rotationMs ?? PEER_DEFAULTS.rotationMs)
    const chosen = ringPeers(members, members[0] as ProbeEndpoint & { key: string }, { plugin, epoch: Math.floor(nowMs / rotationMs), k: o.peers ?? PEER_DEFAULTS.peers })
    const peers: ProbeEndpoint[] = chosen.map(({ key: _key, ...e }) => e)
    const turn = Math.floor((((nowMs % rotationMs) + rotationMs) % rotationMs) / (rotationMs / peers.length))
    const server = peers[Math.min(turn, peers.length - 1)] as ProbeEndpoint
    pairs.push({ plugin, client, server, peers })
  }
  return { pairs, gaps }
}
