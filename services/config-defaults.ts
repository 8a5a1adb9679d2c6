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
    cadvisor: Object.freeze({
      source: 'kubelet-metrics' as const,
      url: 'https://127.0.0.1:10250', // the node's kubelet
      insecureSkipTlsVerify: false,
      intervalMs: 10_000, // 10 s scrape period
      windowMs: 60_000, // 1 min rate window
      timeoutMs: 5_000, // 5 s per scrape
      maxResponseBytes: 32 * 1024 * 1024, // 32 MiB per scrape
    }),
    probes: Object.freeze({
      podLabel: 'netrank.io/probe', // its value names the plugin
      port: 5201, // iperf3's default server port; also the RTT probe's connect target
      iperf3: Object.freeze({
        intervalMs: 60_000, // 1 min between throughput runs per plugin
        durationSeconds: 2, // measured seconds (-t)
        omitSeconds: 1, // TCP slow start left out (-O)
        timeoutMs: 15_000, // 15 s: the process is killed after this
        jitterRatio: 0.2, // ±20 % on every interval, so nodes do not probe in lockstep
      }),
      rtt: Object.freeze({
        intervalMs: 10_000, // 10 s between latency probes per plugin
        count: 5, // TCP connects per probe
        connectTimeoutMs: 1_000, // 1 s per connect
      }),
      budget: Object.freeze({
        maxBytes: 2 * 1024 * 1024 * 1024, // 2 GiB of probe traffic…
        windowMs: 3_600_000, // …per hour
      }),
      samples: 5, // last N results per plugin: median and spread
    }),
    ipam: Object.freeze({
      intervalMs: 15_000, // 15 s
      whereabouts: false,
    }),
  }),
  cni: Object.freeze({
    confDir: '/etc/cni/net.d',
    stateDir: '/var/lib/netrank', // the shim's attachment records live in <stateDir>/attachments
    hostLocalDataDir: '/var/lib/cni/networks', // host-local's own default
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
