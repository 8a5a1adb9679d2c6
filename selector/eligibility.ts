// Which plugins may be chosen at all. Only a full IP pool excludes a plugin: a pod
// placed there would fail IPAM. Everything else only lowers the score. Full is either
// ipOccupancy at maxOccupancy or no free address left in one of the pool's range sets
// (ipFree 0: a dual-stack pool whose IPv4 range is exhausted next to an empty IPv6 one).
import { pct, seconds } from './explain.js'
import type { SelectorOptions } from './types.js'
import type { KpiName, KpiReading } from '../contract/kpis.js'

export interface Eligibility {
  eligible: boolean
  reasons: string[]
}

// Float noise must not make 0.95 read as just below 0.95.
const EPSILON = 1e-9

/** A plugin whose fresh ipOccupancy is at or above maxOccupancy, or whose fresh ipFree is 0, is ineligible; a stale one is only noted. */
export function eligibility (readings: Partial<Record<KpiName, KpiReading>>, options: Pick<SelectorOptions, 'maxOccupancy'>): Eligibility {
  const occ = readings.ipOccupancy
  const free = readings.ipFree
  const exhausted = free !== undefined && !free.stale && free.value < 1
  if (occ === undefined || (occ.stale && exhausted)) {
    return exhausted ? { eligible: false, reasons: ['no free address left in one of the ip pool\'s range sets (ipFree 0)'] } : { eligible: true, reasons: [] }
  }
  if (occ.stale) {
    return { eligible: true, reasons: [`ipOccupancy stale (${seconds(occ.ageMs)} old): pool fullness unknown`] }
  }
  if (occ.value >= options.maxOccupancy - EPSILON) {
    return { eligible: false, reasons: [`ip pool ${pct(occ.value)} full (≥ maxOccupancy ${pct(options.maxOccupancy)})`] }
  }
  if (exhausted) return { eligible: false, reasons: [`no free address left in one of the ip pool's range sets (ipFree 0; the pool as a whole is ${pct(occ.value)} full)`] }
  return { eligible: true, reasons: [] }
}
