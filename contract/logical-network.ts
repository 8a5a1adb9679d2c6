// CNI-Genie's network isolation objects (group alpha.network.k8s.io, version v1) and their
// validation (docs/isolation.md). A Physicalnetwork is a network the node has (`refer_nic`,
// `sharedStatus {dedicatedNet, plugin, subnet}` — Genie's own sample spells it
// `sharedStaus`: both are read); a Logicalnetwork is a slice of one (`physicalNet`,
// `plugin`, `sub_subnet`) that pods name with `cni: ""` + `networks: net1[:ifname],…`.
// Pure: CIDR arithmetic is passed in (the shim and the agent give ipaddr.js-based ones).

export const ISOLATION_GROUP = 'alpha.network.k8s.io'
export const ISOLATION_VERSION = 'v1'
export const PHYSICAL_PLURAL = 'physicalnetworks'
export const LOGICAL_PLURAL = 'logicalnetworks'

/** The cluster-wide collections (for watches). */
export const ISOLATION_PATHS = Object.freeze({
  logical: `/apis/${ISOLATION_GROUP}/${ISOLATION_VERSION}/${LOGICAL_PLURAL}`,
  physical: `/apis/${ISOLATION_GROUP}/${ISOLATION_VERSION}/${PHYSICAL_PLURAL}`,
})

/** The API path of a namespace's objects of one kind (`plural`), or of one object. */
export function isolationPath (plural: string, namespace: string, name?: string): string {
  return `/apis/${ISOLATION_GROUP}/${ISOLATION_VERSION}/namespaces/${encodeURIComponent(namespace)}/${plural}${name === undefined ? '' : `/${encodeURIComponent(name)}`}`
}

/** A CIDR as a span of addresses: what validation needs of one. */
export interface CidrSpan { family: 4 | 6, first: bigint, last: bigint, text: string }
/** Parses `a.b.c.d/n` or an IPv6 CIDR; undefined when it is not one (host bits set are allowed and masked). */
export type ParseCidr = (text: string) => CidrSpan | undefined

export interface PhysicalNetwork {
  namespace: string
  name: string
  referNic?: string
  dedicated: boolean
  plugin?: string
  subnet?: string
  createdAt: string
}

export interface LogicalNetwork {
  namespace: string
  name: string
  physicalNet: string
  plugin?: string
  subSubnet: string
  createdAt: string
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)
const str = (v: unknown): string | undefined => (typeof v === 'string' && v.trim() !== '' ? v.trim() : undefined)

function meta (obj: unknown): { namespace: string, name: string, createdAt: string } | string {
  if (!isObj(obj) || !isObj(obj.metadata)) return 'the object has no metadata'
  const name = str(obj.metadata.name)
  if (name === undefined) return 'metadata.name is missing'
  return { namespace: str(obj.metadata.namespace) ?? 'default', name, createdAt: str(obj.metadata.creationTimestamp) ?? '' }
}

/** A Physicalnetwork object → its fields, or why it cannot be read. */
export function readPhysicalNetwork (obj: unknown): PhysicalNetwork | string {
  const m = meta(obj)
  if (typeof m === 'string') return m
  const spec = isObj(obj) && isObj(obj.spec) ? obj.spec : undefined
  if (spec === undefined) return `physical network ${m.name}: spec is missing`
  const shared = isObj(spec.sharedStatus) ? spec.sharedStatus : isObj(spec.sharedStaus) ? spec.sharedStaus : {}
  if (shared.dedicatedNet !== undefined && typeof shared.dedicatedNet !== 'boolean') return `physical network ${m.name}: sharedStatus.dedicatedNet must be true or false`
  const out: PhysicalNetwork = { ...m, dedicated: shared.dedicatedNet === true }
  const nic = str(spec.refer_nic)
  if (nic !== undefined) out.referNic = nic
  const plugin = str(shared.plugin)
  if (plugin !== undefined) out.plugin = plugin
  const subnet = str(shared.subnet)
  if (subnet !== undefined) out.subnet = subnet
  return out
}

