// Logical networks (CNI-Genie's network isolation, docs/isolation.md) → delegate networks:
// the logical network's plugin conf with its IPAM restricted to the sub_subnet (host-local
// `ranges` with rangeStart/rangeEnd, whereabouts `range_start`/`range_end`; see sliceOf)
// under the logical network's own name — so host-local keeps
// its reservations apart (`<dataDir>/<logical name>`), and the attachment record and
// network-status name the logical network. The objects are validated as the agent does
// (contract/logical-network.ts); an invalid one fails the ADD with its reason.
import type { DelegateNetwork, PluginConf } from '../contract/attachment-record.js'
import { ipamSpans, LOGICAL_PLURAL, PHYSICAL_PLURAL, isolationPath, sliceIpam, validateLogicalNetworks, verdictKey } from '../contract/logical-network.js'
import type { CidrSpan, LogicalRequest } from '../contract/logical-network.js'
import { cidrSpan } from './cidr-span.js'
import { findNetwork, type NetworkCatalog } from './delegate-conf.js'
import { fail } from './errors.js'

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)

/** The address ranges a delegate network's IPAM hands out from (host-local ranges/subnet, whereabouts range). */
export function ipamRanges (network: DelegateNetwork): CidrSpan[] {
  return network.plugins.flatMap((p) => (isObj(p.ipam) ? ipamSpans(p.ipam, cidrSpan) : []))
}

/** `network` under `name`, each plugin's IPAM limited to `subSubnet`. Throws code 118 for an IPAM that cannot be limited. */
export function restrictIpam (network: DelegateNetwork, name: string, subSubnet: string): DelegateNetwork {
  const sub = cidrSpan(subSubnet)
  if (sub === undefined) throw fail('NR_CNI_BAD_LOGICAL_NETWORK', `logical network ${name}: sub_subnet ${JSON.stringify(subSubnet)} is not a CIDR`)
  let restricted = 0
  const plugins: PluginConf[] = network.plugins.map((p) => {
    if (!isObj(p.ipam)) return p
    const sliced = sliceIpam(p.ipam, sub, cidrSpan)
    if (typeof sliced === 'string') throw fail('NR_CNI_BAD_LOGICAL_NETWORK', `logical network ${name}: plugin ${network.name}'s ${sliced}`)
    restricted++
    return { ...p, ipam: sliced }
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
