/**
 * IPv4 and IPv6 address and CIDR maths on BigInt (parsing and formatting by ipaddr.js), and
 * the two IPAM plugins' ideas of
 * which addresses of a subnet can be handed out:
 * - host-local (containernetworking/plugins, allocator/range.go Canonicalize):
 *   rangeStart defaults to network+1, rangeEnd to the last address (the broadcast − 1
 *   for IPv4, the last address for IPv6), the gateway (default network+1) is skipped,
 *   and /31, /32, /127, /128 are "too small to allocate from".
 * - whereabouts (pkg/allocate IterateForAssignment): network and broadcast excluded,
 *   range_start/range_end honoured, exclude entries are whole subnets (masked) or
 *   single addresses.
 */
import ipaddr from 'ipaddr.js'

export type IpFamily = 4 | 6

export interface IpAddress {
  family: IpFamily
  value: bigint
}

export interface Cidr {
  family: IpFamily
  /** the network address (host bits cleared) */
  network: bigint
  prefix: number
  /** the address as written before the slash (host bits kept) */
  address: bigint
}

/** An inclusive range of addresses of one family. */
export interface AddressRange {
  family: IpFamily
  first: bigint
  last: bigint
}

function bitsOf (family: IpFamily): number {
  return family === 4 ? 32 : 128
}

// Parsing and formatting are ipaddr.js's; the ranges below are the plugins' own rules.
function toBigint (bytes: readonly number[]): bigint {
  let v = 0n
  for (const byte of bytes) v = (v << 8n) | BigInt(byte)
  return v
}

function toBytes (value: bigint, count: number): number[] {
  const out: number[] = []
  for (let i = count - 1; i >= 0; i--) out.push(Number((value >> BigInt(i * 8)) & 0xffn))
  return out
}

function parseIpv4 (s: string): bigint | undefined {
  // four decimal parts, no leading zeros beyond "0" (Go's net.ParseIP rejects them too)
  return ipaddr.IPv4.isValidFourPartDecimal(s) ? toBigint(ipaddr.IPv4.parse(s).toByteArray()) : undefined
}

function parseIpv6 (s: string): bigint | undefined {
  // a zone (fe80::1%eth0) is no address of a pool
  if (s.includes('%') || !ipaddr.IPv6.isValid(s)) return undefined
  // ipaddr.js reads the deprecated IPv4-compatible form "::a.b.c.d" as IPv4-mapped
  // (::ffff:a.b.c.d); Go, and so the IPAM plugins, read it as ::a.b.c.d
  const compat = /^::(\d+\.\d+\.\d+\.\d+)$/.exec(s)
  if (compat !== null) return parseIpv4(compat[1] ?? '')
  return toBigint(ipaddr.IPv6.parse(s).toByteArray())
}

/** Parse a literal IPv4 or IPv6 address; throws a TypeError naming the input when it is not one. */
export function parseIp (s: string): IpAddress {
  const t = typeof s === 'string' ? s.trim() : ''
  if (t.includes(':')) {
    const v = parseIpv6(t)
    if (v !== undefined) return { family: 6, value: v }
  } else {
    const v = parseIpv4(t)
    if (v !== undefined) return { family: 4, value: v }
  }
  throw new TypeError(`not an IPv4 or IPv6 address: ${JSON.stringify(s)}`)
}

/** Like parseIp, but undefined instead of an error (file names in a state dir, annotations). */
export function tryParseIp (s: string): IpAddress | undefined {
  try {
    return parseIp(s)
  } catch {
    return undefined
  }
}

/** Parse `addr/prefix`; throws a TypeError naming the input on a bad address or prefix. */
export function parseCidr (s: string): Cidr {
  if (typeof s !== 'string') throw new TypeError(`not a CIDR: ${JSON.stringify(s)}`)
  const slash = s.indexOf('/')
  if (slash < 0) throw new TypeError(`not a CIDR (no /prefix): ${JSON.stringify(s)}`)
  const ip = parseIp(s.slice(0, slash))
  const p = s.slice(slash + 1).trim()
  const bits = bitsOf(ip.family)
  if (!/^[0-9]{1,3}$/.test(p) || Number(p) > bits) {
    throw new TypeError(`bad prefix length in ${JSON.stringify(s)} (0–${bits} for IPv${ip.family})`)
  }
  const prefix = Number(p)
  return { family: ip.family, network: ip.value & maskOf(ip.family, prefix), prefix, address: ip.value }
}

