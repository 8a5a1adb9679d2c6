/**
 * A pool range by range: how many subnets it spans and how many addresses each range has
 * left. An ADD takes ONE address from EVERY range set (host-local's `ranges[][]`, whereabouts'
 * `ipRanges`: dual-stack pools are two sets), any range of a set will do. So the addresses
 * the next pods can still get are the tightest set's free addresses — a full IPv4 /24 next
 * to an empty IPv6 /64 leaves 0, not 2^64.
 */
import { formatIp } from './ip-range.js'
import type { AddressRange, Cidr } from './ip-range.js'

/** One range of a pool as the last cycle saw it. */
export interface RangeOccupancy {
  /** which range set (an ADD takes one address from each set) */
  set: number
  /** the subnet, CIDR text */
  subnet: string
  /** the allocatable addresses, `first-last` */
  range: string
  used: number
  capacity: number
  /** capacity − used, never below 0 */
  free: number
}

export interface PoolRanges {
  /** distinct subnets over every range */
  subnets: number
  /** addresses the next pods can still get: the smallest per-set sum of free */
  free: number
  ranges: RangeOccupancy[]
}

/** A range's name parts, as `subnet` and `first-last` text. */
export function rangeText (subnet: Cidr, range: AddressRange): { subnet: string, range: string } {
  return {
    subnet: `${formatIp({ family: subnet.family, value: subnet.network })}/${subnet.prefix}`,
    range: `${formatIp({ family: range.family, value: range.first })}-${formatIp({ family: range.family, value: range.last })}`,
  }
}

/** One range's occupancy (free clamped at 0: an over-full range from a changed conf has none left). */
export function rangeOccupancy (set: number, names: { subnet: string, range: string }, used: number, capacity: number): RangeOccupancy {
  return { set, ...names, used, capacity, free: Math.max(0, capacity - used) }
}

/** subnets and free over the ranges of a pool (no ranges: 0 and 0). */
export function poolRanges (ranges: RangeOccupancy[]): PoolRanges {
  const perSet = new Map<number, number>()
  for (const r of ranges) perSet.set(r.set, (perSet.get(r.set) ?? 0) + r.free)
  return {
    subnets: new Set(ranges.map((r) => r.subnet)).size,
    free: perSet.size === 0 ? 0 : Math.min(...perSet.values()),
    ranges,
  }
}
