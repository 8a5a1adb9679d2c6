// Logical networks (CNI-Genie's network isolation, docs/isolation.md) → delegate networks:
// the logical network's plugin conf with its IPAM restricted to the sub_subnet (host-local
// `ranges` with rangeStart/rangeEnd, whereabouts `range_start`/`range_end`; see sliceOf)
// under the logical network's own name — so host-local keeps
// its reservations apart (`<dataDir>/<logical name>`), and the attachment record and
// network-status name the logical network. The objects are validated as the agent does
// (contract/logical-network.ts); an invalid one fails the ADD with its reason.
import type { DelegateNetwork, PluginConf } from '../contract/attachment-record.js'
import { LOGICAL_PLURAL, PHYSICAL_PLURAL, isolationPath, validateLogicalNetworks, verdictKey } from '../contract/logical-network.js'
import type { CidrSpan, LogicalRequest } from '../contract/logical-network.js'
import { cidrSpan } from './cidr-span.js'
import { findNetwork, type NetworkCatalog } from './delegate-conf.js'
import { fail } from './errors.js'

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)

/** The address ranges a delegate network's IPAM hands out from (host-local ranges/subnet, whereabouts range). */
export function ipamRanges (network: DelegateNetwork): CidrSpan[] {
  const out: CidrSpan[] = []
  const add = (v: unknown): void => { if (typeof v === 'string') { const s = cidrSpan(v); if (s !== undefined) out.push(s) } }
  for (const p of network.plugins) {
    const ipam = p.ipam
    if (!isObj(ipam)) continue
    if (ipam.type === 'host-local') {
      add(ipam.subnet)
      if (Array.isArray(ipam.ranges)) for (const set of ipam.ranges) if (Array.isArray(set)) for (const r of set) if (isObj(r)) add(r.subnet)
    } else if (ipam.type === 'whereabouts') {
      add(ipam.range)
      if (Array.isArray(ipam.ipRanges)) for (const r of ipam.ipRanges) if (isObj(r)) add(r.range)
    }
  }
  return out
}

/** An address as a dotted quad or IPv6 text, from its value (for rangeStart/rangeEnd). */
function formatAddress (family: 4 | 6, v: bigint): string {
  if (family === 4) return [24n, 16n, 8n, 0n].map((sh) => String((v >> sh) & 0xffn)).join('.')
  const groups: string[] = []
  for (let i = 7; i >= 0; i--) groups.push(((v >> BigInt(i * 16)) & 0xffffn).toString(16))
  return groups.join(':')
}

/**
 * The slice of a pool a logical network hands out. When a range of the base conf holds the
 * sub_subnet (a shared physical network: one bridge, one L2 segment), the pod keeps that
 * range's subnet and gateway and gets an address between rangeStart and rangeEnd — the
 * sub_subnet without the parent's network and broadcast addresses; the policy engine's
 * bridge-family rules then separate the slices. Otherwise the sub_subnet is the range itself.
 */
export function sliceOf (sub: CidrSpan, parents: readonly CidrSpan[]): { subnet: string, rangeStart?: string, rangeEnd?: string } {
  const parent = parents.find((p) => p.family === sub.family && p.first <= sub.first && sub.last <= p.last)
  if (parent === undefined) return { subnet: sub.text }
  const v4 = sub.family === 4
  const first = v4 && sub.first === parent.first ? sub.first + 1n : sub.first
  const last = v4 && sub.last === parent.last ? sub.last - 1n : sub.last
  const base = formatAddress(parent.family, parent.first)
  const bits = parent.family === 4 ? 32 : 128
  const size = parent.last - parent.first + 1n
  const prefix = bits - (size.toString(2).length - 1)
  return { subnet: `${base}/${prefix}`, rangeStart: formatAddress(sub.family, first), rangeEnd: formatAddress(sub.family, last) }
}

