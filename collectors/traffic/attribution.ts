/**
 * Which plugin (network) carries each pod interface.
 *
 * First the shim's attachment records on this node (it knows what it attached, also for
 * pods whose annotation patch failed), then the pod's `k8s.v1.cni.cncf.io/network-status`
 * annotation (written by the shim or by Multus: `[{name, interface, ips, mac, default}]`).
 * An interface neither names stays unattributed: its traffic is reported as such, never
 * guessed from interface names.
 */

import { ANNOTATIONS } from '../../contract/annotations.js'
import { parseNetworkStatus } from '../../contract/network-status.js'

/** An attachment as the shim recorded it (only the fields attribution needs). */
export interface AttachmentRef {
  ifname: string
  network: string
}

export type Attribute = (namespace: string, pod: string, iface: string) => string | undefined

/**
 * The network name Multus writes is `namespace/nad-name` for attachments and the bare
 * name for the default network; netrank plugins are named by the conf's `name`, so the
 * namespace part is dropped.
 */
export function networkNameToPlugin (name: string): string {
  const slash = name.lastIndexOf('/')
  return slash >= 0 ? name.slice(slash + 1) : name
}

/** interface → plugin from a network-status value; entries without an interface are skipped. */
export function interfacesFromNetworkStatus (value: string): Map<string, string> {
  const m = new Map<string, string>()
  for (const e of parseNetworkStatus(value)) {
    if (e.interface === undefined || e.interface === '' || m.has(e.interface)) continue
    m.set(e.interface, networkNameToPlugin(e.name))
  }
  return m
}

export interface AttributionSources {
  /** the shim's attachment records for a pod on this node (first) */
  attachments?: (namespace: string, pod: string) => readonly AttachmentRef[] | undefined
  /** the pod's annotations, from the agent's pod cache (second) */
  annotations?: (namespace: string, pod: string) => Readonly<Record<string, string>> | undefined
  /** a bad annotation is reported here and treated as absent */
  onError?: (namespace: string, pod: string, err: unknown) => void
}

/**
 * Build an attribution function. Results of the annotation parse are cached per
 * annotation value, so a cycle over thousands of interfaces parses each pod's JSON once.
 */
export function makeAttribution (src: AttributionSources): Attribute {
  const cache = new Map<string, Map<string, string>>()
  return (namespace, pod, iface) => {
    const recs = src.attachments?.(namespace, pod)
    if (recs !== undefined) {
      for (const r of recs) if (r.ifname === iface) return r.network
    }
    const value = src.annotations?.(namespace, pod)?.[ANNOTATIONS.networkStatus]
    if (value === undefined) return undefined
    let m = cache.get(value)
    if (m === undefined) {
      try {
        m = interfacesFromNetworkStatus(value)
      } catch (err) {
        src.onError?.(namespace, pod, err)
        m = new Map()
      }
      // Bound the cache: values change as pods come and go.
      if (cache.size > 10_000) cache.clear()
      cache.set(value, m)
    }
    return m.get(iface)
  }
}