function maskOf (family: IpFamily, prefix: number): bigint {
  const bits = BigInt(bitsOf(family))
  const all = (1n << bits) - 1n
  return (all << (bits - BigInt(prefix))) & all
}

/** Number of addresses in the CIDR, network and broadcast included. */
export function cidrSize (c: Cidr): bigint {
  return 1n << BigInt(bitsOf(c.family) - c.prefix)
}

/** The last address of the CIDR (the IPv4 broadcast). */
export function cidrLast (c: Cidr): bigint {
  return c.network + cidrSize(c) - 1n
}

export function cidrContains (c: Cidr, ip: IpAddress): boolean {
  return ip.family === c.family && ip.value >= c.network && ip.value <= cidrLast(c)
}

export function rangeContains (r: AddressRange, ip: IpAddress): boolean {
  return ip.family === r.family && ip.value >= r.first && ip.value <= r.last
}

/** Addresses in an inclusive range (0 when last < first). */
export function rangeSize (r: AddressRange): bigint {
  return r.last >= r.first ? r.last - r.first + 1n : 0n
}

/** Format an address the way Go's net.IP.String() does (IPv6 compressed per RFC 5952, lower case). */
export function formatIp (ip: IpAddress): string {
  if (ip.family === 4) return ipaddr.fromByteArray(toBytes(ip.value, 4)).toString()
  return (ipaddr.fromByteArray(toBytes(ip.value, 16)) as ipaddr.IPv6).toRFC5952String()
}

/** One host-local range as written in a conf (`ranges[][]` entry or the legacy top-level form). */
export interface HostLocalRangeConf {
  subnet: string
  rangeStart?: string
  rangeEnd?: string
  gateway?: string
}

/** A host-local range after Canonicalize: where allocation may happen, and the skipped gateway. */
export interface HostLocalRange {
  subnet: Cidr
  range: AddressRange
  gateway: bigint
  /** addresses host-local can hand out: the range minus the gateway when it lies inside */
  usable: bigint
}

function mustBeIn (what: string, ip: IpAddress, r: HostLocalRangeConf, c: Cidr): void {
  if (!cidrContains(c, ip)) {
    throw new RangeError(`host-local range ${r.subnet}: ${what} ${formatIp(ip)} is not in the subnet`)
  }
}

/** Apply host-local's Canonicalize rules to one range; throws with the offending field on a bad conf. */
export function hostLocalRange (r: HostLocalRangeConf): HostLocalRange {
  if (r === null || typeof r !== 'object' || typeof r.subnet !== 'string') {
    throw new TypeError('host-local range needs a "subnet" string, e.g. "10.22.0.0/16"')
  }
  const subnet = parseCidr(r.subnet)
  const bits = bitsOf(subnet.family)
  if (subnet.prefix > bits - 2) {
    throw new RangeError(`host-local range ${r.subnet}: network too small to allocate from (/${subnet.prefix})`)
  }
  const gateway = r.gateway !== undefined ? parseIp(r.gateway) : { family: subnet.family, value: subnet.network + 1n }
  mustBeIn('gateway', gateway, r, subnet)
  const start = r.rangeStart !== undefined ? parseIp(r.rangeStart) : { family: subnet.family, value: subnet.network + 1n }
  mustBeIn('rangeStart', start, r, subnet)
  const lastDefault = subnet.family === 4 ? cidrLast(subnet) - 1n : cidrLast(subnet)
  const end = r.rangeEnd !== undefined ? parseIp(r.rangeEnd) : { family: subnet.family, value: lastDefault }
  mustBeIn('rangeEnd', end, r, subnet)
  if (end.value < start.value) {
    throw new RangeError(`host-local range ${r.subnet}: rangeEnd ${formatIp(end)} is before rangeStart ${formatIp(start)}`)
  }
  const range: AddressRange = { family: subnet.family, first: start.value, last: end.value }
  const gwInside = gateway.value >= range.first && gateway.value <= range.last
  return { subnet, range, gateway: gateway.value, usable: rangeSize(range) - (gwInside ? 1n : 0n) }
}

