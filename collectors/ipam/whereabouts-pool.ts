/**
 * IP occupancy of a whereabouts network from its IPPool objects
 * (whereabouts.cni.cncf.io/v1alpha1, `spec.range` a CIDR, `spec.allocations` a map from
 * the offset of the address from the range's network address, as a decimal string, to
 * `{id, podref, ifname?}`). A pure function over plain objects: the agent's watch hands
 * it the current pools.
 *
 * whereabouts pools are cluster-wide, not per node: used/capacity are the pool's.
 * The conf may list one `range` and/or `ipRanges[]` (one pool per range); addresses in
 * `exclude` blocks or outside range_start/range_end are not capacity, and allocations
 * there (a conf changed after the fact) are counted apart.
 */
import { cidrContains, formatIp, parseCidr, whereaboutsAllocatable, whereaboutsRange } from './ip-range.js'
import type { WhereaboutsRangeConf } from './ip-range.js'
import { rangeOccupancy, rangeText } from './pool-ranges.js'
import type { RangeOccupancy } from './pool-ranges.js'

export interface WhereaboutsIpamConf {
  type?: string
  range?: string
  range_start?: string
  range_end?: string
  exclude?: string[]
  ipRanges?: WhereaboutsRangeConf[]
  network_name?: string
}

/** The parts of an IPPool object this reads. */
export interface IpPoolObject {
  metadata?: { name?: string, namespace?: string }
  spec?: { range?: string, allocations?: Record<string, { id?: string, podref?: string, ifname?: string } | undefined> }
}

export interface WhereaboutsRangeOccupancy {
  /** the conf's range as written */
  range: string
  used: number
  capacity: number
  /** no IPPool exists for this range yet (nothing allocated) */
  poolMissing: boolean
  /** allocations outside the allocatable addresses (excluded, outside start/end) */
  outside: number
  /** allocation keys that are not decimal offsets inside the pool's CIDR */
  invalid: number
}

export interface WhereaboutsOccupancy {
  used: number
  capacity: number
  ranges: WhereaboutsRangeOccupancy[]
  /** the same ranges as pool-ranges.ts counts them: each ipRanges entry is its own set */
  perRange: RangeOccupancy[]
}

/** The ranges a whereabouts ipam conf allocates from. Throws naming the bad field. */
export function whereaboutsRanges (ipam: WhereaboutsIpamConf): WhereaboutsRangeConf[] {
  if (ipam === null || typeof ipam !== 'object') throw new TypeError('whereabouts: ipam must be an object')
  const out: WhereaboutsRangeConf[] = []
  if (Array.isArray(ipam.ipRanges)) {
    ipam.ipRanges.forEach((r, i) => {
      if (r === null || typeof r !== 'object' || typeof r.range !== 'string') throw new TypeError(`whereabouts: ipam.ipRanges[${i}] needs a "range" string`)
      out.push(r)
    })
  }
  if (typeof ipam.range === 'string') {
    const r: WhereaboutsRangeConf = { range: ipam.range }
    if (ipam.range_start !== undefined) r.range_start = ipam.range_start
    if (ipam.range_end !== undefined) r.range_end = ipam.range_end
    if (ipam.exclude !== undefined) r.exclude = ipam.exclude
    out.push(r)
  }
  if (out.length === 0) throw new TypeError('whereabouts: ipam needs "range" or "ipRanges"')
  return out
}

function sameCidr (a: string, b: string): boolean {
  try {
    const x = parseCidr(a)
    const y = parseCidr(b)
    return x.family === y.family && x.network === y.network && x.prefix === y.prefix
  } catch {
    return false
  }
}

/** used/capacity of a whereabouts conf given the IPPools (any order, any other pools mixed in). */
export function whereaboutsOccupancy (ipam: WhereaboutsIpamConf, pools: readonly IpPoolObject[]): WhereaboutsOccupancy {
  const ranges = whereaboutsRanges(ipam)
  const res: WhereaboutsOccupancy = { used: 0, capacity: 0, ranges: [], perRange: [] }
  for (const [set, rc] of ranges.entries()) {
    const wr = whereaboutsRange(rc)
    const cidrText = `${formatIp({ family: wr.subnet.family, value: wr.subnet.network })}/${wr.subnet.prefix}`
    const pool = pools.find((p) => typeof p?.spec?.range === 'string' && sameCidr(p.spec.range, cidrText) &&
      (ipam.network_name === undefined || (p.metadata?.name ?? '').startsWith(`${ipam.network_name}-`)))
    const occ: WhereaboutsRangeOccupancy = { range: rc.range, used: 0, capacity: Number(wr.usable), poolMissing: pool === undefined, outside: 0, invalid: 0 }
    if (pool?.spec?.range !== undefined) {
      const base = parseCidr(pool.spec.range)
      for (const key of Object.keys(pool.spec.allocations ?? {})) {
        if (!/^[0-9]+$/.test(key)) { occ.invalid++; continue }
        const ip = { family: base.family, value: base.network + BigInt(key) }
        if (!cidrContains(base, ip)) { occ.invalid++; continue }
        if (whereaboutsAllocatable(wr, ip)) occ.used++; else occ.outside++
      }
    }
    res.used += occ.used
    res.capacity += occ.capacity
    res.ranges.push(occ)
    res.perRange.push(rangeOccupancy(set, rangeText(wr.subnet, wr.range), occ.used, occ.capacity))
  }
  return res
}
