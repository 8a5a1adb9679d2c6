import { DEFAULT_STALE_AFTER_MS } from './kpi-store.js'

/**
 * Every default of the agent in one place, units in the names.
 * config.ts merges an operator's file over these; nothing else holds a default.
 */
export const DEFAULTS = Object.freeze({
  listen: Object.freeze({
    host: '127.0.0.1', // loopback: /v1/select is for the node's own shim
    port: 9797,
  }),
  collectors: Object.freeze({
    static: Object.freeze({
      intervalMs: 10_000, // 10 s: static values are re-emitted so their age stays small
    }),
  }),
  selector: Object.freeze({
    tieBand: 0.05, // plugins within 0.05 score units of the leader share a burst
    maxOccupancy: 0.95, // a pool 95 % full is never chosen
    hysteresisMargin: 0.03, // a new leader must be ahead by more than 0.03 score units
    spreadWindowMs: 60_000, // 1 min: placements older than this no longer count for spreading
    // per KPI, a few periods of the collector that feeds it (1 min for traffic, 15 min for probes…)
    staleAfterMs: DEFAULT_STALE_AFTER_MS,
    windowMs: 300_000, // 5 min of samples per (plugin, KPI)
    maxSamplesPerSeries: 600, // hard cap per series, whatever the window
    defaultProfile: 'balanced',
  }),
  audit: Object.freeze({
    dir: '/var/lib/netrank/audit',
    maxFileBytes: 4 * 1024 * 1024, // 4 MiB per audit file before rotating
    maxFiles: 4, // 16 MiB of decisions at most, ~50 000 decisions
  }),
  kubernetes: Object.freeze({
    inCluster: false,
  }),
  http: Object.freeze({
    bodyLimitBytes: 16 * 1024, // 16 KiB: a select request is ~200 bytes
    decisionsPageLimit: 100, // decisions per page by default
    decisionsPageMax: 1000, // and at most
    reportWindowMs: 3_600_000, // 1 h
    // bound on remembered placements for burst spreading: a node runs ~110 pods, so 256
    // placements in the spread window is beyond any real burst (a 100-pod burst still spreads);
    // the selector validates and scans every placement on each /v1/select (~0.15 µs each)
    recentPlacementsMax: 256,
    // the KPI snapshot and each profile's /rank answer are reused for this long unless a
    // collector delivers new samples first: ages shown are at most 0.25 s old
    kpiViewReuseMs: 250, // 0.25 s
  }),
})
