/**
 * The kubelet's `GET /stats/summary` → per pod interface counters.
 *
 * `pods[].network` is the pod sandbox's network namespace: `interfaces[]` in no
 * particular order (eth0 comes last in the real capture), plus a top-level copy of one
 * interface which must not be added on top. Pods on the host network report the node's
 * interfaces here; the summary does not say which pods those are, and no sound test on
 * the numbers exists (a busy pod can carry most of a node's traffic too), so the caller
 * passes the hostNetwork pods it knows from the API (`hostNetworkPods`).
 * `hostNetworkSuspects()` only lists pods whose counters look like the node's, for
 * diagnostics; it never drops anything.
 */
import { compareCounters, podKey } from './pod-network-counters.js'
import type { PodCounterFilter, PodInterfaceCounters } from './pod-network-counters.js'
import { parseRfc3339Ms } from '../rfc3339.js'

export interface SummaryParseResult {
  counters: PodInterfaceCounters[]
  /** pods without network stats (not started yet, or a runtime that does not report them) */
  podsWithoutNetwork: string[]
  /** pods dropped as hostNetwork */
  hostNetworkExcluded: string[]
}

function isObj (v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v)
}

function counter (v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : undefined
}

/**
 * Parse a summary (the JSON text or the parsed object). Throws a TypeError naming the
 * path when the document is not a summary (no `pods` array, a pod without `podRef`).
 */
export function parseKubeletSummary (input: string | unknown, scrapedAtMs: number, opts: PodCounterFilter = {}): SummaryParseResult {
  let doc: unknown = input
  if (typeof input === 'string') {
    try {
      doc = JSON.parse(input)
    } catch (err) {
      throw new TypeError(`kubelet /stats/summary: not JSON (${(err as Error).message})`)
    }
  }
  if (!isObj(doc) || !Array.isArray(doc.pods)) throw new TypeError('kubelet /stats/summary: expected an object with a "pods" array')
  const out: PodInterfaceCounters[] = []
  const without: string[] = []
  const excluded: string[] = []
  doc.pods.forEach((p: unknown, i: number) => {
    const ref = isObj(p) ? p.podRef : undefined
    if (!isObj(ref) || typeof ref.name !== 'string' || typeof ref.namespace !== 'string') {
      throw new TypeError(`kubelet /stats/summary: pods[${i}].podRef needs string name and namespace`)
    }
    const key = podKey(ref.namespace, ref.name)
    const net = isObj(p) ? p.network : undefined
    if (!isObj(net)) { without.push(key); return }
    if (opts.hostNetworkPods?.has(key) === true) { excluded.push(key); return }
    const atMs = parseRfc3339Ms(net.time) ?? scrapedAtMs
    // interfaces[] when present; else the top-level single interface (older kubelets).
    const ifaces: unknown[] = Array.isArray(net.interfaces) && net.interfaces.length > 0 ? net.interfaces : [net]
    const seen = new Set<string>()
    for (const itf of ifaces) {
      if (!isObj(itf) || typeof itf.name !== 'string' || itf.name === '' || seen.has(itf.name)) continue
      const rx = counter(itf.rxBytes)
      const tx = counter(itf.txBytes)
      if (rx === undefined || tx === undefined) continue
      seen.add(itf.name)
      const c: PodInterfaceCounters = { namespace: ref.namespace, pod: ref.name, interface: itf.name, rxBytes: rx, txBytes: tx, atMs }
      if (typeof ref.uid === 'string' && ref.uid !== '') c.podUid = ref.uid
      out.push(c)
    }
  })
  return { counters: out.sort(compareCounters), podsWithoutNetwork: without, hostNetworkExcluded: excluded }
}

/**
 * Pods whose summed rx and tx are within `tolerance` (relative) of the node's: likely on
 * the host network. Diagnostics only (see the module comment).
 */
export function hostNetworkSuspects (input: unknown, tolerance = 0.01): string[] {
  if (!isObj(input) || !isObj(input.node) || !isObj(input.node.network) || !Array.isArray(input.pods)) return []
  const nodeRx = counter(input.node.network.rxBytes)
  const nodeTx = counter(input.node.network.txBytes)
  if (nodeRx === undefined || nodeTx === undefined || nodeRx === 0) return []
  const out: string[] = []
  for (const p of input.pods) {
    if (!isObj(p) || !isObj(p.podRef) || !isObj(p.network)) continue
    const rx = counter(p.network.rxBytes)
    const tx = counter(p.network.txBytes)
    if (rx === undefined || tx === undefined) continue
    const near = (a: number, b: number): boolean => Math.abs(a - b) <= tolerance * Math.max(b, 1)
    if (near(rx, nodeRx) && near(tx, nodeTx)) out.push(podKey(String(p.podRef.namespace), String(p.podRef.name)))
  }
  return out.sort()
}
