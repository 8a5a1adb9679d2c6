/**
 * The agent config file's JSON schema, with every default (docs/contract.md#agent-config).
 * Ajv fills the defaults while it validates (`useDefaults`), and the TypeScript type of a
 * validated config is derived from this schema, so the shape and its defaults are written
 * once, here. Rules across fields (unique names, known plugins, timeouts that fit their
 * intervals) live in load-config.ts.
 */
import { Type } from '@sinclair/typebox'
import type { Static, TInteger, TObject, TSchema } from '@sinclair/typebox'
import { KPI_NAMES } from '../../contract/kpis.js'
import type { KpiName } from '../../contract/kpis.js'
import { CNI_NAME_PATTERN } from '../../contract/names.js'
import { CRITERIA } from '../../selector/types.js'
import type { Criterion } from '../../selector/types.js'
import { AGENT_ENDPOINT, NODE_PATHS, PROBE_POD_LABEL } from '../../contract/node-defaults.js'

/** Where the cadvisor collector reads pod interface counters (docs/collectors.md). */
export const TRAFFIC_SOURCES = ['kubelet-metrics', 'node-proxy-metrics', 'kubelet-summary', 'cadvisor-v1', 'cadvisor-v2', 'cri'] as const

/** Staleness per KPI, ms: a few collection periods of the collector that feeds it. */
const STALE_AFTER_MS: Readonly<Record<KpiName, number>> = Object.freeze({
  rxBps: 60_000, // 1 min: cAdvisor is scraped every 10–15 s
  txBps: 60_000, // 1 min
  usageBps: 60_000, // 1 min
  capacityBps: 900_000, // 15 min: iperf3 probes are expensive and run every few minutes
  capacityRxBps: 900_000, // 15 min
  capacityTxBps: 900_000, // 15 min
  headroomBps: 900_000, // 15 min
  latencySeconds: 900_000, // 15 min
  latencyP99Seconds: 900_000, // 15 min
  loadedLatencySeconds: 900_000, // 15 min: measured by the iperf3 runs
  responseTimeSeconds: 900_000, // 15 min
  probeFailureRatio: 900_000, // 15 min
  ipUsed: 120_000, // 2 min: IPAM state is polled every 15 s
  ipCapacity: 120_000, // 2 min
  ipOccupancy: 120_000, // 2 min
  ipSubnets: 120_000, // 2 min
  ipFree: 120_000, // 2 min
  costPerGiB: 86_400_000, // 1 day: costs change by contract, not by the minute
})

const int = (minimum: number, dflt: number, maximum?: number) =>
  Type.Integer({ minimum, ...(maximum !== undefined ? { maximum } : {}), default: dflt })
const ratio = (dflt: number) => Type.Number({ minimum: 0, maximum: 1, default: dflt })
const bool = (dflt: boolean) => Type.Boolean({ default: dflt })
const path = (dflt: string) => Type.String({ minLength: 1, default: dflt })
/** A string from a fixed list, as JSON schema's `enum` (clearer errors than anyOf of consts). */
const oneOf = <T extends string>(values: readonly T[], opts: { default?: NoInfer<T> } = {}) =>
  Type.Unsafe<T>({ type: 'string', enum: [...values], ...opts })
/** A section: an object whose absent fields all take their defaults. */
const section = <P extends Record<string, TSchema>>(properties: P): TObject<P> =>
  Type.Object(properties, { additionalProperties: false, default: {} })

const nonNegative = Type.Number({ minimum: 0 })
const weights = Type.Partial(Type.Object(Object.fromEntries(KPI_NAMES.map((k) => [k, nonNegative])) as Record<KpiName, typeof nonNegative>, { additionalProperties: false }))
const criterionWeights = Type.Partial(Type.Object(Object.fromEntries(CRITERIA.map((k) => [k, nonNegative])) as Record<Criterion, typeof nonNegative>, { additionalProperties: false }))
const operatorProfile = Type.Object({
  weights: criterionWeights,
  targets: Type.Optional(Type.Partial(Type.Object({
    latencySeconds: Type.Number({ exclusiveMinimum: 0 }),
    capacityBps: Type.Number({ exclusiveMinimum: 0 }),
    costPerGiB: Type.Number({ exclusiveMinimum: 0 }),
  }, { additionalProperties: false }))),
  /** the default demand of this profile's pods: 200M, 1G, or {"rx":"1G","tx":"100M"} */
  expectedBandwidth: Type.Optional(Type.String({ minLength: 1, maxLength: 256 })),
}, { additionalProperties: false })

