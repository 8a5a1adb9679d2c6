// The Grafana dashboard proven against a real Prometheus (proven, not trusted):
// the lab (real CNI plugins, shim, agent, iperf3) is brought up, Debian's Prometheus scrapes
// its agent every 1 s on loopback with the ServiceMonitor's labelling (scrapeJob), the lab CLI
// generates what the panels show (smart selections, pod traffic; the agent's probes and ipam
// collector run by themselves), and then every panel query of manifests/grafana/netrank.json,
// variables substituted, goes through /api/v1/query: an error, no series, or only NaN (a
// panel that draws nothing) fails, naming the panel and the query. Each smart selection must
// also show in the selections panel as a positive rate at the moment Prometheus has it.
//
// Grafana's interval macros: $__interval = 1s (the scrape interval here) and $__rate_interval
// = 1m, what Grafana itself computes for the shipped ServiceMonitor's 15 s scrapes (4 × 15 s).
// With 15s the RTT quantiles of all four lab networks were NaN in one run here: the agent runs
// probes one at a time, RTT every 3 s per network, but each iperf3 run (every 15–20 s per
// network) holds the queue for 3–4 s, so a short window after start can hold no RTT run.
import { LAB_BUILD as BUILD, labCli, type LabRun } from '../support/lab-cli.js'
import tap, { type Test } from 'tap'
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import type { LabStatus } from '../../lab/lab-status.js'
import { netrankNamesIn } from '../support/metric-names.js'
import { dashboardQueries, scrapeJob, type DashboardQuery, type VariableValue } from '../support/dashboard-queries.js'
import { withLabLock } from '../support/lab-lock.js'
import { tempDir } from '../support/netns.js'
import { prometheusConfig, prometheusMissing, startPrometheus, type PrometheusServer, type PromQueryResult } from '../support/prometheus.js'
import { setTimeout as sleep } from 'node:timers/promises'

const root = join(import.meta.dirname, '..', '..')
const DASHBOARD = JSON.parse(readFileSync(join(root, 'manifests', 'grafana', 'netrank.json'), 'utf8')) as unknown

const PROOF = Object.freeze({
  scrapeIntervalSeconds: 1, // 1 s: data within seconds of the lab doing something
  macros: { __rate_interval: '1m', __interval: '1s' }, // see the header
  profile: 'balanced', // the dashboard's saved profile and the agent's default
  labCommandTimeoutMs: 120_000, // 2 min: `lab up` on a loaded 2-core machine
  targetUpTimeoutMs: 20_000, // 20 s until Prometheus has scraped the agent once
  dataTimeoutMs: 90_000, // 90 s until every panel has series: iperf3 probes run every ~20 s per network
  activityTimeoutMs: 20_000, // 20 s until a fresh pod's ADD and selection show up in Prometheus
  pollMs: 1_000, // 1 s: one scrape
  trafficSeconds: 3, // 3 s of iperf3 between the two smart-selected pods
  lockWaitMs: 600_000, // 10 min: withLabLock's own bound while another test file's lab runs
  budgetMs: 180_000, // 3 min for this file once it holds the lab: lab up, data, proof, down
})

async function lab (dir: string, ...args: string[]): Promise<LabRun> {
  return await labCli(dir, args, { timeoutMs: PROOF.labCommandTimeoutMs })
}

function agentLogTail (dir: string): string {
  try { return readFileSync(join(dir, 'log', 'agent.log'), 'utf8').trimEnd().split('\n').slice(-10).join('\n') } catch { return '(no agent log)' }
}


/** Why a query result does not prove its panel, or undefined when it does. */
function whyNoData (r: PromQueryResult): string | undefined {
  if (r.status !== 'success') return `error: ${r.errorType ?? ''} ${r.error ?? '(no message)'}`.trim()
  if (r.samples.length === 0) return 'no series'
  if (!r.samples.some((s) => Number.isFinite(Number(s.value[1])))) return `only NaN/Inf: ${r.samples.map((s) => s.value[1]).join(', ')}`
  return undefined
}

