// Pod annotations → what the pod asked for (docs/contract.md#pod-annotations). Pure parsing,
// no I/O, shared by the shim (which plans the attachments) and the agent (which answers the
// shim's plan request: the NADs to fetch, whether smart selection applies).
// Precedence: k8s.v1.cni.cncf.io/networks → `networks` with `cni` blank or missing (logical
// networks) → `cni` missing (defaults) → `cni` listed → `cni` blank (smart).
import { ANNOTATIONS } from './annotations.js'
import { EXPECTED_BANDWIDTH_MAX_LENGTH } from './select-api.js'
import { ifnameProblem, isCniName, isDns1123Subdomain } from './names.js'
import type { LogicalRequest } from './logical-network.js'

export type { LogicalRequest } from './logical-network.js'

/** One network named in the `cni` annotation. */
export interface CniRequest { network: string, ifname?: string }
/** One NetworkAttachmentDefinition named in the networks annotation. */
export interface NadRequest { name: string, namespace: string, ifname?: string }

/** What the annotations ask for. */
export type PodRequest =
  | { mode: 'nad', nads: NadRequest[], profile: string | undefined }
  | { mode: 'logical', networks: LogicalRequest[], profile: string | undefined }
  | { mode: 'explicit', networks: CniRequest[], profile: string | undefined }
  | { mode: 'default', profile: string | undefined, expectedBandwidth: string | undefined }
  | { mode: 'smart', profile: string | undefined, expectedBandwidth: string | undefined }


/** An annotation the pod's owner got wrong: `key` names it, the message says why (the shim's code 101). */
export class PodRequestError extends Error {
  override readonly name = 'PodRequestError'
  readonly key: string
  constructor (key: string, why: string) {
    super(`${key}: ${why}`)
    this.key = key
  }
}

function badAnnotation (key: string, why: string): Error {
  return new PodRequestError(key, why)
}

function splitIfname (entry: string, key: string): { name: string, ifname?: string } {
  const at = entry.indexOf('@')
  if (at < 0) return { name: entry }
  const name = entry.slice(0, at)
  const ifname = entry.slice(at + 1)
  const problem = ifnameProblem(ifname)
  if (problem !== undefined) throw badAnnotation(key, `interface in ${JSON.stringify(entry)} ${problem}`)
  return { name, ifname }
}

/** Parses the CNI-Genie `cni` list: `"weave,canal"`, `"flannel@eth1,weave"`. Blank → []. */
export function parseCniAnnotation (value: string): CniRequest[] {
  if (value.trim() === '') return []
  return value.split(',').map((raw) => {
    const entry = raw.trim()
    if (entry === '') throw badAnnotation(ANNOTATIONS.cni, `empty entry in ${JSON.stringify(value)}`)
    const { name, ifname } = splitIfname(entry, ANNOTATIONS.cni)
    if (!isCniName(name)) throw badAnnotation(ANNOTATIONS.cni, `${JSON.stringify(name)} is not a network name`)
    return ifname === undefined ? { network: name } : { network: name, ifname }
  })
}

function checkNadName (name: string, what: string): void {
  if (!isDns1123Subdomain(name)) {
    throw badAnnotation(ANNOTATIONS.networks, `${what} ${JSON.stringify(name)} is not a lowercase DNS-1123 name`)
  }
}

