/**
 * The pod's expected demand for a decision: its netrank.io/expected-bandwidth annotation
 * (passed by the shim as written), else its profile's default. An annotation that does not
 * parse never fails the pod: the decision says why it was ignored and uses the default.
 */
import { parseExpectedBandwidth } from '../contract/bandwidth.js'
import { ANNOTATIONS } from '../contract/annotations.js'
import type { Demand, Profile } from '../selector/types.js'

export interface ResolvedDemand {
  demand: Demand & { source: string }
  /** set when the given value was ignored, for the decision's explanation */
  note?: string
}

const mbit = (bps: number): string => `${+(bps / 1e6).toPrecision(4)} Mbit/s`

/** `raw` from the annotation (or a query), `source` names where it came from in the answer. */
export function resolveDemand (raw: string | undefined, profile: Profile, source = 'annotation'): ResolvedDemand {
  const fallback = { ...profile.demand, source: 'profile' }
  if (raw === undefined || raw.trim() === '') return { demand: fallback }
  const d = parseExpectedBandwidth(raw)
  if (d.ok) return { demand: { rxBps: d.rxBps, txBps: d.txBps, source } }
  const shown = raw.length > 64 ? `${raw.slice(0, 64)}…` : raw
  return {
    demand: fallback,
    note: `${ANNOTATIONS.expectedBandwidth} ${JSON.stringify(shown)} ignored: ${d.why}; the profile's default demand (rx ${mbit(profile.demand.rxBps)}, tx ${mbit(profile.demand.txBps)}) is used`,
  }
}