/**
 * An operator profile: {weights, targets?, expectedBandwidth?} when it has `weights`, else the
 * old KPI → weight map. if/then/else rather than anyOf, so a mistake is reported once, in
 * the terms of the form the operator wrote.
 */
const profileSchema = Type.Unsafe<Static<typeof operatorProfile> | Static<typeof weights>>({
  if: { type: 'object', properties: { weights: {} }, required: ['weights'] },
  then: operatorProfile,
  else: weights,
})

const cadvisor = section({
  enabled: bool(false),
  source: oneOf(TRAFFIC_SOURCES, { default: 'kubelet-metrics' }),
  /** kubelet base URL; the API server's for node-proxy-metrics; cAdvisor's for cadvisor-* */
  url: Type.String({ minLength: 1, pattern: '^https?://', default: 'https://127.0.0.1:10250' }), // the node's kubelet
  /** source `cri`: the container runtime's CRI socket on the node (containerd's; CRI-O: /var/run/crio/crio.sock) */
  criSocket: Type.String({ minLength: 1, maxLength: 107, pattern: '^/', default: '/run/containerd/containerd.sock' }),
  /** bearer token file, re-read every cycle (service-account tokens rotate) */
  tokenFile: Type.Optional(Type.String({ minLength: 1 })),
  caFile: Type.Optional(Type.String({ minLength: 1 })),
  insecureSkipTlsVerify: bool(false),
  intervalMs: int(100, 10_000), // 10 s scrape period
  windowMs: int(1000, 60_000), // 1 min rate window
  timeoutMs: int(10, 5_000), // 5 s per scrape
  maxResponseBytes: int(1024, 32 * 1024 * 1024), // 32 MiB per scrape
})

const probes = section({
  enabled: bool(false),
  /** the probe pods' label; its value names the plugin */
  podLabel: Type.String({ minLength: 1, maxLength: 317, default: PROBE_POD_LABEL }),
  /** iperf3's default server port; also the RTT probe's connect target */
  port: int(1, 5201, 65535),
  iperf3: section({
    intervalMs: int(1000, 60_000), // 1 min between throughput runs per plugin
    durationSeconds: int(1, 2, 60), // measured seconds (-t)
    omitSeconds: int(0, 1, 30), // TCP slow start left out (-O)
    timeoutMs: int(1000, 15_000), // 15 s: the process is killed after this
    jitterRatio: ratio(0.2), // ±20 % on every interval, so nodes do not probe in lockstep
    bothDirections: bool(true), // every other run with -R (the server sends): capacityRxBps
  }),
  rtt: section({
    intervalMs: int(100, 10_000), // 10 s between latency probes per plugin
    /** icmp: the kernel's echo (iputils ping in the probe pod's netns), TCP connect only where it fails; tcp-connect: always TCP */
    method: oneOf(['icmp', 'tcp-connect'] as const, { default: 'icmp' }),
    pingCount: int(2, 20, 1000), // echo requests per probe: p50 and p99 over them
    pingIntervalMs: int(2, 50, 1000), // between echo requests: 20 × 50 ms ≈ 1 s per probe
    count: int(1, 5, 1000), // TCP connects per probe (the fallback)
    connectTimeoutMs: int(1, 1_000), // 1 s per connect
  }),
  /** TCP_RR: request/response transactions over one kept-open connection (sockperf), the prober's loopback floor kept out */
  tcpRr: section({
    enabled: bool(true),
    intervalMs: int(1000, 60_000), // 1 min between runs per plugin (each ~6.5 s: floor + peer)
    port: int(1, 11111, 65535), // sockperf's default port: every probe pod runs `sockperf server --tcp`
    seconds: int(1, 1, 60), // transactions for this long per leg (sockperf -t)
    ratePerSecond: int(1, 1000, 100_000), // paced: ~550 valid transactions per leg, a few % of a core
  }),
  budget: section({
    maxBytes: int(1, 2 * 1024 * 1024 * 1024), // 2 GiB of probe traffic…
    windowMs: int(1000, 3_600_000), // …per hour
  }),
  samples: int(1, 5, 1000), // last N results per plugin: median and spread
  /** ring peers per client (peer-ring.ts): each probe server serves about this many nodes */
  peers: int(1, 2, 16),
  peerRotationMs: int(60_000, 3_600_000), // a new ring every hour; the peers take turns within it
})