/** Parses `[ns/]name[@ifname]` lists or the JSON list form `[{name, namespace?, interface?}]`. */
export function parseNetworksAnnotation (value: string, podNamespace: string): NadRequest[] {
  const text = value.trim()
  const out: NadRequest[] = []
  if (text.startsWith('[')) {
    let list: unknown
    try {
      list = JSON.parse(text)
    } catch (err) {
      throw badAnnotation(ANNOTATIONS.networks, `not valid JSON (${(err as Error).message})`)
    }
    if (!Array.isArray(list)) throw badAnnotation(ANNOTATIONS.networks, 'JSON form must be a list')
    for (const item of list) {
      if (typeof item !== 'object' || item === null || Array.isArray(item)) throw badAnnotation(ANNOTATIONS.networks, 'every JSON entry must be an object')
      const o = item as Record<string, unknown>
      if (typeof o.name !== 'string') throw badAnnotation(ANNOTATIONS.networks, 'every JSON entry needs a "name" string')
      const namespace = o.namespace === undefined ? podNamespace : o.namespace
      if (typeof namespace !== 'string') throw badAnnotation(ANNOTATIONS.networks, `"namespace" of ${o.name} must be a string`)
      checkNadName(o.name, 'name')
      checkNadName(namespace, 'namespace')
      const req: NadRequest = { name: o.name, namespace }
      if (o.interface !== undefined) {
        if (typeof o.interface !== 'string') throw badAnnotation(ANNOTATIONS.networks, `"interface" of ${o.name} must be a string`)
        const problem = ifnameProblem(o.interface)
        if (problem !== undefined) throw badAnnotation(ANNOTATIONS.networks, `interface of ${o.name} ${problem}`)
        req.ifname = o.interface
      }
      out.push(req)
    }
  } else {
    for (const raw of text.split(',')) {
      const entry = raw.trim()
      if (entry === '') throw badAnnotation(ANNOTATIONS.networks, `empty entry in ${JSON.stringify(value)}`)
      const { name: qualified, ifname } = splitIfname(entry, ANNOTATIONS.networks)
      const parts = qualified.split('/')
      if (parts.length > 2) throw badAnnotation(ANNOTATIONS.networks, `${JSON.stringify(entry)} has more than one '/'`)
      const name = parts.length === 2 ? parts[1] ?? '' : parts[0] ?? ''
      const namespace = parts.length === 2 ? parts[0] ?? '' : podNamespace
      checkNadName(name, 'name')
      checkNadName(namespace, 'namespace')
      out.push(ifname === undefined ? { name, namespace } : { name, namespace, ifname })
    }
  }
  if (out.length === 0) throw badAnnotation(ANNOTATIONS.networks, 'the list is empty')
  return out
}

/** CNI-Genie's logical networks list: `net1`, `net1:eth0,net2:eth4` (docs/isolation.md). */
export function parseLogicalRequest (value: string): LogicalRequest[] {
  const key = ANNOTATIONS.logicalNetworks
  const out: LogicalRequest[] = []
  for (const raw of value.split(',')) {
    const entry = raw.trim()
    if (entry === '') throw badAnnotation(key, `empty entry in ${JSON.stringify(value)}`)
    const colon = entry.indexOf(':')
    const name = colon < 0 ? entry : entry.slice(0, colon)
    if (!isDns1123Subdomain(name)) throw badAnnotation(key, `${JSON.stringify(name)} is not a logical network name (a lowercase DNS-1123 name)`)
    if (out.some((r) => r.network === name)) throw badAnnotation(key, `${name} is named twice`)
    if (colon < 0) { out.push({ network: name }); continue }
    const ifname = entry.slice(colon + 1)
    const problem = ifnameProblem(ifname)
    if (problem !== undefined) throw badAnnotation(key, `interface in ${JSON.stringify(entry)} ${problem}`)
    out.push({ network: name, ifname })
  }
  return out
}

/** What the pod's annotations ask for, by the precedence of docs/contract.md#pod-annotations. */
export function readPodRequest (annotations: Record<string, string>, podNamespace: string): PodRequest {
  const profileRaw = annotations[ANNOTATIONS.profile]
  const profile = profileRaw === undefined || profileRaw.trim() === '' ? undefined : profileRaw.trim()
  const networks = annotations[ANNOTATIONS.networks]
  if (networks !== undefined && networks.trim() !== '') {
    return { mode: 'nad', nads: parseNetworksAnnotation(networks, podNamespace), profile }
  }
  // passed to the agent as written (it parses it and says why it ignores a bad one); an
  // overlong value is cut to what the agent accepts, so it is refused there, not here
  const bwRaw = annotations[ANNOTATIONS.expectedBandwidth]?.trim()
  const expectedBandwidth = bwRaw === undefined || bwRaw === '' ? undefined : bwRaw.slice(0, EXPECTED_BANDWIDTH_MAX_LENGTH)
  const cni = annotations[ANNOTATIONS.cni]
  // CNI-Genie: a blank (or absent) `cni` with `networks` names logical networks
  const logical = annotations[ANNOTATIONS.logicalNetworks]
  if ((cni === undefined || cni.trim() === '') && logical !== undefined && logical.trim() !== '') {
    return { mode: 'logical', networks: parseLogicalRequest(logical), profile }
  }
  if (cni === undefined) return { mode: 'default', profile, expectedBandwidth }
  const listed = parseCniAnnotation(cni)
  if (listed.length === 0) return { mode: 'smart', profile, expectedBandwidth }
  return { mode: 'explicit', networks: listed, profile }
}
