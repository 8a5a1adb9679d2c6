// The alert rules: promtool accepts them and their unit tests pass (Debian's prometheus
// package provides promtool; CI installs it), the PrometheusRule holds exactly the plain
// file's rules, every alert has a firing and a not-firing test, and the rules use only
// docs/contract.md#metrics's metrics with their labels.
import { spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { parse } from 'yaml'
import { defaultStaleAfterMs } from '../support/agent-config.js'
import { allowedLabels, familyOf, netrankNamesIn, selectorsIn } from '../support/metric-names.js'
import { MANIFESTS, validateObject } from '../support/kustomize.js'
import type { KubeObject } from '../support/kustomize.js'

const DIR = join(MANIFESTS, 'prometheus')
const RULES_FILE = join(DIR, 'netrank-rules.yaml')
const TEST_FILE = join(DIR, 'netrank-rules.test.yaml')
const RUNBOOKS = join(DIR, '..', '..', 'docs', 'runbooks.md')

interface Rule { alert?: string, record?: string, expr: string, for?: string, labels?: Record<string, string>, annotations?: Record<string, string> }
interface Group { name: string, rules: Rule[] }

const plain = parse(readFileSync(RULES_FILE, 'utf8')) as { groups: Group[] }
const crd = parse(readFileSync(join(DIR, 'prometheusrule.yaml'), 'utf8')) as KubeObject & { spec: { groups: Group[] } }
const alerts = plain.groups.flatMap((g) => g.rules).filter((r) => r.alert !== undefined)

const promtool = spawnSync('promtool', ['--version'], { encoding: 'utf8' })
const noPromtool = promtool.error !== undefined || promtool.status !== 0
  ? 'promtool is not installed (Debian package `prometheus`; CI installs it)'
  : undefined

t.test('promtool check rules accepts the rules file', { skip: noPromtool }, async (t) => {
  const r = spawnSync('promtool', ['check', 'rules', RULES_FILE], { encoding: 'utf8' })
  t.equal(r.status, 0, r.stdout + r.stderr)
  t.match(r.stdout, new RegExp(`SUCCESS: ${alerts.length} rules found`))
})

t.test('promtool test rules passes every alert test', { skip: noPromtool }, async (t) => {
  // promtool resolves rule_files relative to the test file's directory
  const r = spawnSync('promtool', ['test', 'rules', 'netrank-rules.test.yaml'], { cwd: DIR, encoding: 'utf8' })
  t.equal(r.status, 0, r.stdout + r.stderr)
  t.match(r.stdout, /SUCCESS/)
})

t.test('a wrong expectation makes promtool test rules fail (the tests can fail)', { skip: noPromtool }, async (t) => {
  const tests = parse(readFileSync(TEST_FILE, 'utf8')) as { tests: Array<{ alert_rule_test: Array<{ exp_alerts: Array<{ exp_labels: Record<string, string> }> }> }> }
  // the first firing expectation, with a node that does not fire
  const firing = tests.tests.flatMap((x) => x.alert_rule_test).find((a) => a.exp_alerts.length > 0)
  t.ok(firing)
  if (firing?.exp_alerts[0] !== undefined) firing.exp_alerts[0].exp_labels = { ...firing.exp_alerts[0].exp_labels, severity: 'page' }
  const r = spawnSync('promtool', ['test', 'rules', '/dev/stdin'], { cwd: DIR, input: JSON.stringify({ ...tests, rule_files: [RULES_FILE] }), encoding: 'utf8' })
  t.not(r.status, 0, 'promtool reports the mismatch')
  t.match(r.stdout + r.stderr, /FAILED/)
})

t.test('the PrometheusRule holds exactly the rules of the plain file', async (t) => {
  t.same(crd.spec.groups, plain.groups, 'regenerate with: node manifests/prometheus/generate-prometheusrule.mjs')
  t.doesNotThrow(() => validateObject(crd), 'valid against the Prometheus Operator schema')
})

t.test('the required alerts exist', async (t) => {
  const names = alerts.map((a) => a.alert)
  for (const want of ['NetrankAgentDown', 'NetrankAgentAbsent', 'NetrankKpiStale', 'NetrankProbeFailureRatioHigh', 'NetrankIpPoolNearlyFull', 'NetrankSelectionsFallingBack', 'NetrankPodAddsFailing', 'NetrankConfNotActive', 'NetrankNoEligiblePlugin']) {
    t.ok(names.includes(want), want)
  }
  t.equal(new Set(names).size, names.length, 'alert names are unique')
  for (const a of alerts) {
    t.ok(a.for !== undefined, `${a.alert} waits (for:) before firing`)
    t.ok(['critical', 'warning'].includes(a.labels?.severity ?? ''), `${a.alert} has a severity, critical or warning`)
    t.ok(a.annotations?.summary && a.annotations.description, `${a.alert} has a summary and a description`)
  }
})

t.test('pods without a network page (critical); the rest warns', async (t) => {
  const critical = alerts.filter((a) => a.labels?.severity === 'critical').map((a) => a.alert).sort()
  t.same(critical, ['NetrankConfNotActive', 'NetrankPodAddsFailing'])
})

t.test('every alert has a runbook_url into docs/runbooks.md, whose section says what it means, how to check and how to fix', async (t) => {
  const text = readFileSync(RUNBOOKS, 'utf8')
  // GitHub's anchors of the `## Name` headings
  const sections = new Map<string, string>()
  const parts = text.split(/^## /m).slice(1)
  for (const part of parts) {
    const heading = part.slice(0, part.indexOf('\n')).trim()
    sections.set(heading.toLowerCase().replace(/[^a-z0-9 -]/g, '').replace(/ /g, '-'), part)
  }
  for (const a of alerts) {
    const url = a.annotations?.runbook_url ?? ''
    const m = /^docs\/runbooks\.md#([a-z0-9-]+)$/.exec(url)
    t.ok(m, `${a.alert}: runbook_url ${url} points into docs/runbooks.md`)
    const section = sections.get(m?.[1] ?? '')
    t.ok(section, `${a.alert}: docs/runbooks.md has the section #${m?.[1] ?? ''}`)
    t.match(section ?? '', /What it means/, `${a.alert}: what it means`)
    t.match(section ?? '', /How to check/, `${a.alert}: how to check`)
    t.match(section ?? '', /How to fix/, `${a.alert}: how to fix`)
  }
  t.equal(sections.size, alerts.length, 'one runbook section per alert, none left over')
})

t.test('the alerts watch the metrics the issue names', async (t) => {
  const expr = (name: string): string => alerts.find((a) => a.alert === name)?.expr ?? ''
  t.match(expr('NetrankKpiStale'), /netrank_kpi_age_seconds/)
  // failures are the runs that neither succeeded nor were skipped; skips are not in the total either
  t.match(expr('NetrankProbeFailureRatioHigh'), /rate\(netrank_probe_runs_total\{result!~"ok\|success\|skipped-\.\*"\}\[30m\]\)\)\s*\/ sum by \(node, plugin\) \(rate\(netrank_probe_runs_total\{result!~"skipped-\.\*"\}/)
  t.match(expr('NetrankProbeFailureRatioHigh'), /and on \(node, plugin\) .*increase\(netrank_probe_runs_total\{result!~"skipped-\.\*"\}\[30m\]\)\) >= \d+/, 'a volume floor')
  t.match(expr('NetrankSelectionsFallingBack'), /and on \(node\) sum by \(node\) \(increase\(netrank_selections_total\[15m\]\)\) >= \d+/, 'a volume floor')
  t.match(expr('NetrankPodAddsFailing'), /increase\(netrank_shim_add_failures_total\[15m\]\)\) >= \d+/)
  t.match(expr('NetrankConfNotActive'), /netrank_shim_conf_active == 0/)
  t.match(expr('NetrankNoEligiblePlugin'), /max by \(node\) \(netrank_plugin_eligible\) == 0/)
  t.match(expr('NetrankIpPoolNearlyFull'), /netrank_ipam_allocated_ips \/ \(netrank_ipam_capacity_ips > 0\)\)\s*> 0\.9/)
  t.match(expr('NetrankSelectionsFallingBack'), /netrank_selections_total\{reason=~"fallback\.\*"\}/)
  t.match(expr('NetrankAgentDown'), /^up\{job="netrank"\} == 0/)
  t.match(expr('NetrankAgentAbsent'), /^absent\(up\{job="netrank"\}\)/)
})