/** `network` under `name`, each plugin's IPAM limited to `subSubnet`. Throws code 118 for an IPAM that cannot be limited. */
export function restrictIpam (network: DelegateNetwork, name: string, subSubnet: string): DelegateNetwork {
  const sub = cidrSpan(subSubnet)
  if (sub === undefined) throw fail('NR_CNI_BAD_LOGICAL_NETWORK', `logical network ${name}: sub_subnet ${JSON.stringify(subSubnet)} is not a CIDR`)
  let restricted = 0
  const plugins: PluginConf[] = network.plugins.map((p) => {
    const ipam = p.ipam
    if (!isObj(ipam)) return p
    const parents = ipamRanges({ ...network, plugins: [p] })
    if (ipam.type === 'host-local') {
      // the range's own gateway (explicit, or host-local's default: the subnet's first address) stays the pods' gateway
      const gw = isObj(ipam) && Array.isArray(ipam.ranges) ? ((ipam.ranges as unknown[][]).flat().find((r) => isObj(r) && typeof r.gateway === 'string') as { gateway?: string } | undefined)?.gateway : typeof ipam.gateway === 'string' ? ipam.gateway : undefined
      const { subnet: _s, rangeStart: _a, rangeEnd: _b, gateway: _g, ranges: _r, ...rest } = ipam
      const slice = sliceOf(sub, parents)
      restricted++
      return { ...p, ipam: { ...rest, ranges: [[{ ...slice, ...(gw !== undefined && slice.rangeStart !== undefined ? { gateway: gw } : {}) }]] } }
    }
    if (ipam.type === 'whereabouts') {
      const { range: _r, range_start: _a, range_end: _b, ipRanges: _i, ...rest } = ipam
      const slice = sliceOf(sub, parents)
      restricted++
      return { ...p, ipam: { ...rest, range: slice.subnet, ...(slice.rangeStart === undefined ? {} : { range_start: slice.rangeStart, range_end: slice.rangeEnd }) } }
    }
    throw fail('NR_CNI_BAD_LOGICAL_NETWORK', `logical network ${name}: plugin ${network.name}'s IPAM type ${JSON.stringify(ipam.type)} cannot be limited to sub_subnet ${subSubnet} (host-local and whereabouts can)`)
  })
  if (restricted === 0) throw fail('NR_CNI_BAD_LOGICAL_NETWORK', `logical network ${name}: plugin ${network.name} has no IPAM to limit to sub_subnet ${subSubnet}`)
  return { ...network, name, plugins }
}

/** What resolving needs: the namespace's objects (fetched once per ADD) and the node's delegate confs. */
export interface LogicalDeps {
  namespace: string
  catalog: NetworkCatalog
  confDir: string
  /** GET of a path; undefined on 404 */
  get: (path: string) => Promise<Record<string, unknown> | undefined>
}

const items = (list: Record<string, unknown> | undefined): unknown[] => (Array.isArray(list?.items) ? list.items : [])

/** A resolver for one ADD: lists the namespace's physical and logical networks once. */
export function logicalResolver (deps: LogicalDeps): (req: LogicalRequest) => Promise<DelegateNetwork> {
  let objects: Promise<{ physicals: unknown[], logicals: unknown[] }> | undefined
  const load = async (): Promise<{ physicals: unknown[], logicals: unknown[] }> => {
    const [p, l] = await Promise.all([deps.get(isolationPath(PHYSICAL_PLURAL, deps.namespace)), deps.get(isolationPath(LOGICAL_PLURAL, deps.namespace))])
    return { physicals: items(p), logicals: items(l) }
  }
  return async (req) => {
    objects ??= load()
    const { physicals, logicals } = await objects
    const verdicts = validateLogicalNetworks({
      physicals,
      logicals,
      parseCidr: cidrSpan,
      pluginRanges: (plugin) => {
        const net = deps.catalog.networks.find((n) => n.name === plugin)
        return net === undefined ? undefined : ipamRanges(net)
      },
    })
    const v = verdicts.get(verdictKey(deps.namespace, req.network))
    if (v === undefined) throw fail('NR_CNI_LOGICAL_NETWORK_NOT_FOUND', `logical network ${deps.namespace}/${req.network} does not exist (kubectl get logicalnetworks -n ${deps.namespace})`)
    if (!v.valid || v.plugin === undefined || v.network === undefined) throw fail('NR_CNI_BAD_LOGICAL_NETWORK', `logical network ${deps.namespace}/${req.network}: ${v.reason}`)
    if (deps.catalog.networks.some((n) => n.name === req.network)) throw fail('NR_CNI_BAD_LOGICAL_NETWORK', `logical network ${req.network} has the name of a delegate conf in ${deps.confDir}: rename one (their IPAM state and attribution would mix)`)
    const base = findNetwork(deps.catalog, v.plugin, deps.confDir)
    return restrictIpam(base, req.network, v.network.subSubnet)
  }
}
