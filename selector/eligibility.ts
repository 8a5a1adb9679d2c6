// Which plugins may be chosen at all. Only a full IP pool excludes a plugin: a pod
// placed there would fail IPAM. Everything else only lowers the score.
import { pct, seconds } from './explain.js'
import type { SelectorOptions } from './types.js'
import type { KpiName, KpiReading } from '../contract/kpis.js'

export interface Eligibility {
  eligible: boolean
  reasons: string[]
}

// Float noise must not make 0.95 read as just below 0.95.
const EPSILON = 1e-9

/** A plugin whose fresh ipOccupancy is at or above maxOccupancy is ineligible; a stale one is only noted. */
export function eligibility (readings: Partial<Record<KpiName, KpiReading>>, options: Pick<SelectorOptions, 'maxOccupancy'>): Eligibility {
  const occ = readings.ipOccupancy
  if (occ === undefined) return { eligible: true, reasons: [] }
  if (occ.stale) {
    return { eligible: true, reasons: [`ipOccupancy stale (${seconds(occ.ageMs)} old): pool fullness unknown`] }
  }
  if (occ.value >= options.maxOccupancy - EPSILON) {
    return { eligible: false, reasons: [`ip pool ${pct(occ.value)} full (≥ maxOccupancy ${pct(options.maxOccupancy)})`] }
  }
  return { eligible: true, reasons: [] }
}