t.test('every alert has a promtool test where it fires and one where it does not', async (t) => {
  const tests = parse(readFileSync(TEST_FILE, 'utf8')) as { rule_files: string[], tests: Array<{ alert_rule_test?: Array<{ alertname: string, exp_alerts: unknown[] }> }> }
  t.same(tests.rule_files, ['netrank-rules.yaml'])
  const cases = tests.tests.flatMap((x) => x.alert_rule_test ?? [])
  for (const a of alerts) {
    const mine = cases.filter((c) => c.alertname === a.alert)
    t.ok(mine.some((c) => c.exp_alerts.length > 0), `${a.alert} fires in a test`)
    t.ok(mine.some((c) => c.exp_alerts.length === 0), `${a.alert} stays quiet in a test`)
  }
  for (const c of cases) t.ok(alerts.some((a) => a.alert === c.alertname), `test case alert ${c.alertname} exists`)
})

t.test('the stale-KPI thresholds are the agent\'s default staleAfterMs per KPI', async (t) => {
  const stale = defaultStaleAfterMs()
  const expr = alerts.find((a) => a.alert === 'NetrankKpiStale')?.expr ?? ''
  const covered = new Set<string>()
  for (const m of expr.matchAll(/kpi=~"([^"]+)"\}\)\s*>\s*(\d+)/g)) {
    const seconds = Number(m[2])
    for (const kpi of (m[1] ?? '').split('|')) {
      covered.add(kpi)
      t.equal(seconds * 1000, stale[kpi as keyof typeof stale], `${kpi}: ${seconds} s`)
    }
  }
  // costPerGiB is set by hand (static), never measured: it has no staleness to alert on
  const measured = Object.keys(stale).filter((k) => k !== 'costPerGiB').sort()
  t.same([...covered].sort(), measured, 'every measured KPI is covered once')
})

t.test('the rules use only docs/contract.md#metrics metrics, with their own labels', async (t) => {
  for (const a of alerts) {
    for (const name of netrankNamesIn(a.expr)) t.ok(familyOf(name), `${a.alert}: ${name} is a docs/contract.md#metrics metric`)
    for (const s of selectorsIn(a.expr)) {
      const allowed = allowedLabels(s.series)
      for (const l of s.labels) t.ok(allowed.has(l), `${a.alert}: ${s.series} has label ${l}`)
    }
    for (const m of a.expr.matchAll(/by \(([^)]*)\)/g)) {
      for (const l of (m[1] ?? '').split(',').map((x) => x.trim())) t.ok(['node', 'plugin', 'kpi'].includes(l), `${a.alert}: groups by ${l}, a label the agent sets`)
    }
  }
})
