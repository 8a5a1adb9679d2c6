// Pod annotations netrank reads and writes (docs/contract.md#pod-annotations).

/** Annotation keys, one definition for the shim, the collectors and the agent. */
export const ANNOTATIONS = Object.freeze({
  /** CNI-Genie's network list: `"a,b@eth1"`; blank means smart selection */
  cni: 'cni',
  /** Multus / network plumbing WG: `[ns/]name[@ifname]` list or the JSON list form */
  networks: 'k8s.v1.cni.cncf.io/networks',
  /** CNI-Genie's logical networks, with a blank `cni`: `net1`, `net1:eth0,net2:eth4` (docs/isolation.md) */
  logicalNetworks: 'networks',
  /** the selection profile for smart selection */
  profile: 'netrank.io/profile',
  /** the pod's expected traffic for smart selection: `200M` both ways, or `{"rx":"1G","tx":"100M"}` */
  expectedBandwidth: 'netrank.io/expected-bandwidth',
  /** written after ADD: the attachments (network plumbing WG format) */
  networkStatus: 'k8s.v1.cni.cncf.io/network-status',
  /** written after ADD when there is more than one interface (CNI-Genie format) */
  multiIpPreferences: 'multi-ip-preferences',
  /** written after ADD: what netrank chose and why (SelectionAnnotation) */
  selection: 'netrank.io/selection',
  /** the kubelet's mark on a static pod's mirror: its API uid is not the sandbox's K8S_POD_UID */
  mirror: 'kubernetes.io/config.mirror',
})

/** The value of `netrank.io/selection`. */
export interface SelectionAnnotation {
  plugins: string[]
  /** explicit | default | smart | logical | fallback-<why> (NAD mode records explicit) */
  reason: string
  decisionId: string
}
