// The shim's failure lines (contract/shim-failure.ts): the line format and its parser (bad
// lines counted and skipped), the shim's bounded 0600 writer, and the agent's incremental
// reader (collectors/shim-failures-source.ts) across torn lines, rotation, truncation and a
// restart; then the agent's metrics built on it and on the conf dir: netrank_shim_add_failures_total,
// netrank_shim_conf_active, netrank_build_info, netrank_plugin_eligible and the selections' profile label.
import t from 'tap'
import { appendFileSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import {
  appendFailure, FAILURE_FORMAT, failureFilePath, formatFailureLine, parseFailureChunk, parseFailureLine,
} from '../../contract/shim-failure.js'
import type { ShimFailure } from '../../contract/shim-failure.js'
import { errors } from '../../contract/cni-errors.js'
import { ShimFailuresSource } from '../../collectors/shim-failures-source.js'
import { confActive } from '../../collectors/conf-active.js'
import { createAgent } from '../../agent/agent.js'
import { parseConfig } from '../../agent/config/load-config.js'
import { buildServer } from '../../agent/http/server.js'
import { packageVersion } from '../../agent/package-version.js'
import { buildLabels } from '../../agent/metrics.js'
import { tempDir } from '../support/netns.js'

const NOW = Date.parse('2026-05-01T10:00:00Z')
const failure = (over: Partial<Omit<ShimFailure, 'format'>> = {}): Omit<ShimFailure, 'format'> => ({
  time: new Date(NOW).toISOString(), command: 'ADD', code: 105, error: 'NR_CNI_DELEGATE_FAILED', containerId: 'c1', namespace: 'default', pod: 'p1', ...over,
})

t.test('a failure line round-trips; lines that are not ours do not parse', async (t) => {
  const line = formatFailureLine(failure())
  t.ok(line.endsWith('\n'), 'one line, newline included')
  t.equal(line.indexOf('\n'), line.length - 1)
  t.same(parseFailureLine(line.trimEnd()), { format: FAILURE_FORMAT, ...failure() })
  t.same(parseFailureLine(formatFailureLine(failure({ namespace: '', pod: undefined })).trimEnd()),
    { format: FAILURE_FORMAT, time: failure().time, command: 'ADD', code: 105, error: 'NR_CNI_DELEGATE_FAILED', containerId: 'c1' }, 'no pod fields when CNI_ARGS named none')
  const good = JSON.parse(line) as Record<string, unknown>
  const bad: unknown[] = [
    'not json', '[]', 'null', '{}',
    { ...good, format: 'netrank.io/shim-failure/v0' },
    { ...good, command: 'DEL' },
    { ...good, time: 'yesterday' },
    { ...good, code: '105' }, { ...good, code: 1.5 }, { ...good, code: -1 }, { ...good, code: 1000 },
    { ...good, error: 'delegate failed' }, { ...good, error: 'NR_CNI_' + 'X'.repeat(100) },
    { ...good, containerId: 7 }, { ...good, pod: 7 }, { ...good, namespace: {} },
    { ...good, pod: 'x'.repeat(3000) },
  ]
  for (const b of bad) t.equal(parseFailureLine(typeof b === 'string' ? b : JSON.stringify(b)), undefined, `refused: ${typeof b === 'string' ? b : JSON.stringify(b).slice(0, 80)}`)
  t.ok(formatFailureLine(failure({ containerId: 'c'.repeat(5000) })).length < 1000, 'over-long ids are cut')
})

t.test('a chunk: complete lines only, bad ones counted and skipped, blank lines ignored', async (t) => {
  const l1 = formatFailureLine(failure({ containerId: 'a' }))
  const l2 = formatFailureLine(failure({ containerId: 'b', code: 7, error: 'NR_CNI_BAD_CONF' }))
  const r = parseFailureChunk(l1 + 'garbage\n\n{"format":"x"}\n' + l2 + l1.slice(0, 20))
  t.same(r.failures.map((f) => [f.containerId, f.code]), [['a', 105], ['b', 7]])
  t.equal(r.bad, 2, 'the garbage line and the foreign JSON line')
  t.same(parseFailureChunk(l1.slice(0, 30)), { failures: [], bad: 0 }, 'a line without its newline waits')
})

t.test('the shim\'s writer: 0600, creates the stateDir, rotates at its size, never throws', async (t) => {
  const dir = tempDir(t, 'nr-failures')
  const stateDir = join(dir, 'state')
  t.ok(appendFailure(stateDir, failure()), 'written')
  const file = failureFilePath(stateDir)
  t.equal(statSync(file).mode & 0o777, 0o600)
  const size = statSync(file).size
  t.ok(appendFailure(stateDir, failure({ containerId: 'c2' }), size * 2))
  t.ok(appendFailure(stateDir, failure({ containerId: 'c3' }), size * 2), 'the third line finds the file full: rotated first')
  t.same(readFileSync(`${file}.1`, 'utf8').trimEnd().split('\n').map((l) => parseFailureLine(l)?.containerId), ['c1', 'c2'])
  t.same(readFileSync(file, 'utf8').trimEnd().split('\n').map((l) => parseFailureLine(l)?.containerId), ['c3'])
  // a stateDir that is a file: not written, no throw
  writeFileSync(join(dir, 'plain'), 'x')
  t.equal(appendFailure(join(dir, 'plain'), failure()), false)
})

t.test('the agent\'s reader: new complete lines once each, across torn lines, rotation, truncation and restarts', async (t) => {
  const stateDir = tempDir(t, 'nr-failures-read')
  const file = failureFilePath(stateDir)
  const src = new ShimFailuresSource({ stateDir, now: () => NOW })
  t.same(src.read(), { failures: [], bad: 0 }, 'no file yet: nothing')
  appendFailure(stateDir, failure({ containerId: 'c1' }))
  appendFailure(stateDir, failure({ containerId: 'c2' }))
  t.same(src.read().failures.map((f) => f.containerId), ['c1', 'c2'])
  t.same(src.read().failures, [], 'read once')

  // a line being written: taken when its newline arrives
  const l3 = formatFailureLine(failure({ containerId: 'c3' }))
  appendFileSync(file, l3.slice(0, 25))
  t.same(src.read().failures, [])
  appendFileSync(file, l3.slice(25) + 'torn{"form\n')
  const r = src.read()
  t.same(r.failures.map((f) => f.containerId), ['c3'])
  t.equal(r.bad, 1, 'a bad line is counted and skipped')

  // rotated between two reads: the rest of the old file (now .1), then the new one
  appendFailure(stateDir, failure({ containerId: 'c4' }))
  renameSync(file, `${file}.1`)
  appendFailure(stateDir, failure({ containerId: 'c5' }))
  t.same(src.read().failures.map((f) => f.containerId), ['c4', 'c5'])
  t.same(src.read().failures, [])

  // truncated in place (by hand): read again from the start
  writeFileSync(file, '')
  t.same(src.read().failures, [])
  appendFailure(stateDir, failure({ containerId: 'c6' }))
  t.same(src.read().failures.map((f) => f.containerId), ['c6'])

  // a restarted agent: lines older than the lookback were counted by the agent that ran then
  appendFailure(stateDir, failure({ containerId: 'old', time: new Date(NOW - 3_600_000).toISOString() }))
  appendFailure(stateDir, failure({ containerId: 'recent', time: new Date(NOW - 60_000).toISOString() }))
  const restarted = new ShimFailuresSource({ stateDir, now: () => NOW, lookbackMs: 600_000 })
  t.same(restarted.read().failures.map((f) => f.containerId), ['c6', 'recent'])

  // garbage without any newline, larger than a read: skipped, not stalled on
  const big = tempDir(t, 'nr-failures-big')
  mkdirSync(big, { recursive: true })
  writeFileSync(failureFilePath(big), 'x'.repeat(5000))
  const small = new ShimFailuresSource({ stateDir: big, now: () => NOW, maxReadBytes: 1024 })
  t.equal(small.read().bad, 1)
  appendFileSync(failureFilePath(big), '\n' + formatFailureLine(failure({ containerId: 'after' })))
  const after: string[] = []
  for (let i = 0; i < 6; i++) after.push(...small.read().failures.map((f) => f.containerId))
  t.same(after, ['after'], 'the next good line is read')
})

t.test('conf active: the first .conf/.conflist/.json in byte order, netrank-cni as its (first) plugin', async (t) => {
  const dir = tempDir(t, 'nr-confdir')
  const netrank = JSON.stringify({ cniVersion: '1.0.0', name: 'netrank', plugins: [{ type: 'netrank-cni' }] })
  t.match(confActive(join(dir, 'missing')), { active: false, first: '' })
  t.match(confActive(dir), { active: false, first: '', why: /no \.conf/ })
  writeFileSync(join(dir, '00-netrank.conflist'), netrank)
  writeFileSync(join(dir, '10-bridge.conf'), JSON.stringify({ cniVersion: '1.0.0', name: 'b', type: 'bridge' }))
  writeFileSync(join(dir, '000-notes.txt'), 'not a conf')
  t.same(confActive(dir), { active: true, first: '00-netrank.conflist' })
  writeFileSync(join(dir, '00-calico.conflist'), JSON.stringify({ cniVersion: '1.0.0', name: 'k8s-pod-network', plugins: [{ type: 'calico' }] }))
  t.match(confActive(dir), { active: false, first: '00-calico.conflist', why: /type calico/ })
  // byte order: upper case sorts before lower case (Go's sort.Strings), not locale order
  writeFileSync(join(dir, '00-Z.json'), '{not json')
  t.match(confActive(dir), { active: false, first: '00-Z.json', why: /not a readable CNI conf/ })
  const single = tempDir(t, 'nr-confdir-single')
  writeFileSync(join(single, '99-netrank.conf'), JSON.stringify({ cniVersion: '1.0.0', name: 'netrank', type: 'netrank-cni' }))
  t.same(confActive(single), { active: true, first: '99-netrank.conf' }, 'a single-plugin .conf')
})

const value = (text: string, series: string): number | undefined => {
  const esc = series.replace(/[{}"=,.+()]/g, (c) => `\\${c}`)
  const m = new RegExp(`^${esc} (\\S+)$`, 'm').exec(text)
  return m === null ? undefined : Number(m[1])
}

t.test('the agent: failures by code and error, the conf gauge, build info, eligibility, the profile label', async (t) => {
  const dir = tempDir(t, 'nr-agent-metrics')
  const stateDir = join(dir, 'state')
  const confDir = join(dir, 'net.d')
  mkdirSync(confDir, { recursive: true })
  writeFileSync(join(confDir, '00-netrank.conflist'), JSON.stringify({ cniVersion: '1.0.0', name: 'netrank', plugins: [{ type: 'netrank-cni' }] }))
  const config = parseConfig({
    node: 'n1',
    plugins: [{ name: 'net-a' }, { name: 'net-b' }],
    collectors: { static: { kpis: [{ plugin: 'net-a', kpi: 'latencySeconds', value: 0.001 }, { plugin: 'net-a', kpi: 'ipFree', value: 10 }, { plugin: 'net-b', kpi: 'ipFree', value: 0 }] } },
    selector: { profiles: { gold: { latencySeconds: 1 } } },
    cni: { stateDir, confDir },
    audit: { dir: join(dir, 'audit') },
  })
  const agent = await createAgent(config, { now: () => NOW })
  await agent.runCollectorsOnce()
  const app = await buildServer({ agent })
  t.teardown(async () => { await app.close(); await agent.close() })
  const scrape = async (): Promise<string> => (await app.inject('/metrics')).body

  let body = await scrape()
  for (const e of Object.values(errors)) {
    t.equal(value(body, `netrank_shim_add_failures_total{node="n1",code="${e.cniCode}",error="${e.code}"}`), 0, `${e.code} shows at 0 from the start`)
  }
  t.equal(value(body, 'netrank_shim_conf_active{node="n1",first="00-netrank.conflist"}'), 1)
  t.equal(value(body, `netrank_build_info{version="${packageVersion()}",revision="unknown",node_version="${process.version}"}`), 1)
  t.not(packageVersion(), 'unknown', 'the package version is found from the sources')
  t.same(buildLabels('1.2.3', { NETRANK_REVISION: 'abc123' }), { version: '1.2.3', revision: 'abc123', node_version: process.version }, 'the revision from NETRANK_REVISION')
  t.equal(buildLabels('1.2.3', { NETRANK_REVISION: '' }).revision, 'unknown')
  t.match(body, /^netrank_process_cpu_seconds_total \d/m, 'process metrics, netrank_-prefixed')
  t.match(body, /^# TYPE netrank_nodejs_eventloop_lag_seconds gauge$/m)
  t.notMatch(body, /netrank_nodejs_active_handles_total/, 'prom-client\'s gauges named _total are left out')
  t.equal(value(body, 'netrank_plugin_eligible{node="n1",plugin="net-a"}'), 1)
  t.equal(value(body, 'netrank_plugin_eligible{node="n1",plugin="net-b"}'), 0, 'a pool with no free address is not eligible')

  appendFailure(stateDir, failure({ containerId: 'c1' }))
  appendFailure(stateDir, failure({ containerId: 'c2' }))
  appendFailure(stateDir, failure({ containerId: 'c3', code: 11, error: 'NR_CNI_API_UNAVAILABLE' }))
  appendFailure(stateDir, failure({ containerId: 'c4', code: 120, error: 'NR_CNI_FROM_A_NEWER_SHIM' }))
  appendFileSync(failureFilePath(stateDir), 'garbage\n')
  body = await scrape()
  t.equal(value(body, 'netrank_shim_add_failures_total{node="n1",code="105",error="NR_CNI_DELEGATE_FAILED"}'), 2)
  t.equal(value(body, 'netrank_shim_add_failures_total{node="n1",code="11",error="NR_CNI_API_UNAVAILABLE"}'), 1)
  t.equal(value(body, 'netrank_shim_add_failures_total{node="n1",code="120",error="other"}'), 1, 'names outside the registry are bounded to "other"')
  t.equal(value(body, 'netrank_shim_failure_lines_skipped_total{node="n1"}'), 1)
  body = await scrape()
  t.equal(value(body, 'netrank_shim_add_failures_total{node="n1",code="105",error="NR_CNI_DELEGATE_FAILED"}'), 2, 'each line counted once')

  writeFileSync(join(confDir, '00-calico.conflist'), JSON.stringify({ cniVersion: '1.0.0', name: 'k8s-pod-network', plugins: [{ type: 'calico' }] }))
  body = await scrape()
  t.equal(value(body, 'netrank_shim_conf_active{node="n1",first="00-calico.conflist"}'), 0)
  t.equal(value(body, 'netrank_shim_conf_active{node="n1",first="00-netrank.conflist"}'), undefined, 'one series: the old first file is gone')

  await app.inject({ method: 'POST', url: '/v1/select', payload: { namespace: 'ns', pod: 'p', containerId: 'c', profile: 'gold' } })
  body = await scrape()
  t.equal(value(body, 'netrank_selections_total{node="n1",plugin="net-a",reason="smart",profile="gold"}'), 1)
  t.equal(agent.metrics.profileLabel('gold'), 'gold')
  t.equal(agent.metrics.profileLabel('removed-since'), 'other', 'a profile the config no longer has (audit read-back)')
  t.equal(agent.metrics.profileLabel(undefined), 'none')
})
