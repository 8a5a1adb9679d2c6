// API discovery for the Kubernetes API stand-in: the resource types it serves and the legacy
// discovery documents kubectl reads before any request (/api, /api/v1, /apis, /apis/G,
// /apis/G/V). Aggregated discovery (apidiscovery.k8s.io) is not served: kubectl asks for it
// in its Accept header and falls back to these documents when the answer is plain JSON.

/** One resource type the stand-in serves, as APIResourceList describes it. */
export interface ServedResource {
  group: string // '' for the core group
  version: string
  plural: string
  singular: string
  kind: string
  namespaced: boolean
  shortNames?: string[]
}

const VERBS = Object.freeze(['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'])

export const SERVED_RESOURCES: readonly ServedResource[] = Object.freeze([
  { group: '', version: 'v1', plural: 'pods', singular: 'pod', kind: 'Pod', namespaced: true, shortNames: ['po'] },
  { group: '', version: 'v1', plural: 'namespaces', singular: 'namespace', kind: 'Namespace', namespaced: false, shortNames: ['ns'] },
  { group: '', version: 'v1', plural: 'nodes', singular: 'node', kind: 'Node', namespaced: false, shortNames: ['no'] },
  { group: '', version: 'v1', plural: 'events', singular: 'event', kind: 'Event', namespaced: true, shortNames: ['ev'] },
  { group: 'k8s.cni.cncf.io', version: 'v1', plural: 'network-attachment-definitions', singular: 'network-attachment-definition', kind: 'NetworkAttachmentDefinition', namespaced: true, shortNames: ['net-attach-def'] },
  { group: 'whereabouts.cni.cncf.io', version: 'v1alpha1', plural: 'ippools', singular: 'ippool', kind: 'IPPool', namespaced: true },
  // CNI-Genie's network isolation (docs/isolation.md) and the NetworkPolicies its policy engine reads
  { group: 'alpha.network.k8s.io', version: 'v1', plural: 'physicalnetworks', singular: 'physicalnetwork', kind: 'Physicalnetwork', namespaced: true },
  { group: 'alpha.network.k8s.io', version: 'v1', plural: 'logicalnetworks', singular: 'logicalnetwork', kind: 'Logicalnetwork', namespaced: true },
  { group: 'networking.k8s.io', version: 'v1', plural: 'networkpolicies', singular: 'networkpolicy', kind: 'NetworkPolicy', namespaced: true, shortNames: ['netpol'] },
])

/** The API path prefix of a resource type: `/api/v1` or `/apis/GROUP/VERSION`. */
export function prefixOf (r: Pick<ServedResource, 'group' | 'version'>): string {
  return r.group === '' ? `/api/${r.version}` : `/apis/${r.group}/${r.version}`
}

/** The served resource type at `prefix` + `plural`, if any. */
export function servedResource (prefix: string, plural: string): ServedResource | undefined {
  return SERVED_RESOURCES.find((r) => prefixOf(r) === prefix && r.plural === plural)
}

function groupOf (name: string): object {
  const versions = [...new Set(SERVED_RESOURCES.filter((r) => r.group === name).map((r) => r.version))]
    .map((version) => ({ groupVersion: `${name}/${version}`, version }))
  return { name, versions, preferredVersion: versions[0] }
}

function resourceList (group: string, version: string): object | undefined {
  const resources = SERVED_RESOURCES.filter((r) => r.group === group && r.version === version)
  if (resources.length === 0) return undefined
  return {
    kind: 'APIResourceList',
    apiVersion: 'v1',
    groupVersion: group === '' ? version : `${group}/${version}`,
    resources: resources.map((r) => ({
      name: r.plural,
      singularName: r.singular,
      namespaced: r.namespaced,
      kind: r.kind,
      verbs: [...VERBS],
      ...(r.shortNames === undefined ? {} : { shortNames: [...r.shortNames] }),
    })),
  }
}

/**
 * The discovery document at `pathname`, or undefined when it is not a discovery path (or
 * names a group or version the stand-in does not serve). `serverAddress` is host:port.
 */
export function discoveryDocument (pathname: string, serverAddress: string): object | undefined {
  const segs = pathname.split('/').filter((s) => s.length > 0)
  if (segs[0] === 'api') {
    if (segs.length === 1) {
      return { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress }] }
    }
    return segs.length === 2 ? resourceList('', segs[1] ?? '') : undefined
  }
  if (segs[0] !== 'apis') return undefined
  const groups = [...new Set(SERVED_RESOURCES.map((r) => r.group).filter((g) => g !== ''))]
  if (segs.length === 1) return { kind: 'APIGroupList', apiVersion: 'v1', groups: groups.map(groupOf) }
  const [, group = '', version] = segs
  if (!groups.includes(group)) return undefined
  if (segs.length === 2) return { kind: 'APIGroup', apiVersion: 'v1', ...groupOf(group) }
  return segs.length === 3 && version !== undefined ? resourceList(group, version) : undefined
}
