/**
 * CNI-Genie's logical networks as pools of their own (docs/isolation.md): each valid logical
 * network's slice of its plugin's IPAM, so the ipam collector reports its occupancy under
 * the logical network's name (host-local keeps its reservations in `<dataDir>/<name>`).
 * Validation is contract/logical-network.ts's, the shim's and the policy engine's.
 */
import type { KubernetesObject } from '@kubernetes/client-node'
import { ipamSpans, validateLogicalNetworks } from '../../contract/logical-network.js'
import type { CidrSpan, LogicalVerdict } from '../../contract/logical-network.js'
import type { KubeCache } from '../kube-watch.js'
import { cidrSpan } from './cidr-span.js'
import type { NetworkConf } from './cni-confs.js'

export interface IsolationCaches {
  logical: () => Promise<KubeCache<KubernetesObject>>
  physical: () => Promise<KubeCache<KubernetesObject>>
}

/** The IPAM ranges of a conf by name (for logical networks whose physical network gives no subnet). */
export function confRanges (confs: ReadonlyMap<string, NetworkConf>): (plugin: string) => CidrSpan[] | undefined {
  return (plugin) => {
    const ipam = confs.get(plugin)?.ipam
    return ipam === undefined ? undefined : ipamSpans(ipam, cidrSpan)
  }
}

/** The valid logical networks now (empty until both kinds were listed). */
export async function validLogicalNetworks (caches: IsolationCaches, confs: ReadonlyMap<string, NetworkConf>): Promise<LogicalVerdict[]> {
  const [l, p] = await Promise.all([caches.logical(), caches.physical()])
  if (!l.synced || !p.synced) return []
  const verdicts = validateLogicalNetworks({ logicals: l.list(), physicals: p.list(), parseCidr: cidrSpan, pluginRanges: confRanges(confs) })
  return [...verdicts.values()].filter((v) => v.valid && v.span !== undefined && v.plugin !== undefined)
}