async function evaluate (prom: PrometheusServer, queries: DashboardQuery[], time?: number): Promise<Array<{ q: DashboardQuery, r: PromQueryResult }>> {
  const out: Array<{ q: DashboardQuery, r: PromQueryResult }> = []
  for (const q of queries) out.push({ q, r: await prom.query(q.expr, time) })
  return out
}

// One number from Prometheus (a sum over the lab node's series), with the server's evaluation time.
async function scalarNow (prom: PrometheusServer, expr: string): Promise<{ value: number, at: number }> {
  const r = await prom.query(expr)
  const s = r.samples[0]
  return { value: s === undefined ? Number.NaN : Number(s.value[1]), at: s?.value[0] ?? Date.now() / 1000 }
}

function short (r: PromQueryResult): string {
  return r.samples.slice(0, 6).map((s) => {
    const labels = Object.entries(s.metric).filter(([k]) => k === 'plugin' || k === 'reason' || k === 'kpi' || k === 'collector').map(([, v]) => v).join('/')
    const v = Number(s.value[1])
    return `${labels === '' ? '·' : labels}=${Number.isFinite(v) ? Number(v.toPrecision(4)) : s.value[1]}`
  }).join(' ') + (r.samples.length > 6 ? ` …(${r.samples.length} series)` : '')
}

function skipReason (): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root (the lab builds network namespaces and runs CNI plugins); CI runs it as root'
  const missing = BUILD.filter((p) => !existsSync(p))
  if (missing.length > 0) return `needs the build (npm run build): missing ${missing.join(', ')}`
  return prometheusMissing()
}

