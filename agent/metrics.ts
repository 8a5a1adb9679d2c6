/**
 * The agent's Prometheus metrics (docs/contract.md#metrics), on a registry of its own so two agents in
 * one process (tests) never share counters. KPI gauges are refreshed from the store at scrape
 * time; traffic KPIs are bits/s in the store and bytes/s here (Prometheus base unit): /8.
 */
import { SELECT_FAILURES } from '../contract/select-api.js'
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client'
import { errors as CNI_ERRORS } from '../contract/cni-errors.js'
import type { KpiName, KpiSnapshot } from '../contract/kpis.js'
import { REJECT_KINDS } from '../store/kpi-store.js'
import { POD_STATUS_RESULTS } from './pod-status-queue.js'

/** What a scrape reads: the store's snapshot and each plugin's score under each profile. */
export interface ScrapeView {
  snapshot: KpiSnapshot
  scores: Array<{ plugin: string, profile: string, score: number }>
  /** each plugin's eligibility under the default profile */
  eligible: Array<{ plugin: string, eligible: boolean }>
}

/** What the agent reads at scrape time besides the store (all optional: tests build metrics without them). */
export interface MetricSources {
  /** the shim's failure lines since the last call (collectors/shim-failures-source.ts) */
  shimFailures?: () => { failures: ReadonlyArray<{ code: number, error: string }>, bad: number }
  /** whether netrank's conf is the first of the conf dir (collectors/conf-active.ts) */
  confActive?: () => { active: boolean, first: string }
  /** netrank_build_info's version, and its revision when not NETRANK_REVISION's (tests) */
  build?: { version: string, revision?: string }
}

export interface AgentMetrics {
  registry: Registry
  /** `profile`: one of KnownLabels.profiles, 'none' (a shim fallback: no profile was applied) or 'other' (see profileLabel) */
  selections: Counter<'node' | 'plugin' | 'reason' | 'profile'>
  /** failed shim ADDs by CNI code and registry name (from the shim's failure lines) */
  shimAddFailures: Counter<'node' | 'code' | 'error'>
  /** the bounded `profile` label of a selection under `profile` */
  profileLabel: (profile: string | undefined) => string
  selectDuration: Histogram
  probeRtt: Histogram<'node' | 'plugin'>
  probeRuns: Counter<'node' | 'plugin' | 'result'>
  cniAddDuration: Histogram
  collectorLastSuccess: Gauge<'collector'>
  collectorErrors: Counter<'collector'>
  kpiRejected: Counter<'reason'>
  auditSkippedLines: Counter
  /** traffic of pod interfaces neither attachment records nor network-status attribute, bytes/s */
  unattributed: Gauge<'node' | 'direction'>
  /** free addresses of each range of each plugin's pool (last ipam cycle) */
  ipamRangeFree: Gauge<'node' | 'plugin' | 'subnet' | 'range'>
  /** /v1/plan answers by where the pod came from (cache | api) and result (ok | error) */
  planRequests: Counter<'node' | 'pod_source' | 'result'>
  /** status annotations handed over by the shim, by what became of them */
  podStatusPatches: Counter<'node' | 'result'>
  /** when the shim's token in its file expires (shimToken enabled) */
  shimTokenExpiry: Gauge<'node'>
  shimTokenErrors: Counter<'node'>
  /** policy engine rounds by result: applied (new rules), unchanged, error */
  policyReconciles: Counter<'node' | 'result'>
  /** genieNetworkpolicy annotations that did not parse (each new error once) */
  policyAnnotationErrors: Counter<'node'>
  /** ordered pairs of logical networks whose traffic the rules drop */
  policyDeniedPairs: Gauge<'node'>
}

// Scrapes read every KPI gauge within one collect pass; one snapshot serves them all.
const VIEW_REUSE_MS = 250

/**
 * The label values each counter shows from the first scrape, at 0. Prometheus cannot see a
 * counter's first increment when the series is born at 1 (rate() and increase() need two
 * samples), so a first selection, a first fallback or a first probe failure would never
 * show on the dashboard or fire an alert.
 */
export interface KnownLabels {
  plugins: readonly string[]
  /** collectors that run */
  collectors: readonly string[]
  /** does the probes collector run (probe results per plugin) */
  probes: boolean
  /** does the policy engine run */
  policy?: boolean
  /** the profiles selections can be made under (built-in and the operator's) */
  profiles?: readonly string[]
}

