/**
 * The agent's Prometheus metrics as docs/contract.md#metrics names them, with their type and labels:
 * one list for the dashboard, alert-rule and metrics tests (and the dashboard-on-Prometheus
 * proof). Histograms are exposed as NAME_bucket (+ `le`), NAME_sum and NAME_count.
 */
export type MetricType = 'gauge' | 'counter' | 'histogram'

export interface MetricSpec {
  type: MetricType
  /** the labels the agent sets; DESIGN lists none for three histograms, metrics.ts sets node+plugin on the RTT one */
  labels: readonly string[]
}

export const METRICS: Readonly<Record<string, MetricSpec>> = Object.freeze({
  netrank_plugin_receive_bytes_per_second: { type: 'gauge', labels: ['node', 'plugin'] },
  netrank_plugin_transmit_bytes_per_second: { type: 'gauge', labels: ['node', 'plugin'] },
  netrank_probe_throughput_bytes_per_second: { type: 'gauge', labels: ['node', 'plugin'] },
  netrank_probe_rtt_seconds: { type: 'histogram', labels: ['node', 'plugin'] },
  netrank_probe_runs_total: { type: 'counter', labels: ['node', 'plugin', 'result'] },
  netrank_ipam_allocated_ips: { type: 'gauge', labels: ['node', 'plugin'] },
  netrank_ipam_capacity_ips: { type: 'gauge', labels: ['node', 'plugin'] },
  netrank_ipam_subnets: { type: 'gauge', labels: ['node', 'plugin'] },
  netrank_ipam_free_ips: { type: 'gauge', labels: ['node', 'plugin'] },
  netrank_ipam_range_free_ips: { type: 'gauge', labels: ['node', 'plugin', 'subnet', 'range'] },
  netrank_selector_score: { type: 'gauge', labels: ['node', 'plugin', 'profile'] },
  netrank_selections_total: { type: 'counter', labels: ['node', 'plugin', 'reason', 'profile'] },
  netrank_plugin_eligible: { type: 'gauge', labels: ['node', 'plugin'] },
  netrank_select_duration_seconds: { type: 'histogram', labels: [] },
  netrank_kpi_age_seconds: { type: 'gauge', labels: ['node', 'plugin', 'kpi'] },
  netrank_collector_last_success_timestamp_seconds: { type: 'gauge', labels: ['collector'] },
  netrank_collector_errors_total: { type: 'counter', labels: ['collector'] },
  netrank_cni_add_duration_seconds: { type: 'histogram', labels: [] },
  netrank_plan_requests_total: { type: 'counter', labels: ['node', 'pod_source', 'result'] },
  netrank_pod_status_patches_total: { type: 'counter', labels: ['node', 'result'] },
  netrank_shim_token_expiry_timestamp_seconds: { type: 'gauge', labels: ['node'] },
  netrank_shim_token_errors_total: { type: 'counter', labels: ['node'] },
  netrank_shim_add_failures_total: { type: 'counter', labels: ['node', 'code', 'error'] },
  netrank_shim_failure_lines_skipped_total: { type: 'counter', labels: ['node'] },
  netrank_shim_conf_active: { type: 'gauge', labels: ['node', 'first'] },
  netrank_build_info: { type: 'gauge', labels: ['version', 'revision', 'node_version'] },
})

/** The metric family names of docs/contract.md#metrics, in its order. */
export const METRIC_NAMES: readonly string[] = Object.freeze(Object.keys(METRICS))

/**
 * Labels every scraped series may carry besides the agent's own: Prometheus' target labels
 * (job, instance), the Prometheus Operator's (namespace, pod, service, endpoint, container),
 * and `node`, which the ServiceMonitor sets from the pod's node for series that have none.
 */
export const SCRAPE_LABELS: readonly string[] = Object.freeze(['job', 'instance', 'node', 'namespace', 'pod', 'service', 'endpoint', 'container'])

/** The family a series name belongs to (`netrank_x_seconds_bucket` → `netrank_x_seconds`), or undefined when unknown. */
export function familyOf (series: string): string | undefined {
  if (Object.hasOwn(METRICS, series)) return series
  const m = /^(.+)_(bucket|sum|count)$/.exec(series)
  if (m !== null && m[1] !== undefined && METRICS[m[1]]?.type === 'histogram') return m[1]
  return undefined
}

/** The label names a selector of this series may use: the family's labels, `le` on buckets, and the scrape labels. */
export function allowedLabels (series: string): Set<string> {
  const family = familyOf(series)
  if (family === undefined) throw new Error(`${series} is not a netrank metric of docs/contract.md#metrics`)
  const labels = new Set([...(METRICS[family]?.labels ?? []), ...SCRAPE_LABELS])
  if (series.endsWith('_bucket')) labels.add('le')
  return labels
}

/** Every `netrank_…` name a PromQL expression mentions. */
export function netrankNamesIn (expr: string): string[] {
  return [...new Set(expr.match(/\bnetrank_[a-z0-9_]+/g) ?? [])]
}

/** Every `netrank_…{…}` selector in a PromQL expression, with the label names its matchers use. */
export function selectorsIn (expr: string): Array<{ series: string, labels: string[] }> {
  const out: Array<{ series: string, labels: string[] }> = []
  for (const m of expr.matchAll(/\b(netrank_[a-z0-9_]+)\s*\{([^}]*)\}/g)) {
    const labels = [...(m[2] ?? '').matchAll(/([A-Za-z_][A-Za-z0-9_]*)\s*(?:=~|!~|!=|=)/g)].map((l) => l[1] ?? '')
    out.push({ series: m[1] ?? '', labels })
  }
  return out
}

/** Metric names of the "## Metrics" section of docs/contract.md, from its text. */
export function metricNamesInContract (contractText: string): string[] {
  const start = contractText.indexOf('\n## Metrics\n')
  if (start < 0) throw new Error('docs/contract.md has no "## Metrics" section')
  const next = contractText.indexOf('\n## ', start + 1)
  const section = contractText.slice(start, next < 0 ? undefined : next)
  return [...new Set(section.match(/`(netrank_[a-z0-9_]+)/g)?.map((s) => s.slice(1)) ?? [])]
}