const reason = skipReason()
tap.test('every dashboard panel returns series from a real Prometheus scraping the lab agent', { skip: reason ?? false }, async (t) => {
  // Teardowns run last-registered first: Prometheus stops, then the lab goes down, then its dir
  // is removed, then the lock is released. None of them may throw (tap drops the rest if one does).
  // Waiting for another file's lab is not this file's run time: the file's tap timeout covers
  // the wait, then restarts at the budget once the lab is ours (root setTimeout tells the runner).
  tap.setTimeout(PROOF.lockWaitMs + PROOF.budgetMs)
  await withLabLock(t)
  tap.setTimeout(PROOF.budgetMs)
  const dir = tempDir(t, 'nr-dash-lab')
  t.teardown(async () => {
    const down = await lab(dir, 'down')
    if (down.code !== 0) console.error(`lab down failed (exit ${down.code}): ${down.stderr}`)
  })

  const up = await lab(dir, 'up')
  if (up.code !== 0) {
    t.fail(`lab up failed (exit ${up.code}):\n${up.stdout}\n${up.stderr}\nagent log:\n${agentLogTail(dir)}`)
    return
  }
  const statusRun = await lab(dir, 'status', '--json')
  t.equal(statusRun.code, 0, 'lab status --json answers')
  if (statusRun.code !== 0) return
  const st = JSON.parse(statusRun.stdout) as LabStatus
  if (st.agentUrl === null) { t.fail('lab status names no agent URL'); return }
  const node = st.node
  const plugins = st.networks.map((n) => n.name)

  const prom = await startPrometheus({
    scrapeConfigs: [scrapeJob({ target: new URL(st.agentUrl).host, node, intervalSeconds: PROOF.scrapeIntervalSeconds })],
    intervalSeconds: PROOF.scrapeIntervalSeconds,
  })
  t.teardown(async () => { try { await prom.stop() } catch (err) { console.error(`stopping prometheus (pid ${prom.pid}): ${String(err)}`) } })
  t.comment(`prometheus ${prom.url} (pid ${prom.pid}) scrapes the lab agent ${st.agentUrl} every ${PROOF.scrapeIntervalSeconds} s as node="${node}"`)

  await t.test('Prometheus scrapes the lab agent', async (t) => {
    const deadline = Date.now() + PROOF.targetUpTimeoutMs
    let up = await scalarNow(prom, 'sum(up{job="netrank"})')
    while (up.value !== 1 && Date.now() < deadline) {
      await sleep(PROOF.pollMs)
      up = await scalarNow(prom, 'sum(up{job="netrank"})')
    }
    let targets = ''
    if (up.value !== 1) targets = await (await fetch(`${prom.url}/api/v1/targets`)).text()
    t.equal(up.value, 1, `up{job="netrank"} is 1 (targets: ${targets})`)
  })

  const allQueries = dashboardQueries(DASHBOARD, { datasource: 'prometheus', node, plugin: '.*', profile: PROOF.profile, ...PROOF.macros })
  t.ok(allQueries.length >= 10, `the dashboard has ${allQueries.length} queries`)
  const selectionsQuery = allQueries.find((q) => /selections by plugin and reason/i.test(q.panel))

  // A smart-selected pod through the lab CLI, returned once Prometheus has scraped both its
  // shim ADD (attachment record → ADD latency) and its selection (select latency), with the
  // Prometheus time at which it had; queries evaluated at that time see the increase in their
  // rate() windows however long they take to run.
  const sel = `{node=~"${node}"}`
  const counts = async (): Promise<{ adds: number, selects: number, at: number }> => {
    const adds = await scalarNow(prom, `sum(netrank_cni_add_duration_seconds_count${sel})`)
    const selects = await scalarNow(prom, `sum(netrank_select_duration_seconds_count${sel})`)
    return { adds: adds.value, selects: selects.value, at: selects.at }
  }
  const smartPod = async (t: Test, name: string): Promise<{ plugin: string, reason: string, at: number } | undefined> => {
    const before = await counts()
    const r = await lab(dir, 'pod', 'add', name, '--annotation', 'cni=', '--json')
    t.equal(r.code, 0, `pod add ${name} with cni: "" succeeds`, { stderr: r.stderr })
    if (r.code !== 0) return undefined
    const selection = (JSON.parse(r.stdout) as { selection?: { plugins: string[], reason: string } }).selection
    t.match(selection?.reason, /^(smart|fallback-.+)$/, `${name} was placed by smart selection (${selection?.plugins.join(',') ?? '?'}, ${selection?.reason ?? '?'})`)
    let after = await counts()
    const deadline = Date.now() + PROOF.activityTimeoutMs
    while (!(after.adds > before.adds && after.selects > before.selects) && Date.now() < deadline) {
      await sleep(PROOF.pollMs)
      after = await counts()
    }
    t.ok(after.adds > before.adds, `Prometheus saw ${name}'s shim ADD (netrank_cni_add_duration_seconds_count ${before.adds} → ${after.adds})`)
    t.ok(after.selects > before.selects, `Prometheus saw ${name}'s selection (netrank_select_duration_seconds_count ${before.selects} → ${after.selects})`)
    const plugin = selection?.plugins[0]
    if (plugin === undefined || selection === undefined) return undefined
    return { plugin, reason: selection.reason, at: after.at }
  }

  // The selections panel must show a selection the moment Prometheus has it: a positive rate
  // for its (plugin, reason). This fails when the agent creates a counter series only on its
  // first increment (rate() cannot see a series' first value), which every first selection of
  // a plugin in a fresh lab is.
  const selectionShows = async (t: Test, name: string, s: { plugin: string, reason: string, at: number }): Promise<void> => {
    if (selectionsQuery === undefined) { t.fail('the dashboard has no "Selections by plugin and reason" panel'); return }
    const r = await prom.query(selectionsQuery.expr, s.at)
    const series = r.samples.find((x) => x.metric.plugin === s.plugin && x.metric.reason === s.reason)
    t.ok(series !== undefined && Number(series.value[1]) > 0,
      `panel "${selectionsQuery.panel}" shows ${name}'s selection (${s.plugin}, ${s.reason}) as a positive rate: ${series === undefined ? 'no such series' : series.value[1]} — ${selectionsQuery.expr}`,
      { series: short(r), hint: 'netrank_selections_total{plugin,reason} must exist at 0 before its first increment (the agent should initialise it for every catalog plugin and reason)' })
  }

  // For a failure message: the raw series behind a query's metrics, and their change over the
  // rate window (histograms by their _count), so a report says whether the agent set them at all.
  const behind = async (expr: string, time: number): Promise<Record<string, string>> => {
    const out: Record<string, string> = {}
    for (const name of netrankNamesIn(expr)) {
      const series = name.endsWith('_bucket') ? name.replace(/_bucket$/, '_count') : name
      const now = await prom.query(`${series}${sel}`, time)
      const change = await prom.query(`changes(${series}${sel}[${PROOF.macros.__rate_interval}])`, time)
      out[series] = `now: ${now.samples.length === 0 ? 'no series' : short(now)}; changes over ${PROOF.macros.__rate_interval}: ${change.samples.length === 0 ? 'none' : short(change)}`
    }
    return out
  }

  // What only activity produces: smart selections (selections, select latency), shim ADDs
  // (ADD latency from attachment records) and pod traffic (receive/transmit per plugin).
  await t.test('smart-selected pods show in the selections panel and traffic runs between them', async (t) => {
    for (const name of ['dash-a', 'dash-b']) {
      const s = await smartPod(t, name)
      if (s === undefined) return
      await selectionShows(t, name, s)
    }
    const tr = await lab(dir, 'traffic', '--from', 'dash-a', '--to', 'dash-b', '--seconds', String(PROOF.trafficSeconds), '--json')
    t.equal(tr.code, 0, 'iperf3 traffic from dash-a to dash-b runs', { stderr: tr.stderr })
    if (tr.code === 0) t.ok((JSON.parse(tr.stdout) as { bytes: number }).bytes > 0, 'the traffic moved bytes')
  })

  // Probes (iperf3 every ~20 s per network, RTT every few s) and the ipam collector fill the
  // rest on their own schedule: wait, bounded, until every query has a series with a number.
  const waitStart = Date.now()
  let pending: string[] = allQueries.map((q) => `${q.panel} ${q.refId}`)
  while (pending.length > 0 && Date.now() - waitStart < PROOF.dataTimeoutMs) {
    pending = (await evaluate(prom, allQueries)).filter(({ r }) => whyNoData(r) !== undefined).map(({ q }) => `${q.panel} ${q.refId}`)
    if (pending.length > 0) await sleep(PROOF.pollMs)
  }
  t.comment(pending.length === 0
    ? `every query had data after ${((Date.now() - waitStart) / 1000).toFixed(0)} s`
    : `after ${PROOF.dataTimeoutMs / 1000} s still without data: ${pending.join('; ')}`)

  // One more smart-selected pod right before the proof, so the rate() windows of the selection
  // and latency panels hold an increase; every query is evaluated at the moment Prometheus had it.
  const last = await smartPod(t, 'dash-c')
  if (last === undefined) return
  const at = last.at

  await t.test(`every panel query has data with plugin = All, node = ${node}, profile = ${PROOF.profile}`, async (t) => {
    await selectionShows(t, 'dash-c', last)
    for (const { q, r } of await evaluate(prom, allQueries, at)) {
      const why = whyNoData(r)
      const extra = why === undefined ? {} : { error: r.error, warnings: r.warnings, behind: await behind(q.expr, at), prometheusLog: prom.logTail(5) }
      t.ok(why === undefined, `panel "${q.panel}" ${q.refId}: ${why ?? short(r)} — ${q.expr}`, extra)
    }
  })

  // The plugin variable as a multi-value selection: the regex must keep exactly those plugins.
  const chosen = plugins.slice(0, 2)
  await t.test(`with plugin = ${chosen.join(' + ')}, queries succeed and keep only those plugins`, async (t) => {
    const queries = dashboardQueries(DASHBOARD, { datasource: 'prometheus', node, plugin: chosen as VariableValue, profile: PROOF.profile, ...PROOF.macros })
    for (const { q, r } of await evaluate(prom, queries, at)) {
      t.equal(r.status, 'success', `panel "${q.panel}" ${q.refId} succeeds: ${q.expr}`, { error: r.error })
      const others = r.samples.map((s) => s.metric.plugin).filter((p) => p !== undefined && !chosen.includes(p))
      t.same(others, [], `panel "${q.panel}" ${q.refId} shows no other plugin`)
    }
    const ranking = queries.find((q) => /ranking/i.test(q.panel))
    t.ok(ranking !== undefined, 'the dashboard has a ranking panel')
    if (ranking !== undefined) {
      const r = await prom.query(ranking.expr, at)
      t.same(r.samples.map((s) => s.metric.plugin).sort(), [...chosen].sort(), 'the ranking panel shows a score for each chosen plugin')
    }
  })
})