/** Every `reason` of netrank_selections_total: the agent's and the shim's fallbacks (counted from attachment records). */
export const SELECTION_REASONS: readonly string[] = Object.freeze(['smart', 'explore', 'no-fresh-kpi', ...SELECT_FAILURES.map((f) => `fallback-${f}`)])
/** Every `result` of netrank_probe_runs_total. */
export const PROBE_RESULTS: readonly string[] = Object.freeze(['ok', 'error', 'timeout', 'skipped-budget', 'skipped-busy'])
/** The reasons of selections the agent makes (under a profile); the fallback reasons carry profile="none". */
const PROFILED_REASONS: readonly string[] = Object.freeze(['smart', 'explore', 'no-fresh-kpi'])
// prom-client's default gauges that end in _total though they are not counters (its own
// nodejs_active_{handles,requests,resources} carry the same figures by type): left out
const MISNAMED_DEFAULT_METRICS = ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total']

/** Where the agent reads its build: NETRANK_REVISION (the image's build arg), the package version. */
export function buildLabels (version: string, env: NodeJS.ProcessEnv = process.env): { version: string, revision: string, node_version: string } {
  return { version, revision: env.NETRANK_REVISION !== undefined && env.NETRANK_REVISION !== '' ? env.NETRANK_REVISION : 'unknown', node_version: process.version }
}

