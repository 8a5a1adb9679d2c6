/**
 * A standalone cAdvisor's REST API v1.3 (`/api/v1.3/subcontainers`, a ContainerInfo[];
 * `/api/v1.3/docker` answers a map of the same) → per pod interface counters.
 *
 * Pods are known from the runtime's container labels (`io.kubernetes.pod.*`); the network
 * counters live on the sandbox, labelled `io.kubernetes.container.name: POD` on Docker
 * nodes, `io.cri-containerd.kind: sandbox` on containerd, and
 * `io.kubernetes.docker.type: podsandbox` under cri-dockerd. App containers share the
 * sandbox's netns and report has_network false (or repeat its counters): never added.
 * Only the newest `stats[]` entry is used. JSON.parse turns the 18446744073709551615
 * "no limit" memory values into an inexact float; nothing here reads them.
 */
import { compareCounters, podKey } from './pod-network-counters.js'
import type { PodCounterFilter, PodInterfaceCounters } from './pod-network-counters.js'
import { parseRfc3339Ms } from '../rfc3339.js'

export interface CadvisorParseResult {
  counters: PodInterfaceCounters[]
  /** sandboxes found (pods) */
  sandboxes: number
  /** pods dropped as hostNetwork */
  hostNetworkExcluded: string[]
}

export function isObj (v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v)
}

/** The pod a container belongs to and whether it is the sandbox, from its runtime labels. */
export function podFromLabels (labels: unknown): { namespace: string, pod: string, uid?: string, sandbox: boolean } | undefined {
  if (!isObj(labels)) return undefined
  const pod = labels['io.kubernetes.pod.name']
  const namespace = labels['io.kubernetes.pod.namespace']
  if (typeof pod !== 'string' || typeof namespace !== 'string' || pod === '') return undefined
  const sandbox = labels['io.kubernetes.container.name'] === 'POD' ||
    labels['io.cri-containerd.kind'] === 'sandbox' ||
    labels['io.kubernetes.docker.type'] === 'podsandbox'
  const uid = labels['io.kubernetes.pod.uid']
  return typeof uid === 'string' && uid !== '' ? { namespace, pod, uid, sandbox } : { namespace, pod, sandbox }
}

/** The newest entry of a stats[] array by its RFC 3339 timestamp (array order is not trusted). */
export function newestStats (stats: unknown): { entry: Record<string, unknown>, atMs: number } | undefined {
  if (!Array.isArray(stats)) return undefined
  let best: { entry: Record<string, unknown>, atMs: number } | undefined
  for (const s of stats) {
    if (!isObj(s)) continue
    const t = parseRfc3339Ms(s.timestamp)
    if (t === undefined) continue
    if (best === undefined || t > best.atMs) best = { entry: s, atMs: t }
  }
  return best
}

function counter (v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : undefined
}

/** cAdvisor `network` stats → [{name, rx, tx}], from interfaces[] or the top-level first interface. */
export function interfacesOf (network: unknown): Array<{ name: string, rx: number, tx: number }> {
  if (!isObj(network)) return []
  const list: unknown[] = Array.isArray(network.interfaces) ? network.interfaces : (typeof network.name === 'string' && network.name !== '' ? [network] : [])
  const out: Array<{ name: string, rx: number, tx: number }> = []
  const seen = new Set<string>()
  for (const i of list) {
    if (!isObj(i) || typeof i.name !== 'string' || i.name === '' || seen.has(i.name)) continue
    const rx = counter(i.rx_bytes)
    const tx = counter(i.tx_bytes)
    if (rx === undefined || tx === undefined) continue
    seen.add(i.name)
    out.push({ name: i.name, rx, tx })
  }
  return out
}

/**
 * Parse `/api/v1.3/subcontainers` (array) or a v1.3 map of ContainerInfo. Throws a
 * TypeError when the document is neither.
 */
export function parseCadvisorV1 (input: string | unknown, opts: PodCounterFilter = {}): CadvisorParseResult {
  let doc: unknown = input
  if (typeof input === 'string') {
    try {
      doc = JSON.parse(input)
    } catch (err) {
      throw new TypeError(`cAdvisor v1.3: not JSON (${(err as Error).message})`)
    }
  }
  let infos: unknown[]
  if (Array.isArray(doc)) infos = doc
  else if (isObj(doc)) infos = Object.values(doc)
  else throw new TypeError('cAdvisor v1.3: expected a ContainerInfo array or a map of ContainerInfo')
  const out: PodInterfaceCounters[] = []
  const excluded: string[] = []
  let sandboxes = 0
  for (const c of infos) {
    if (!isObj(c)) continue
    const spec = isObj(c.spec) ? c.spec : {}
    const who = podFromLabels(spec.labels)
    if (who === undefined || !who.sandbox) continue
    sandboxes++
    const key = podKey(who.namespace, who.pod)
    if (opts.hostNetworkPods?.has(key) === true) { excluded.push(key); continue }
    const latest = newestStats(c.stats)
    if (latest === undefined) continue
    const sandboxId = typeof c.id === 'string' ? c.id : typeof c.name === 'string' ? c.name : undefined
    for (const i of interfacesOf(latest.entry.network)) {
      const r: PodInterfaceCounters = { namespace: who.namespace, pod: who.pod, interface: i.name, rxBytes: i.rx, txBytes: i.tx, atMs: latest.atMs }
      if (who.uid !== undefined) r.podUid = who.uid
      if (sandboxId !== undefined) r.sandboxId = sandboxId
      out.push(r)
    }
  }
  return { counters: out.sort(compareCounters), sandboxes, hostNetworkExcluded: excluded }
}