// The Prometheus helper itself, without the lab (no root needed).
const noPrometheus = prometheusMissing()

tap.test('prometheusConfig refuses what would give a Prometheus with nothing to do', async (t) => {
  const job = scrapeJob({ target: '127.0.0.1:1', node: 'n1', intervalSeconds: 1 })
  const table: Array<[string, () => string, RegExp]> = [
    ['no scrape config', () => prometheusConfig([]), /at least one scrape config/],
    ['a zero interval', () => prometheusConfig([job], 0), /scrape interval must be > 0 seconds, got 0/],
    ['a negative interval', () => prometheusConfig([job], -1), /got -1/],
    ['a NaN interval', () => prometheusConfig([job], Number.NaN), /got NaN/],
  ]
  for (const [what, fn, message] of table) t.throws(fn, { message }, what)
  t.match(prometheusConfig([job], 2), /scrape_interval: 2s[\s\S]*job_name: netrank[\s\S]*node: n1/, 'a valid config names the interval, the job and the node label')
})

tap.test('a real Prometheus from the helper answers queries, reports PromQL errors as data, and is gone after stop', { skip: noPrometheus ?? false }, async (t) => {
  // nothing listens on port 1: the target is down, the server is not
  const prom = await startPrometheus({ scrapeConfigs: [scrapeJob({ target: '127.0.0.1:1', node: 'n1', intervalSeconds: 1 })] })
  t.teardown(async () => { await prom.stop() })
  t.match(prom.url, /^http:\/\/127\.0\.0\.1:\d+$/, 'listens on loopback')
  const two = await prom.query('1 + 1')
  t.same([two.status, two.resultType, two.samples[0]?.value[1]], ['success', 'scalar', '2'], 'a scalar is one sample')
  const vec = await prom.query('vector(3) * 2')
  t.same(vec.samples.map((s) => s.value[1]), ['6'], 'a vector keeps its samples')
  const bad = await prom.query('sum(')
  t.equal(bad.status, 'error', 'a PromQL syntax error is an error result, not a throw')
  t.match(bad.error, /parse error/)
  t.same(bad.samples, [])
  await prom.stop()
  t.notOk(existsSync(`/proc/${prom.pid}/cmdline`) && readFileSync(`/proc/${prom.pid}/cmdline`, 'utf8').includes('prometheus'), 'the process is gone')
  t.notOk(existsSync(prom.dir), 'its TSDB dir is removed')
  await prom.stop() // idempotent
})

tap.test('a Prometheus that cannot start fails with its own log in the error', { skip: noPrometheus ?? false }, async (t) => {
  // a scrape config without job_name: Prometheus refuses the config file and exits
  await t.rejects(startPrometheus({ scrapeConfigs: [{ static_configs: [{ targets: ['127.0.0.1:1'] }] }] }),
    { message: /prometheus exited \(code \d+[\s\S]*its log:[\s\S]*job_name is empty/ })
})
