// The Grafana dashboard: every panel has a query, every query uses only docs/contract.md#metrics
// metrics with their labels and parses as PromQL (promtool), the variables exist, the
// issue's panels are all there, key panels compute the right numbers from known series
// (promtool's evaluator), and the ConfigMap embeds exactly the JSON file.
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { stringify } from 'yaml'
import { dashboardPanels, dashboardQueries, dashboardVariables, scrapeJob, substitute } from '../support/dashboard-queries.js'
import { kubectlMissing, MANIFESTS, REPO_ROOT, render, findObject } from '../support/kustomize.js'
import { allowedLabels, familyOf, METRIC_NAMES, metricNamesInContract, netrankNamesIn, selectorsIn } from '../support/metric-names.js'

const FILE = join(MANIFESTS, 'grafana', 'netrank.json')
const text = readFileSync(FILE, 'utf8')
const dashboard = JSON.parse(text) as { uid: string, title: string, panels: unknown[], templating: { list: unknown[] } }
const VARS = { node: 'n1', plugin: '.*', profile: 'balanced', datasource: 'prom' }

const promtool = spawnSync('promtool', ['--version'], { encoding: 'utf8' })
const noPromtool = promtool.error !== undefined || promtool.status !== 0 ? 'promtool is not installed (Debian package `prometheus`; CI installs it)' : undefined

t.test('the dashboard has an id, a title and the datasource, node and plugin variables', async (t) => {
  t.equal(dashboard.uid, 'netrank')
  t.equal(dashboard.title, 'netrank')
  const vars = dashboardVariables(dashboard)
  t.equal((vars.get('datasource') as { type?: string, query?: string } | undefined)?.type, 'datasource')
  t.equal((vars.get('datasource') as { query?: string } | undefined)?.query, 'prometheus')
  for (const name of ['node', 'plugin']) {
    const v = vars.get(name) as { type?: string, query?: { query?: string }, datasource?: { uid?: string } } | undefined
    t.equal(v?.type, 'query', `${name} is a query variable`)
    t.match(v?.query?.query, new RegExp(`^label_values\\(netrank_selector_score.*, ${name}\\)$`), `${name} lists the label values of the agents`)
    t.equal(v?.datasource?.uid, '${datasource}', `${name} queries the chosen datasource`)
  }
})

t.test('every panel has a query on the chosen datasource, and panel ids are unique', async (t) => {
  const panels = dashboardPanels(dashboard) as Array<{ id: number, type: string, title: string, datasource?: { uid?: string }, targets?: Array<{ expr?: string, datasource?: { uid?: string } }> }>
  const graphs = panels.filter((p) => p.type !== 'row')
  t.ok(graphs.length >= 10, `${graphs.length} panels`)
  for (const p of graphs) {
    t.ok((p.targets ?? []).length > 0 && (p.targets ?? []).every((x) => typeof x.expr === 'string' && x.expr.trim() !== ''), `${p.title}: has queries`)
    t.equal(p.datasource?.uid, '${datasource}', `${p.title}: panel datasource`)
    for (const x of p.targets ?? []) t.equal(x.datasource?.uid, '${datasource}', `${p.title}: target datasource`)
  }
  const ids = panels.map((p) => p.id)
  t.equal(new Set(ids).size, ids.length)
})