/** Builds every metric family of docs/contract.md#metrics (empty ones included, so dashboards have stable names). */
export function createMetrics (node: string, view: () => ScrapeView, known: KnownLabels = { plugins: [], collectors: [], probes: false }, sources: MetricSources = {}): AgentMetrics {
  const registry = new Registry()
  // process and Node.js runtime metrics (CPU, memory, fds, event loop lag, GC), prefixed like ours
  collectDefaultMetrics({ register: registry, prefix: 'netrank_' })
  for (const name of MISNAMED_DEFAULT_METRICS) registry.removeSingleMetric(`netrank_${name}`)
  const profiles = new Set(known.profiles ?? [])
  const profileLabel = (profile: string | undefined): string => profile === undefined ? 'none' : profiles.has(profile) ? profile : 'other'
  let cached: { at: number, view: ScrapeView } | undefined
  const current = (): ScrapeView => {
    const now = performance.now()
    if (cached === undefined || now - cached.at > VIEW_REUSE_MS) cached = { at: now, view: view() }
    return cached.view
  }

  // One gauge per KPI family, refreshed from the snapshot; `scale` converts to the metric's unit.
  const kpiGauge = (name: string, help: string, kpi: KpiName, scale: number): void => {
    new Gauge({
      name,
      help,
      labelNames: ['node', 'plugin'] as const,
      registers: [registry],
      collect () {
        this.reset()
        for (const [plugin, kpis] of Object.entries(current().snapshot.plugins)) {
          const r = kpis[kpi]
          if (r !== undefined && !r.stale) this.set({ node, plugin }, r.value * scale)
        }
      },
    })
  }
  const BITS_TO_BYTES = 1 / 8
  kpiGauge('netrank_plugin_receive_bytes_per_second', 'Receive rate of the plugin\'s pods on this node, bytes/s.', 'rxBps', BITS_TO_BYTES)
  kpiGauge('netrank_plugin_transmit_bytes_per_second', 'Transmit rate of the plugin\'s pods on this node, bytes/s.', 'txBps', BITS_TO_BYTES)
  kpiGauge('netrank_probe_throughput_bytes_per_second', 'Achievable throughput measured by probes, bytes/s.', 'capacityBps', BITS_TO_BYTES)
  kpiGauge('netrank_ipam_allocated_ips', 'Addresses allocated in the plugin\'s pool on this node.', 'ipUsed', 1)
  kpiGauge('netrank_ipam_capacity_ips', 'Addresses the plugin\'s pool can hand out on this node.', 'ipCapacity', 1)
  kpiGauge('netrank_ipam_subnets', 'Distinct subnets the plugin\'s pool spans on this node.', 'ipSubnets', 1)
  kpiGauge('netrank_ipam_free_ips', 'Addresses the next pods of the plugin can still get on this node (the tightest range set).', 'ipFree', 1)

  new Gauge({
    name: 'netrank_selector_score',
    help: 'Score of each plugin under each profile, -1 (worst) to 1 (best); 0 when ineligible.',
    labelNames: ['node', 'plugin', 'profile'] as const,
    registers: [registry],
    collect () {
      this.reset()
      for (const s of current().scores) this.set({ node, plugin: s.plugin, profile: s.profile }, s.score)
    },
  })

  new Gauge({
    name: 'netrank_kpi_age_seconds',
    help: 'Age of the newest sample of each KPI, seconds.',
    labelNames: ['node', 'plugin', 'kpi'] as const,
    registers: [registry],
    collect () {
      this.reset()
      for (const [plugin, kpis] of Object.entries(current().snapshot.plugins)) {
        for (const [kpi, r] of Object.entries(kpis)) {
          if (r !== undefined) this.set({ node, plugin, kpi }, r.ageMs / 1000)
        }
      }
    },
  })

  new Gauge({
    name: 'netrank_plugin_eligible',
    help: 'Whether the plugin can be chosen now under the default profile (1) or not (0: stale or missing KPIs where required, a full pool…).',
    labelNames: ['node', 'plugin'] as const,
    registers: [registry],
    collect () {
      this.reset()
      for (const e of current().eligible) this.set({ node, plugin: e.plugin }, e.eligible ? 1 : 0)
    },
  })

  const build = buildLabels(sources.build?.version ?? 'unknown')
  if (sources.build?.revision !== undefined) build.revision = sources.build.revision
  new Gauge({
    name: 'netrank_build_info',
    help: 'Always 1; the labels say which netrank (package version, revision) on which Node.js runs.',
    labelNames: ['version', 'revision', 'node_version'] as const,
    registers: [registry],
  }).set(build, 1)

  const confActive = sources.confActive
  new Gauge({
    name: 'netrank_shim_conf_active',
    help: 'Whether netrank\'s conf is the first conf file of the node\'s CNI conf dir, the one the runtime uses (1), or another file comes first (0); `first` names the first file.',
    labelNames: ['node', 'first'] as const,
    registers: [registry],
    collect () {
      if (confActive === undefined) return
      this.reset()
      const c = confActive()
      this.set({ node, first: c.first }, c.active ? 1 : 0)
    },
  })

  const failuresRead = sources.shimFailures
  const knownErrors = new Map<string, number>(Object.values(CNI_ERRORS).map((e) => [e.code, e.cniCode]))
  const badFailureLines = new Counter({
    name: 'netrank_shim_failure_lines_skipped_total',
    help: 'Lines of the shim\'s failure file (<stateDir>/failures.jsonl) that could not be parsed and were skipped.',
    labelNames: ['node'] as const,
    registers: [registry],
  })
  badFailureLines.inc({ node }, 0)
  const shimAddFailures = new Counter({
    name: 'netrank_shim_add_failures_total',
    help: 'CNI ADDs the shim answered with an error, by CNI code and registry name (NR_CNI_…), read from its failure lines; pods whose ADD fails stay in ContainerCreating.',
    labelNames: ['node', 'code', 'error'] as const,
    registers: [registry],
    collect () {
      if (failuresRead === undefined) return
      const r = failuresRead()
      if (r.bad > 0) badFailureLines.inc({ node }, r.bad)
      for (const f of r.failures) {
        // bounded: the registry's names; anything else (a newer shim) is 'other'
        const error = knownErrors.has(f.error) ? f.error : 'other'
        this.inc({ node, code: String(f.code), error })
      }
    },
  })
  for (const [error, code] of knownErrors) shimAddFailures.inc({ node, code: String(code), error }, 0)

  const metrics: AgentMetrics = {
    registry,
    profileLabel,
    shimAddFailures,
    selections: new Counter({
      name: 'netrank_selections_total',
      help: 'Answered /v1/select decisions by chosen plugin, reason and profile (restored from the audit on start); the shim\'s fallbacks (from attachment records) have profile "none".',
      labelNames: ['node', 'plugin', 'reason', 'profile'] as const,
      registers: [registry],
    }),
    selectDuration: new Histogram({
      name: 'netrank_select_duration_seconds',
      help: 'Time to answer /v1/select, including the audit write, seconds.',
      // 50 µs to 250 ms: a ranking and one write to the OS (the fdatasync follows in the background)
      buckets: [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25],
      registers: [registry],
    }),
    probeRtt: new Histogram({
      name: 'netrank_probe_rtt_seconds',
      help: 'Round-trip time measured by latency probes, seconds.',
      labelNames: ['node', 'plugin'] as const,
      // 10 µs to 100 ms: pod-to-pod RTTs on one node are tens of µs
      buckets: [0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1],
      registers: [registry],
    }),
    probeRuns: new Counter({
      name: 'netrank_probe_runs_total',
      help: 'Probe runs by plugin and result.',
      labelNames: ['node', 'plugin', 'result'] as const,
      registers: [registry],
    }),
    cniAddDuration: new Histogram({
      name: 'netrank_cni_add_duration_seconds',
      help: 'Duration of CNI ADD operations of the shim (from attachment records), seconds.',
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
    collectorLastSuccess: new Gauge({
      name: 'netrank_collector_last_success_timestamp_seconds',
      help: 'When each collector last finished a cycle successfully, seconds since the epoch.',
      labelNames: ['collector'] as const,
      registers: [registry],
    }),
    collectorErrors: new Counter({
      name: 'netrank_collector_errors_total',
      help: 'Failed collection cycles (or parts of cycles) per collector.',
      labelNames: ['collector'] as const,
      registers: [registry],
    }),
    kpiRejected: zeroed(new Counter({
      name: 'netrank_kpi_rejected_total',
      help: 'KPI samples rejected at ingestion (NaN, negative where impossible, absurd), by reason.',
      labelNames: ['reason'] as const,
      registers: [registry],
    })),
    auditSkippedLines: new Counter({
      name: 'netrank_audit_skipped_lines_total',
      help: 'Audit lines that could not be read back on start (a torn last line after a crash).',
      registers: [registry],
    }),
    unattributed: new Gauge({
      name: 'netrank_unattributed_bytes_per_second',
      help: 'Traffic of pod interfaces no attachment record or network-status annotation attributes to a plugin, bytes/s (last cadvisor cycle).',
      labelNames: ['node', 'direction'] as const,
      registers: [registry],
    }),
    planRequests: new Counter({
      name: 'netrank_plan_requests_total',
      help: 'The shim\'s /v1/plan calls on the agent socket, by where the pod came from (cache: the informer; api: a GET on a cache miss) and result.',
      labelNames: ['node', 'pod_source', 'result'] as const,
      registers: [registry],
    }),
    podStatusPatches: new Counter({
      name: 'netrank_pod_status_patches_total',
      help: 'Status annotations the shim handed to the agent after ADD, by result: patched, gone (pod deleted), conflict (pod recreated: uid precondition), failed (after retries), superseded (a newer status for the pod), dropped-at-shutdown.',
      labelNames: ['node', 'result'] as const,
      registers: [registry],
    }),
    shimTokenExpiry: new Gauge({
      name: 'netrank_shim_token_expiry_timestamp_seconds',
      help: 'When the token the agent minted for the shim\'s ServiceAccount (shimToken.file) expires, seconds since the epoch; the direct path loses the API after it.',
      labelNames: ['node'] as const,
      registers: [registry],
    }),
    shimTokenErrors: new Counter({
      name: 'netrank_shim_token_errors_total',
      help: 'Failed TokenRequests for the shim\'s token (retried with backoff; the previous token stays in its file).',
      labelNames: ['node'] as const,
      registers: [registry],
    }),
    policyReconciles: new Counter({
      name: 'netrank_policy_reconciles_total',
      help: 'Network policy engine rounds (docs/isolation.md), by result: applied (the nftables tables replaced), unchanged, error (the rules in force stay).',
      labelNames: ['node', 'result'] as const,
      registers: [registry],
    }),
    policyAnnotationErrors: new Counter({
      name: 'netrank_policy_annotation_errors_total',
      help: 'genieNetworkpolicy annotations that do not parse (counted once per new error; the policy\'s previous entries stay in force).',
      labelNames: ['node'] as const,
      registers: [registry],
    }),
    policyDeniedPairs: new Gauge({
      name: 'netrank_policy_denied_pairs',
      help: 'Ordered pairs of logical networks whose traffic the netrank nftables rules drop on this node.',
      labelNames: ['node'] as const,
      registers: [registry],
    }),
    ipamRangeFree: new Gauge({
      name: 'netrank_ipam_range_free_ips',
      help: 'Free addresses of each range of the plugin\'s pool on this node (last ipam cycle); an ADD takes one from every range set.',
      labelNames: ['node', 'plugin', 'subnet', 'range'] as const,
      registers: [registry],
    }),
  }
  for (const plugin of known.plugins) {
    for (const reason of SELECTION_REASONS) {
      if (!PROFILED_REASONS.includes(reason)) metrics.selections.inc({ node, plugin, reason, profile: 'none' }, 0)
      else for (const profile of profiles) metrics.selections.inc({ node, plugin, reason, profile }, 0)
    }
    if (known.probes) for (const result of PROBE_RESULTS) metrics.probeRuns.inc({ node, plugin, result }, 0)
  }
  for (const collector of known.collectors) metrics.collectorErrors.inc({ collector }, 0)
  for (const result of POD_STATUS_RESULTS) metrics.podStatusPatches.inc({ node, result }, 0)
  metrics.shimTokenErrors.inc({ node }, 0)
  if (known.policy === true) {
    for (const result of ['applied', 'unchanged', 'error']) metrics.policyReconciles.inc({ node, result }, 0)
    metrics.policyAnnotationErrors.inc({ node }, 0)
  }
  for (const podSource of ['cache', 'api']) for (const result of ['ok', 'error']) metrics.planRequests.inc({ node, pod_source: podSource, result }, 0)
  return metrics
}

// Every rejection kind shows from the first scrape, at 0, so rate() works on the first one.
function zeroed (c: Counter<'reason'>): Counter<'reason'> {
  for (const reason of REJECT_KINDS) c.inc({ reason }, 0)
  return c
}
