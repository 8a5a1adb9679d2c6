/**
 * IP occupancy of a host-local network from its on-disk state.
 *
 * host-local keeps one file per allocated address in `<dataDir>/<network name>/`
 * (dataDir defaults to /var/lib/cni/networks), named by the address as Go prints it and
 * holding `<containerID>\r\n<ifname>`, plus `lock` and `last_reserved_ip.<rangeset>`.
 * `used` counts address files inside the conf's ranges; `capacity` sums what every range
 * of every range set can hand out (host-local's Canonicalize rules, see ip-range.ts).
 */
import { readdir } from 'node:fs/promises'
import { join } from 'node:path'
import { NODE_PATHS } from '../../contract/node-defaults.js'
import { hostLocalRange, rangeContains, tryParseIp } from './ip-range.js'
import type { HostLocalRange, HostLocalRangeConf } from './ip-range.js'
import { rangeOccupancy, rangeText } from './pool-ranges.js'
import type { RangeOccupancy } from './pool-ranges.js'


/** The ipam section of a host-local conf, as written in the network's conf file. */
export interface HostLocalIpamConf {
  type?: string
  ranges?: HostLocalRangeConf[][]
  /** legacy single-range form */
  subnet?: string
  rangeStart?: string
  rangeEnd?: string
  gateway?: string
  dataDir?: string
}

export interface HostLocalOccupancy {
  network: string
  dir: string
  used: number
  capacity: number
  /** address files outside every configured range (a changed conf, a hand-made file) */
  outside: number
  /** the dir does not exist yet: nothing was ever allocated */
  missing: boolean
  /** range by range, with its set (an ADD takes one address from every set) */
  ranges: RangeOccupancy[]
}

/** A canonical range and the range set it belongs to. */
export type HostLocalSetRange = HostLocalRange & { set: number }

/** Canonical ranges of a conf: `ranges[][]` (all sets) or the legacy top-level subnet. Throws naming the bad field. */
export function hostLocalRanges (ipam: HostLocalIpamConf): HostLocalSetRange[] {
  if (ipam === null || typeof ipam !== 'object') throw new TypeError('host-local: ipam must be an object')
  if (Array.isArray(ipam.ranges) && ipam.ranges.length > 0) {
    const out: HostLocalSetRange[] = []
    ipam.ranges.forEach((set, i) => {
      if (!Array.isArray(set) || set.length === 0) throw new TypeError(`host-local: ipam.ranges[${i}] must be a non-empty array of ranges`)
      set.forEach((r, j) => {
        try {
          out.push({ ...hostLocalRange(r), set: i })
        } catch (err) {
          throw new TypeError(`host-local: ipam.ranges[${i}][${j}]: ${(err as Error).message}`)
        }
      })
    })
    return out
  }
  if (typeof ipam.subnet === 'string') {
    const r: HostLocalRangeConf = { subnet: ipam.subnet }
    if (ipam.rangeStart !== undefined) r.rangeStart = ipam.rangeStart
    if (ipam.rangeEnd !== undefined) r.rangeEnd = ipam.rangeEnd
    if (ipam.gateway !== undefined) r.gateway = ipam.gateway
    return [{ ...hostLocalRange(r), set: 0 }]
  }
  throw new TypeError('host-local: ipam needs "ranges" (array of range sets) or "subnet"')
}

/** Addresses the conf can hand out, all ranges of all sets. */
export function hostLocalCapacity (ipam: HostLocalIpamConf): number {
  let total = 0n
  for (const r of hostLocalRanges(ipam)) total += r.usable
  return bigToNumber(total)
}

function bigToNumber (v: bigint): number {
  // An IPv6 /64 is 2^64 addresses: past 2^53 a float is what a KPI can carry anyway.
  return Number(v)
}

/**
 * Read `<dataDir>/<network>/` and count allocations against the conf. A missing directory
 * means nothing allocated yet (used 0); other read errors are thrown.
 */
export async function readHostLocalOccupancy (network: string, ipam: HostLocalIpamConf): Promise<HostLocalOccupancy> {
  if (typeof network !== 'string' || network === '' || network.includes('/') || network === '.' || network === '..') {
    throw new TypeError(`host-local: bad network name ${JSON.stringify(network)}`)
  }
  const ranges = hostLocalRanges(ipam)
  let capacity = 0n
  for (const r of ranges) capacity += r.usable
  const dir = join(ipam.dataDir ?? NODE_PATHS.hostLocalDataDir, network)
  let names: string[]
  try {
    names = await readdir(dir)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { network, dir, used: 0, capacity: bigToNumber(capacity), outside: 0, missing: true, ranges: perRange(ranges, []) }
    throw err
  }
  let used = 0
  let outside = 0
  const usedPerRange = ranges.map(() => 0)
  for (const name of names) {
    // `lock`, `last_reserved_ip.N` and anything else that is not an address are not allocations.
    const ip = tryParseIp(name)
    if (ip === undefined) continue
    const at = ranges.findIndex((r) => rangeContains(r.range, ip) && ip.value !== r.gateway)
    if (at >= 0) { used++; usedPerRange[at] = (usedPerRange[at] ?? 0) + 1 } else outside++
  }
  return { network, dir, used, capacity: bigToNumber(capacity), outside, missing: false, ranges: perRange(ranges, usedPerRange) }
}

/** Range by range: used (an address counted in the first range holding it) against usable. */
export function perRange (ranges: readonly HostLocalSetRange[], used: readonly number[]): RangeOccupancy[] {
  return ranges.map((r, i) => rangeOccupancy(r.set, rangeText(r.subnet, r.range), used[i] ?? 0, bigToNumber(r.usable)))
}