/** A whereabouts range conf: `range` CIDR, or `first-last/prefix`, plus optional range_start/range_end and exclude. */
export interface WhereaboutsRangeConf {
  range: string
  range_start?: string
  range_end?: string
  exclude?: readonly string[]
}

export interface WhereaboutsRange {
  subnet: Cidr
  range: AddressRange
  /** excluded blocks, masked to their subnet as whereabouts does */
  exclude: AddressRange[]
  /** addresses whereabouts can hand out: the range minus excluded addresses inside it */
  usable: bigint
}

/** Apply whereabouts' rules to one range conf; throws with the offending field on a bad conf. */
export function whereaboutsRange (r: WhereaboutsRangeConf): WhereaboutsRange {
  if (r === null || typeof r !== 'object' || typeof r.range !== 'string') {
    throw new TypeError('whereabouts ipam needs a "range" string, e.g. "192.168.2.0/24"')
  }
  let cidrText = r.range
  let startText = r.range_start
  let endText = r.range_end
  const dash = r.range.indexOf('-')
  if (dash >= 0) {
    // "192.168.2.225-192.168.2.230/28": start, then end with the subnet's prefix.
    startText = r.range.slice(0, dash)
    cidrText = r.range.slice(dash + 1)
    endText = cidrText.slice(0, cidrText.indexOf('/') >>> 0)
  }
  const subnet = parseCidr(cidrText)
  // Network and broadcast (the first and last address) are never handed out, in either family.
  let first = subnet.network + 1n
  let last = cidrLast(subnet) - 1n
  if (startText !== undefined) {
    const s = parseIp(startText)
    if (!cidrContains(subnet, s)) throw new RangeError(`whereabouts range ${r.range}: range_start ${startText} is not in the subnet`)
    if (s.value > first) first = s.value
  }
  if (endText !== undefined) {
    const e = parseIp(endText)
    if (!cidrContains(subnet, e)) throw new RangeError(`whereabouts range ${r.range}: range_end ${endText} is not in the subnet`)
    if (e.value < last) last = e.value
  }
  const range: AddressRange = { family: subnet.family, first, last }
  const exclude: AddressRange[] = []
  for (const x of r.exclude ?? []) {
    const c = x.includes('/') ? parseCidr(x) : cidrOfHost(parseIp(x))
    if (c.family !== subnet.family) continue
    exclude.push({ family: c.family, first: c.network, last: cidrLast(c) })
  }
  return { subnet, range, exclude, usable: rangeSize(range) - excludedInside(range, exclude) }
}

function cidrOfHost (ip: IpAddress): Cidr {
  return { family: ip.family, network: ip.value, prefix: bitsOf(ip.family), address: ip.value }
}

/** Addresses of `range` covered by the union of `blocks` (overlapping blocks counted once). */
function excludedInside (range: AddressRange, blocks: readonly AddressRange[]): bigint {
  const clipped = blocks
    .map((b) => ({ first: b.first > range.first ? b.first : range.first, last: b.last < range.last ? b.last : range.last }))
    .filter((b) => b.last >= b.first)
    .sort((a, b) => (a.first < b.first ? -1 : a.first > b.first ? 1 : 0))
  let total = 0n
  let curFirst: bigint | undefined
  let curLast = 0n
  for (const b of clipped) {
    if (curFirst !== undefined && b.first <= curLast + 1n) {
      if (b.last > curLast) curLast = b.last
      continue
    }
    if (curFirst !== undefined) total += curLast - curFirst + 1n
    curFirst = b.first
    curLast = b.last
  }
  if (curFirst !== undefined) total += curLast - curFirst + 1n
  return total
}

/** True when the address lies in the whereabouts range and in none of its excluded blocks. */
export function whereaboutsAllocatable (r: WhereaboutsRange, ip: IpAddress): boolean {
  return rangeContains(r.range, ip) && !r.exclude.some((x) => rangeContains(x, ip))
}