/** A Logicalnetwork object → its fields, or why it cannot be read. */
export function readLogicalNetwork (obj: unknown): LogicalNetwork | string {
  const m = meta(obj)
  if (typeof m === 'string') return m
  const spec = isObj(obj) && isObj(obj.spec) ? obj.spec : undefined
  if (spec === undefined) return `logical network ${m.name}: spec is missing`
  const physicalNet = str(spec.physicalNet)
  if (physicalNet === undefined) return `logical network ${m.name}: spec.physicalNet is missing`
  const subSubnet = str(spec.sub_subnet)
  if (subSubnet === undefined) return `logical network ${m.name}: spec.sub_subnet is missing`
  const out: LogicalNetwork = { ...m, physicalNet, subSubnet }
  const plugin = str(spec.plugin)
  if (plugin !== undefined) out.plugin = plugin
  return out
}

/** What validation decided for one logical network. */
export interface LogicalVerdict {
  namespace: string
  name: string
  valid: boolean
  /** why it is invalid, or a short "ok: …" */
  reason: string
  network?: LogicalNetwork
  physical?: PhysicalNetwork
  /** the delegate network (conf name) it attaches through */
  plugin?: string
  span?: CidrSpan
}

export interface ValidateInput {
  physicals: readonly unknown[]
  logicals: readonly unknown[]
  parseCidr: ParseCidr
  /** the address ranges of a delegate network's IPAM (host-local ranges, whereabouts range), when known */
  pluginRanges?: (plugin: string) => readonly CidrSpan[] | undefined
}

export const verdictKey = (namespace: string, name: string): string => `${namespace}/${name}`

const within = (inner: CidrSpan, outer: CidrSpan): boolean => inner.family === outer.family && inner.first >= outer.first && inner.last <= outer.last
const overlaps = (a: CidrSpan, b: CidrSpan): boolean => a.family === b.family && a.first <= b.last && b.first <= a.last

/**
 * Validates every logical network against its physical network and its siblings, in a
 * stable order (creation time, then name: the older keeps its claim): the physical network
 * exists in the same namespace; a plugin is named (its own or the physical network's);
 * `sub_subnet` is a CIDR inside the physical subnet (else inside the plugin's IPAM range);
 * it overlaps no earlier logical network of the same physical network; a dedicated physical
 * network holds one logical network.
 */
