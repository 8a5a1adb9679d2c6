// The `k8s.v1.cni.cncf.io/network-status` annotation (network plumbing WG format), as the
// shim writes it and as the collectors read it (the shim's or Multus').
import { ANNOTATIONS } from './annotations.js'
import { isObject } from './json.js'

/** DNS settings of a CNI result. */
export interface CniDns { nameservers?: string[], domain?: string, search?: string[], options?: string[] }

/**
 * One network-status entry. The shim always writes interface, ips, default and dns;
 * readers accept entries with only a name (Multus omits fields it does not know).
 */
export interface NetworkStatusEntry {
  /** the network's name; Multus writes `namespace/nad-name` for attachments */
  name: string
  interface?: string
  ips?: string[]
  mac?: string
  default?: boolean
  dns?: CniDns
}

/** An entry as the shim writes it: every field but mac is always present. */
export interface WrittenNetworkStatusEntry extends NetworkStatusEntry {
  interface: string
  ips: string[]
  default: boolean
  dns: CniDns
}

/**
 * Parses a network-status value. Throws a TypeError naming the entry on a value that is
 * not a JSON array of objects with a string `name`; unknown or mistyped fields are dropped.
 */
export function parseNetworkStatus (value: string): NetworkStatusEntry[] {
  const key = ANNOTATIONS.networkStatus
  let doc: unknown
  try {
    doc = JSON.parse(value)
  } catch (err) {
    throw new TypeError(`${key}: not JSON (${(err as Error).message})`)
  }
  if (!Array.isArray(doc)) throw new TypeError(`${key}: expected a JSON array`)
  return doc.map((e: unknown, i: number) => {
    if (!isObject(e) || typeof e.name !== 'string') throw new TypeError(`${key}[${i}]: needs a string "name"`)
    const out: NetworkStatusEntry = { name: e.name }
    if (typeof e.interface === 'string') out.interface = e.interface
    if (Array.isArray(e.ips)) out.ips = e.ips.filter((x): x is string => typeof x === 'string')
    if (typeof e.mac === 'string') out.mac = e.mac
    if (typeof e.default === 'boolean') out.default = e.default
    return out
  })
}
