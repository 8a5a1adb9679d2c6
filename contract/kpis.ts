// The KPIs: names, units and the shapes collectors, the KPI store, the selector and the
// agent's HTTP answers share. Every traffic KPI is in bits per second (docs/contract.md).
//
// Directions are the pods' view: rx = into this node's pods of the plugin, tx = out of
// them. Each direction is counted once and compared with the capacity of that direction;
// nothing sums rx and tx (a flow between two pods of one bridge is X per direction, not 2X).

/** Every KPI netrank knows, in the units its name says. */
export const KPI_NAMES = [
  'rxBps', // receive rate on this node's pods of the plugin, bits/s
  'txBps', // transmit rate, bits/s
  'usageBps', // the busier direction, max(rx, tx), bits/s (derived when both are known)
  'capacityBps', // achievable one-direction throughput measured by probes, bits/s (the smaller direction when both are measured)
  'capacityRxBps', // achievable throughput into this node's probe pod (iperf3 -R), bits/s
  'capacityTxBps', // achievable throughput out of this node's probe pod (iperf3), bits/s
  'headroomBps', // the tighter direction's capacity − usage, bits/s (derived when both are known)
  'latencySeconds', // idle RTT p50 (kernel ICMP where it can, else TCP connect: see source), seconds
  'latencyP99Seconds', // idle RTT p99, seconds
  'loadedLatencySeconds', // RTT under load (iperf3's TCP_INFO mean_rtt), seconds
  'responseTimeSeconds', // request/response transaction time over a kept-open TCP connection (TCP_RR), p50, seconds
  'ipUsed', // addresses allocated in the plugin's pool on this node
  'ipCapacity', // addresses the pool can hand out
  'ipOccupancy', // ipUsed / ipCapacity, 0–1 (derived when both are known)
  'ipSubnets', // distinct subnets the pool's ranges span
  'ipFree', // addresses the next pods can still get: the tightest range set's free addresses (an ADD takes one from every set)
  'costPerGiB', // operator-set cost of a GiB carried, any currency unit
  'probeFailureRatio', // failed / all probe runs over the window, 0–1
] as const

export type KpiName = typeof KPI_NAMES[number]

/** One measured value, as a collector hands it to the KPI store. */
export interface KpiSample {
  plugin: string
  kpi: KpiName
  value: number
  /** when it was measured, ms since the epoch */
  atMs: number
  /** which collector produced it: 'static', 'cadvisor', 'probes', 'ipam' … */
  source: string
}

/** What the store knows of one (plugin, KPI) at snapshot time. */
export interface KpiReading {
  /** the aggregated value over the window (see the store for each KPI's aggregation) */
  value: number
  /** age of the newest sample, ms */
  ageMs: number
  /** samples inside the window that made the value */
  samples: number
  /** true when ageMs > staleAfterMs for this KPI (static values never go stale) */
  stale: boolean
  source: string
  /** spread of the samples (median absolute deviation), when there are 2 or more */
  spread?: number
}

/** A point-in-time view of every KPI of every plugin: the selector's input. */
export interface KpiSnapshot {
  /** ms since the epoch */
  atMs: number
  plugins: Record<string, Partial<Record<KpiName, KpiReading>>>
}
