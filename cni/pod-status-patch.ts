// The annotations the shim writes on the pod after ADD: Multus-style network-status,
// CNI-Genie's multi-ip-preferences (more than one interface) and netrank.io/selection.
import { ANNOTATIONS } from '../contract/annotations.js'
import type { CniResult } from './versions.js'
import type { WrittenNetworkStatusEntry } from '../contract/network-status.js'

/** An attachment as added: its network name (or NAD), interface and normalized result. */
export interface AddedAttachment { name: string, ifname: string, result: CniResult }

/** network-status entries: the address without prefix length, the mac of the pod-side interface. */
export function networkStatus (added: readonly AddedAttachment[], primaryIfname: string): WrittenNetworkStatusEntry[] {
  return added.map((a) => {
    const ifaces = a.result.interfaces ?? []
    const podIdx = ifaces.findIndex((i) => i.name === a.ifname && i.sandbox !== undefined && i.sandbox !== '')
    const idx = podIdx >= 0 ? podIdx : ifaces.findIndex((i) => i.sandbox !== undefined && i.sandbox !== '')
    const ips = (a.result.ips ?? [])
      .filter((ip) => ip.interface === undefined || idx < 0 || ip.interface === idx)
      .map((ip) => ip.address.split('/')[0] ?? ip.address)
    const entry: WrittenNetworkStatusEntry = { name: a.name, interface: a.ifname, ips, default: a.ifname === primaryIfname, dns: a.result.dns ?? {} }
    const mac = idx >= 0 ? ifaces[idx]?.mac : undefined
    if (mac !== undefined) entry.mac = mac
    return entry
  })
}

/** The annotations to merge-patch onto the pod. */
export function statusAnnotations (added: readonly AddedAttachment[], primaryIfname: string, selection: { plugins: string[], reason: string, decisionId: string }): Record<string, string> {
  const status = networkStatus(added, primaryIfname)
  const out: Record<string, string> = {
    [ANNOTATIONS.networkStatus]: JSON.stringify(status),
    [ANNOTATIONS.selection]: JSON.stringify(selection),
  }
  if (status.length > 1) {
    // CNI-Genie format: {"multi_entry": <count>, "ips": {"ip1": {"ip", "interface"}, …}}
    const ips: Record<string, { ip: string, interface: string }> = {}
    let n = 0
    for (const s of status) for (const ip of s.ips) ips[`ip${++n}`] = { ip, interface: s.interface }
    out[ANNOTATIONS.multiIpPreferences] = JSON.stringify({ multi_entry: n, ips })
  }
  return out
}
