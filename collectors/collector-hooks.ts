/**
 * What the live collectors tell the agent besides KPI samples: log lines, and the
 * metrics that are not KPIs (unattributed traffic, probe runs and RTTs, CNI ADD durations,
 * shim fallbacks). The agent maps them onto its Prometheus registry (agent/build-collectors.ts);
 * every hook is optional, so a collector runs as well in the diagnostics CLI with none.
 */

import type { Logger } from '../contract/logger.js'
import type { RangeOccupancy } from './ipam/pool-ranges.js'

/** How a probe run ended (the `result` label of netrank_probe_runs_total). */
export type ProbeRunResult = 'ok' | 'error' | 'timeout' | 'skipped-budget' | 'skipped-busy'

/** What collectors log through (pino's call shape, contract/logger.ts). */
export type CollectorLog = Pick<Logger, 'info' | 'warn'>

export interface CollectorHooks {
  log?: CollectorLog
  /** traffic of pod interfaces no source attributes, bytes/s, this cycle */
  unattributed?: (rxBytesPerSecond: number, txBytesPerSecond: number) => void
  probeRun?: (plugin: string, result: ProbeRunResult) => void
  /** one RTT measurement, seconds */
  probeRtt?: (plugin: string, seconds: number) => void
  /** one shim ADD's duration (from its attachment record), seconds */
  cniAddDuration?: (seconds: number) => void
  /** a plugin's pool range by range, this cycle (replaces the last cycle's ranges of that plugin) */
  ipamRanges?: (plugin: string, ranges: readonly RangeOccupancy[]) => void
  /** one shim fallback (from its attachment record) */
  fallback?: (plugin: string, reason: string) => void
}

/** `err` as a short message for logs and reports. */
export function errorText (err: unknown): string {
  return err instanceof Error ? err.message : String(err)
}