export function validateLogicalNetworks (input: ValidateInput): Map<string, LogicalVerdict> {
  const out = new Map<string, LogicalVerdict>()
  const physicals = new Map<string, PhysicalNetwork>()
  for (const o of input.physicals) {
    const p = readPhysicalNetwork(o)
    if (typeof p !== 'string') physicals.set(verdictKey(p.namespace, p.name), p)
  }
  const logicals: LogicalNetwork[] = []
  for (const o of input.logicals) {
    const l = readLogicalNetwork(o)
    if (typeof l === 'string') {
      const m = meta(o)
      if (typeof m !== 'string') out.set(verdictKey(m.namespace, m.name), { namespace: m.namespace, name: m.name, valid: false, reason: l })
      continue
    }
    logicals.push(l)
  }
  logicals.sort((a, b) => (a.createdAt < b.createdAt ? -1 : a.createdAt > b.createdAt ? 1 : a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
  const claimed = new Map<string, Array<{ name: string, span: CidrSpan }>>()
  for (const l of logicals) {
    const key = verdictKey(l.namespace, l.name)
    const bad = (reason: string, extra: Partial<LogicalVerdict> = {}): void => { out.set(key, { namespace: l.namespace, name: l.name, valid: false, reason, network: l, ...extra }) }
    const physical = physicals.get(verdictKey(l.namespace, l.physicalNet))
    if (physical === undefined) { bad(`physical network ${l.namespace}/${l.physicalNet} does not exist (or is not readable)`); continue }
    const plugin = l.plugin ?? physical.plugin
    if (plugin === undefined) { bad(`no plugin: set spec.plugin, or sharedStatus.plugin on physical network ${physical.name}`, { physical }); continue }
    const span = input.parseCidr(l.subSubnet)
    if (span === undefined) { bad(`sub_subnet ${JSON.stringify(l.subSubnet)} is not a CIDR`, { physical, plugin }); continue }
    let outer: readonly CidrSpan[] | undefined
    let outerWhat = ''
    if (physical.subnet !== undefined) {
      const p = input.parseCidr(physical.subnet)
      if (p === undefined) { bad(`physical network ${physical.name}'s subnet ${JSON.stringify(physical.subnet)} is not a CIDR`, { physical, plugin }); continue }
      outer = [p]
      outerWhat = `physical network ${physical.name}'s subnet ${physical.subnet}`
    } else {
      outer = input.pluginRanges?.(plugin)
      outerWhat = `plugin ${plugin}'s range ${(outer ?? []).map((r) => r.text).join(', ')}`
    }
    if (outer === undefined || outer.length === 0) { bad(`cannot check sub_subnet ${l.subSubnet}: physical network ${physical.name} has no subnet and plugin ${plugin}'s IPAM range is unknown`, { physical, plugin }); continue }
    if (!outer.some((o) => within(span, o))) { bad(`sub_subnet ${l.subSubnet} does not fall under ${outerWhat}`, { physical, plugin, span }); continue }
    const siblings = claimed.get(verdictKey(physical.namespace, physical.name)) ?? []
    if (physical.dedicated && siblings.length > 0) { bad(`physical network ${physical.name} is dedicated (dedicatedNet: true) and already holds logical network ${siblings[0]?.name ?? '?'}`, { physical, plugin, span }); continue }
    const clash = siblings.find((s) => overlaps(s.span, span))
    if (clash !== undefined) { bad(`sub_subnet ${l.subSubnet} overlaps logical network ${clash.name} (${clash.span.text}) on physical network ${physical.name}`, { physical, plugin, span }); continue }
    siblings.push({ name: l.name, span })
    claimed.set(verdictKey(physical.namespace, physical.name), siblings)
    out.set(key, { namespace: l.namespace, name: l.name, valid: true, reason: `ok: ${l.subSubnet} on physical network ${physical.name} through ${plugin}`, network: l, physical, plugin, span })
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

/** The address ranges an IPAM section hands out from (host-local `ranges`/`subnet`, whereabouts `range`/`ipRanges`). */
export function ipamSpans (ipam: Record<string, unknown>, parseCidr: ParseCidr): CidrSpan[] {
  const out: CidrSpan[] = []
  const add = (v: unknown): void => { if (typeof v === 'string') { const s = parseCidr(v); if (s !== undefined) out.push(s) } }
  if (ipam.type === 'host-local') {
    add(ipam.subnet)
    if (Array.isArray(ipam.ranges)) for (const set of ipam.ranges) if (Array.isArray(set)) for (const r of set) if (isObj(r)) add(r.subnet)
  } else if (ipam.type === 'whereabouts') {
    add(ipam.range)
    if (Array.isArray(ipam.ipRanges)) for (const r of ipam.ipRanges) if (isObj(r)) add(r.range)
  }
  return out
}

/**
 * An IPAM section limited to `sub` (see sliceOf): host-local gets one range (the parent's
 * subnet and gateway with rangeStart/rangeEnd, or the sub_subnet itself), whereabouts
 * `range` with `range_start`/`range_end`. A string says why another IPAM type cannot be.
 */
export function sliceIpam (ipam: Record<string, unknown>, sub: CidrSpan, parseCidr: ParseCidr): Record<string, unknown> | string {
  const parents = ipamSpans(ipam, parseCidr)
  const slice = sliceOf(sub, parents)
  if (ipam.type === 'host-local') {
    const ranges = Array.isArray(ipam.ranges) ? (ipam.ranges as unknown[]).flat() : []
    const gw = (ranges.find((r) => isObj(r) && typeof r.gateway === 'string') as { gateway?: string } | undefined)?.gateway ?? (typeof ipam.gateway === 'string' ? ipam.gateway : undefined)
    const { subnet: _s, rangeStart: _a, rangeEnd: _b, gateway: _g, ranges: _r, ...rest } = ipam
    return { ...rest, ranges: [[{ ...slice, ...(gw !== undefined && slice.rangeStart !== undefined ? { gateway: gw } : {}) }]] }
  }
  if (ipam.type === 'whereabouts') {
    const { range: _r, range_start: _a, range_end: _b, ipRanges: _i, ...rest } = ipam
    return { ...rest, range: slice.subnet, ...(slice.rangeStart === undefined ? {} : { range_start: slice.rangeStart, range_end: slice.rangeEnd }) }
  }
  return `IPAM type ${JSON.stringify(ipam.type)} cannot be limited to a sub_subnet (host-local and whereabouts can)`
}

/** One logical network a pod names: `net1` or `net1:eth4` (CNI-Genie's `networks` annotation). */
export interface LogicalRequest { network: string, ifname?: string }