const ipam = section({
  enabled: bool(false),
  intervalMs: int(100, 15_000), // 15 s
  whereabouts: bool(false),
})

const staticKpi = Type.Object({
  plugin: Type.String({ minLength: 1 }),
  kpi: oneOf(KPI_NAMES),
  value: nonNegative,
}, { additionalProperties: false })

const staleAfterMs = Type.Object(
  Object.fromEntries(KPI_NAMES.map((k) => [k, int(1, STALE_AFTER_MS[k])])) as Record<KpiName, TInteger>,
  { additionalProperties: false, default: {} },
) as TObject<Record<KpiName, TInteger>>

export const CONFIG_SCHEMA = Type.Object({
  /** the node's name; the host name when absent (load-config.ts) */
  node: Type.Optional(Type.String({ minLength: 1, maxLength: 253 })),
  listen: section({
    host: Type.String({ minLength: 1, default: AGENT_ENDPOINT.host }),
    port: int(0, AGENT_ENDPOINT.port, 65535),
    /** the shim's fast path (POST /v1/plan, /v1/pod-status): a unix socket only root can reach, served when `kubernetes` is configured; '' turns it off */
    socket: Type.String({ default: NODE_PATHS.agentSocket }),
  }),
  plugins: Type.Array(Type.Object({
    name: Type.String({ minLength: 1, maxLength: 63, pattern: CNI_NAME_PATTERN }),
    costPerGiB: Type.Optional(nonNegative),
  }, { additionalProperties: false }), { minItems: 1 }),
  collectors: section({
    static: section({
      intervalMs: int(100, 10_000), // 10 s: static values are re-emitted so their age stays small
      kpis: Type.Array(staticKpi, { default: [] }),
    }),
    cadvisor,
    probes,
    ipam,
  }),
  selector: section({
    /**
     * operator profiles only; the built-ins come from the selector. Either
     * {weights: {criterion: w}, targets?, expectedBandwidth?} or, as before, a map KPI → weight
     * (read as aliases of the criteria: headroomBps → utilisation, latencySeconds → latency …)
     */
    profiles: Type.Record(Type.String(), profileSchema, { default: {} }),
    /** the value functions' anchors for every profile that does not set its own */
    targets: section({
      latencySeconds: Type.Number({ exclusiveMinimum: 0, default: 0.001 }), // 1 ms of idle RTT scores 0.5
      capacityBps: Type.Number({ exclusiveMinimum: 0, default: 1e9 }), // 1 Gbit/s scores 0.5
      costPerGiB: Type.Number({ exclusiveMinimum: 0, default: 0.01 }), // the reference price scores 0.5
    }),
    /** a pod's demand when it has no netrank.io/expected-bandwidth and its profile sets none */
    expectedBandwidth: Type.String({ minLength: 1, maxLength: 256, default: '10M' }),
    /** what a missing or stale KPI is taken to be: the worst plausible value */
    priors: section({
      latencySeconds: Type.Number({ minimum: 0, maximum: 60, default: 60 }), // the longest RTT the store accepts: unmeasured is never better than measured
      capacityBps: Type.Number({ minimum: 0, default: 0 }), // unmeasured capacity: none (utilisation at its worst, −1)
      probeFailureRatio: ratio(1), // unprobed: as if every probe failed
      ipOccupancy: ratio(1), // unread pool: as if full
      costFactor: Type.Number({ minimum: 0, default: 10 }), // no cost: 10× the reference price
    }),
    tieBand: ratio(0.02), // scores closer than 0.02 (or than both confidence bands) are a tie
    maxOccupancy: Type.Number({ exclusiveMinimum: 0, maximum: 1, default: 0.95 }), // a pool 95 % full is never chosen
    hysteresisSnapshots: int(1, 3, 1000), // a new leader must lead by more than the tie on 3 consecutive snapshots
    /** deprecated and ignored: hysteresis counts snapshots now (hysteresisSnapshots) */
    hysteresisMargin: Type.Optional(ratio(0.03)),
    spreadWindowMs: int(0, 300_000), // 5 min, the traffic mean's window: a placement's demand fades as its traffic shows
    exploreEvery: int(0, 20), // at most 1 placement in 20 explores an under-measured network (0: never)
    singleSampleUncertainty: ratio(0.1), // ±10 % on a KPI made of one sample
    /** per KPI, ms; a single number in the file applies to every KPI (load-config.ts expands it) */
    staleAfterMs,
    windowMs: int(1000, 300_000), // 5 min of samples per (plugin, KPI)
    maxSamplesPerSeries: int(2, 600, 100_000), // hard cap per series, whatever the window
    defaultProfile: Type.String({ minLength: 1, default: 'balanced' }),
  }),
  audit: section({
    dir: path(`${NODE_PATHS.stateDir}/audit`),
    maxFileBytes: int(4096, 4 * 1024 * 1024), // 4 MiB per audit file before rotating
    maxFiles: int(1, 4, 1000), // 16 MiB of decisions at most, ~50 000 decisions
  }),
  cni: section({
    confDir: path(NODE_PATHS.confDir),
    stateDir: path(NODE_PATHS.stateDir),
    hostLocalDataDir: path(NODE_PATHS.hostLocalDataDir),
  }),
  kubernetes: section({
    kubeconfig: Type.Optional(Type.String({ minLength: 1 })),
    inCluster: bool(false),
  }),
  /** the shim's own token (agent/shim-token.ts): minted for its ServiceAccount through TokenRequest */
  shimToken: section({
    enabled: bool(false),
    namespace: Type.String({ minLength: 1, maxLength: 63, default: 'netrank' }),
    serviceAccount: Type.String({ minLength: 1, maxLength: 253, default: 'netrank-cni' }),
    /** the file the shim's kubeconfig names as tokenFile (on the host: the agent mounts it at the same path) */
    file: path(`${NODE_PATHS.stateDir}/cni-token`),
    expirationSeconds: int(600, 21_600, 172_800), // 6 h, refreshed after 2 h: an agent may be gone 4 h
  }),
  /** CNI-Genie's network policy engine (agent/policy-engine.ts, docs/isolation.md): needs `kubernetes` and root (nft) */
  policy: section({
    enabled: bool(false),
    /** the nft binary (Debian's nftables) */
    nft: Type.String({ minLength: 1, default: 'nft' }),
    /** the nftables table name, in the inet and the bridge family */
    table: Type.String({ minLength: 1, maxLength: 63, pattern: '^[A-Za-z][A-Za-z0-9_-]*$', default: 'netrank' }),
    intervalMs: int(100, 1_000, 60_000), // 1 s between reconciles (a change is applied within about that)
  }),
  auth: section({
    /** a bearer token for /v1/select beyond loopback; NETRANK_SELECT_TOKEN when absent */
    selectToken: Type.Optional(Type.String({ minLength: 16 })),
  }),
}, { $id: 'netrank-agent-config', additionalProperties: false })

/** A validated config with every default filled in. */
export type AgentConfig = Omit<Static<typeof CONFIG_SCHEMA>, 'node'> & { node: string }
export type CadvisorConfig = AgentConfig['collectors']['cadvisor']
export type ProbesConfig = AgentConfig['collectors']['probes']
export type IpamConfig = AgentConfig['collectors']['ipam']
export type StaticKpi = AgentConfig['collectors']['static']['kpis'][number]
export type CniPathsConfig = AgentConfig['cni']
export type TrafficSourceName = typeof TRAFFIC_SOURCES[number]