t.test('the panels of the issue are all there', async (t) => {
  const queries = dashboardQueries(dashboard, VARS)
  const byPanel = (re: RegExp): string[] => queries.filter((q) => re.test(q.panel)).map((q) => q.expr)
  const table: Array<[string, RegExp, RegExp[]]> = [
    ['current ranking and scores per plugin', /ranking/i, [/netrank_selector_score\{.*profile="balanced"/]],
    ['selections by plugin and reason over time', /selections by plugin and reason/i, [/sum by \(plugin, reason\) \(rate\(netrank_selections_total/]],
    ['receive/transmit rate per plugin', /receive \/ transmit/i, [/netrank_plugin_receive_bytes_per_second/, /netrank_plugin_transmit_bytes_per_second/]],
    ['probe throughput against usage (headroom)', /headroom/i, [/netrank_probe_throughput_bytes_per_second/, /receive.*transmit/, /throughput.*\) - sum by/]],
    ['RTT p50/p99 per plugin', /RTT p50 \/ p99/, [/histogram_quantile\(0\.5, sum by \(plugin, le\) \(rate\(netrank_probe_rtt_seconds_bucket/, /histogram_quantile\(0\.99,/]],
    ['IP occupancy against the threshold', /IP occupancy/, [/netrank_ipam_allocated_ips\{.*\} \/ \(netrank_ipam_capacity_ips\{.*\} > 0\)/]],
    ['probe success', /probe success/i, [/netrank_probe_runs_total\{.*result=~"ok\|success"/]],
    ['KPI age', /KPI age/, [/netrank_kpi_age_seconds/]],
    ['failed CNI ADDs by code and error', /Failed CNI ADDs/, [/sum by \(code, error\) \(rate\(netrank_shim_add_failures_total/]],
    ['whether netrank\'s conf is the active one', /conf active/, [/netrank_shim_conf_active/]],
    ['shim ADD latency p50/p99', /ADD latency p50 \/ p99/, [/histogram_quantile\(0\.5, .*netrank_cni_add_duration_seconds_bucket/, /histogram_quantile\(0\.99, .*netrank_cni_add_duration_seconds_bucket/]],
  ]
  for (const [item, title, exprs] of table) {
    const found = byPanel(title)
    t.ok(found.length > 0, `a panel for "${item}"`)
    for (const re of exprs) t.ok(found.some((e) => re.test(e)), `"${item}" queries ${re}`)
  }
  const occupancy = (dashboardPanels(dashboard) as Array<{ title: string, fieldConfig?: { defaults?: { thresholds?: { steps: Array<{ value: number | null }> } } } }>)
    .find((p) => /IP occupancy/.test(p.title))
  t.same(occupancy?.fieldConfig?.defaults?.thresholds?.steps.map((s) => s.value), [null, 0.9, 0.95], 'threshold lines at the alert (90 %) and maxOccupancy (95 %)')
})

t.test('every query uses only docs/contract.md#metrics metrics with labels they have, filtered by node', async (t) => {
  for (const q of dashboardQueries(dashboard, VARS)) {
    const names = netrankNamesIn(q.expr)
    t.ok(names.length > 0, `${q.panel} ${q.refId}: reads a netrank metric`)
    for (const n of names) t.ok(familyOf(n), `${q.panel}: ${n} is a docs/contract.md#metrics metric`)
    for (const s of selectorsIn(q.expr)) {
      const allowed = allowedLabels(s.series)
      for (const l of s.labels) t.ok(allowed.has(l), `${q.panel}: ${s.series} has label ${l}`)
      t.ok(s.labels.includes('node'), `${q.panel}: ${s.series} is filtered by node`)
    }
    t.notMatch(q.expr, /\$/, `${q.panel}: nothing left to substitute`)
  }
})

t.test('every query parses as PromQL (promtool check rules)', { skip: noPromtool }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'nr-dash-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const queries = dashboardQueries(dashboard, VARS)
  const rules = { groups: [{ name: 'dashboard', rules: queries.map((q, i) => ({ record: `dashboard:query_${i}`, expr: q.expr })) }] }
  writeFileSync(join(dir, 'rules.yaml'), stringify(rules))
  const r = spawnSync('promtool', ['check', 'rules', join(dir, 'rules.yaml')], { encoding: 'utf8' })
  t.equal(r.status, 0, r.stdout + r.stderr)
  t.match(r.stdout, new RegExp(`SUCCESS: ${queries.length} rules found`))
})

// Known series in, exact panel values out, evaluated by promtool's PromQL engine.
t.test('key panels compute the right values from known series (promtool)', { skip: noPromtool }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'nr-dash-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  writeFileSync(join(dir, 'empty.yaml'), 'groups: []\n')
  const q = dashboardQueries(dashboard, VARS)
  const expr = (panel: RegExp, refId = 'A'): string => {
    const hit = q.find((x) => panel.test(x.panel) && x.refId === refId)
    if (hit === undefined) throw new Error(`no query ${refId} in a panel matching ${panel}`)
    return hit.expr
  }
  const series = (s: string, values: string): { series: string, values: string } => ({ series: s, values })
  const tests = {
    rule_files: ['empty.yaml'],
    evaluation_interval: '1m',
    tests: [{
      interval: '1m',
      input_series: [
        series('netrank_selector_score{node="n1",plugin="fast",profile="balanced"}', '0.8x10'),
        series('netrank_selector_score{node="n1",plugin="slow",profile="balanced"}', '0.3x10'),
        series('netrank_selector_score{node="n1",plugin="fast",profile="latency"}', '0.1x10'),
        series('netrank_selector_score{node="n2",plugin="fast",profile="balanced"}', '0.5x10'),
        // capacity 125 MB/s (1 Gbit/s), receive 20 MB/s, transmit 5 MB/s → headroom 100 MB/s
        series('netrank_probe_throughput_bytes_per_second{node="n1",plugin="fast"}', '125000000x10'),
        series('netrank_plugin_receive_bytes_per_second{node="n1",plugin="fast"}', '20000000x10'),
        series('netrank_plugin_transmit_bytes_per_second{node="n1",plugin="fast"}', '5000000x10'),
        series('netrank_ipam_allocated_ips{node="n1",plugin="small"}', '13x10'),
        series('netrank_ipam_capacity_ips{node="n1",plugin="small"}', '14x10'),
        // 3 ok and 1 error a minute
        series('netrank_probe_runs_total{node="n1",plugin="fast",result="ok"}', '0+3x10'),
        series('netrank_probe_runs_total{node="n1",plugin="fast",result="error"}', '0+1x10'),
        // budget skips are not runs: the ratio stays 3 in 4
        series('netrank_probe_runs_total{node="n1",plugin="fast",result="skipped-budget"}', '0+5x10'),
        // never a success
        series('netrank_probe_runs_total{node="n1",plugin="slow",result="timeout"}', '0+2x10'),
        // two failed ADDs a minute, all of one error; none of another
        series('netrank_shim_add_failures_total{node="n1",code="105",error="NR_CNI_DELEGATE_FAILED"}', '0+2x10'),
        series('netrank_shim_add_failures_total{node="n1",code="11",error="NR_CNI_API_UNAVAILABLE"}', '0x10'),
        series('netrank_shim_conf_active{node="n1",first="00-calico.conflist"}', '0x10'),
        // every ADD took between 0.25 and 0.5 s: p50 = 0.375 by linear interpolation in that bucket
        series('netrank_cni_add_duration_seconds_bucket{node="n1",le="0.25"}', '0x10'),
        series('netrank_cni_add_duration_seconds_bucket{node="n1",le="0.5"}', '0+10x10'),
        series('netrank_cni_add_duration_seconds_bucket{node="n1",le="+Inf"}', '0+10x10'),
      ],
      promql_expr_test: [
        { expr: expr(/ranking/i), eval_time: '5m', exp_samples: [{ labels: '{plugin="fast"}', value: 0.8 }, { labels: '{plugin="slow"}', value: 0.3 }] },
        { expr: expr(/headroom/, 'C'), eval_time: '5m', exp_samples: [{ labels: '{plugin="fast"}', value: 100000000 }] },
        { expr: expr(/headroom/, 'B'), eval_time: '5m', exp_samples: [{ labels: '{plugin="fast"}', value: 25000000 }] },
        { expr: expr(/IP occupancy/), eval_time: '5m', exp_samples: [{ labels: '{plugin="small"}', value: 13 / 14 }] },
        { expr: expr(/probe success/i), eval_time: '5m', exp_samples: [{ labels: '{plugin="fast"}', value: 0.75 }, { labels: '{plugin="slow"}', value: 0 }] },
        { expr: expr(/ADD latency/), eval_time: '5m', exp_samples: [{ labels: '{}', value: 0.375 }] },
        { expr: expr(/Failed CNI ADDs/), eval_time: '5m', exp_samples: [{ labels: '{code="105",error="NR_CNI_DELEGATE_FAILED"}', value: 2 }, { labels: '{code="11",error="NR_CNI_API_UNAVAILABLE"}', value: 0 }] },
        { expr: expr(/conf active/), eval_time: '5m', exp_samples: [{ labels: '{node="n1",first="00-calico.conflist"}', value: 0 }] },
      ],
    }],
  }
  writeFileSync(join(dir, 'tests.yaml'), stringify(tests))
  const r = spawnSync('promtool', ['test', 'rules', 'tests.yaml'], { cwd: dir, encoding: 'utf8' })
  t.equal(r.status, 0, r.stdout + r.stderr)
})

t.test('the dashboard ConfigMap embeds exactly the JSON file, with the sidecar label', { skip: kubectlMissing() }, async (t) => {
  const objects = render('overlays/flannel-calico') // the grafana dir is a component, rendered through an overlay
  const cm = findObject(objects, 'ConfigMap', 'netrank-dashboard') as unknown as { data: Record<string, string>, metadata: { labels: Record<string, string> } }
  t.equal(cm.data['netrank.json'], text, 'byte for byte')
  t.equal(cm.metadata.labels.grafana_dashboard, '1')
})

t.test('dashboardQueries substitutes variables and macros, and names a missing one', async (t) => {
  const dash = {
    panels: [
      { type: 'row', title: 'r', panels: [{ title: 'nested $node', targets: [{ refId: 'A', expr: 'x{node="$node"}' }] }] },
      { title: 'p', targets: [
        { refId: 'A', expr: 'rate(y{plugin=~"${plugin}"}[$__rate_interval])', instant: true },
        { refId: 'B', expr: '[[node]] hidden', hide: true },
        { refId: 'C', expr: '' },
      ] },
    ],
    templating: { list: [{ name: 'plugin', includeAll: true, allValue: '.*', current: { value: ['$__all'] } }, { name: 'node', current: { value: 'saved' } }] },
  }
  t.same(dashboardQueries(dash), [
    { panel: 'nested saved', refId: 'A', expr: 'x{node="saved"}', instant: false },
    { panel: 'p', refId: 'A', expr: 'rate(y{plugin=~".*"}[1m])', instant: true },
  ], 'saved values, allValue for All, default macros; hidden and empty targets skipped')
  t.same(dashboardQueries(dash, { node: 'n9', plugin: ['a', 'b'], __rate_interval: '2m' }).map((q) => q.expr),
    ['x{node="n9"}', 'rate(y{plugin=~"(a|b)"}[2m])'], 'given values win; several values become a regex alternation')
  t.throws(() => substitute('z{k="$nope"}', {}), /variable \$nope has no value/)
  t.throws(() => dashboardQueries({}), /no "panels" list/)
})

t.test('scrapeJob labels series with the node the way the ServiceMonitor does', async (t) => {
  t.same(scrapeJob({ target: '127.0.0.1:9797', node: 'lab' }), {
    job_name: 'netrank', scrape_interval: '15s', honor_labels: true, metrics_path: '/metrics',
    static_configs: [{ targets: ['127.0.0.1:9797'], labels: { node: 'lab' } }],
  })
})

t.test('the metric list is docs/contract.md#metrics\'s', async (t) => {
  t.same([...METRIC_NAMES].sort(), metricNamesInContract(readFileSync(join(REPO_ROOT, 'docs', 'contract.md'), 'utf8')).sort())
})
