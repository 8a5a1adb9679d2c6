import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { hostname, tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import type { Test } from 'tap'
import { ConfigError, loadConfig, parseConfig, profileNames, profileOf } from '../../agent/config/load-config.js'
import { CONFIG_SCHEMA } from '../../agent/config/schema.js'
import { exampleConfigPath } from '../../cli/package-root.js'

const minimal = { plugins: [{ name: 'bridge-a' }] }

function problemsOf (t: Test, raw: unknown): string[] {
  try {
    parseConfig(raw)
  } catch (err) {
    t.type(err, ConfigError)
    return (err as ConfigError).problems
  }
  t.fail('expected a ConfigError')
  return []
}

// Every leaf default the schema declares, by JSON pointer.
function schemaDefaults (schema: unknown, at = ''): Map<string, unknown> {
  const out = new Map<string, unknown>()
  const s = schema as { properties?: Record<string, unknown>, default?: unknown, type?: string }
  if (s.type === 'object' && s.properties !== undefined) {
    for (const [k, sub] of Object.entries(s.properties)) for (const [p, v] of schemaDefaults(sub, `${at}/${k}`)) out.set(p, v)
  } else if (s.default !== undefined) {
    out.set(at, s.default)
  }
  return out
}
const pointer = (obj: unknown, p: string): unknown => p.split('/').slice(1).reduce<unknown>((o, k) => (o as Record<string, unknown> | undefined)?.[k], obj)

t.test('a minimal config gets every default the schema declares, and nothing else', async t => {
  const c = parseConfig(minimal, { baseDir: '/etc/netrank' })
  const defaults = schemaDefaults(CONFIG_SCHEMA)
  t.ok(defaults.size > 50, `the schema declares ${defaults.size} defaults`)
  for (const [p, v] of defaults) t.same(pointer(c, p), v, `${p} = ${JSON.stringify(v)}`)
  t.equal(c.node, hostname(), 'node defaults to the hostname')
  // a few by value, so a changed default shows up here as well as in the schema
  t.same(c.listen, { host: '127.0.0.1', port: 9797, socket: '/run/netrank/agent.sock' })
  t.same(c.plugins, [{ name: 'bridge-a' }])
  t.equal(c.selector.maxOccupancy, 0.95)
  t.equal(c.selector.defaultProfile, 'balanced')
  t.equal(c.selector.maxSamplesPerSeries, 600)
  t.same(c.selector.staleAfterMs, { rxBps: 60_000, txBps: 60_000, usageBps: 60_000, capacityBps: 900_000, capacityRxBps: 900_000, capacityTxBps: 900_000, headroomBps: 900_000, latencySeconds: 900_000, latencyP99Seconds: 900_000, loadedLatencySeconds: 900_000, responseTimeSeconds: 900_000, probeFailureRatio: 900_000, ipUsed: 120_000, ipCapacity: 120_000, ipOccupancy: 120_000, ipSubnets: 120_000, ipFree: 120_000, costPerGiB: 86_400_000 })
  t.same(c.collectors.static.kpis, [])
  t.equal(c.collectors.cadvisor.enabled, false, 'a disabled collector carries its defaults')
  t.same(c.collectors.ipam, { enabled: false, intervalMs: 15_000, whereabouts: false })
  t.same(c.cni, { confDir: '/etc/cni/net.d', stateDir: '/var/lib/netrank', hostLocalDataDir: '/var/lib/cni/networks' })
  t.same(c.kubernetes, { inCluster: false })
  t.same(c.auth, {})
  t.same(minimal, { plugins: [{ name: 'bridge-a' }] }, 'the caller\'s object is not filled in')
})

t.test('a full config is kept as given, relative paths resolved against the config file folder', async t => {
  const c = parseConfig({
    node: 'n1',
    listen: { host: '0.0.0.0', port: 0 },
    plugins: [{ name: 'a', costPerGiB: 0.1 }, { name: 'b' }],
    collectors: {
      static: { intervalMs: 500, kpis: [{ plugin: 'a', kpi: 'capacityBps', value: 1e9 }] },
      probes: { enabled: true, podLabel: 'probe', iperf3: { durationSeconds: 3 }, budget: { maxBytes: 5 } },
      cadvisor: { enabled: true, source: 'kubelet-summary', url: 'https://10.0.0.1:10250/', tokenFile: 'sa/token' },
    },
    cni: { stateDir: 'state' },
    selector: { profiles: { gold: { latencySeconds: 1 } }, tieBand: 0.1, staleAfterMs: { rxBps: 5000 }, defaultProfile: 'gold' },
    audit: { dir: 'audit', maxFileBytes: 8192, maxFiles: 2 },
    kubernetes: { kubeconfig: 'kube/config' },
    auth: { selectToken: 'x'.repeat(32) },
  }, { baseDir: '/etc/netrank' })
  t.equal(c.audit.dir, '/etc/netrank/audit')
  t.equal(c.kubernetes.kubeconfig, '/etc/netrank/kube/config')
  const d = parseConfig(minimal).collectors.probes
  t.same(c.collectors.probes, {
    ...d, enabled: true, podLabel: 'probe',
    iperf3: { ...d.iperf3, durationSeconds: 3 }, budget: { ...d.budget, maxBytes: 5 },
  }, 'nested sections merge over their defaults field by field')
  t.match(c.collectors.cadvisor, { source: 'kubelet-summary', url: 'https://10.0.0.1:10250', tokenFile: '/etc/netrank/sa/token' }, 'trailing slash dropped, token path resolved')
  t.equal(c.cni.stateDir, '/etc/netrank/state')
  t.same(c.selector.staleAfterMs, { ...parseConfig(minimal).selector.staleAfterMs, rxBps: 5000 }, 'a partial staleness map keeps the other KPIs\' defaults')
  t.equal(c.selector.defaultProfile, 'gold')
  t.same(profileNames(c), ['balanced', 'throughput', 'latency', 'ip-conservative', 'cost', 'gold'])
  t.same(profileOf(c, 'gold')?.weights, { latency: 1 }, 'a KPI-keyed weight map is read as criteria (latencySeconds → latency)')
  t.ok(profileOf(c, 'balanced'), 'built-ins resolve too')
  t.equal(profileOf(c, 'nope'), undefined)
  t.equal(c.auth.selectToken, 'x'.repeat(32))
})

t.test('NETRANK_SELECT_TOKEN sets the token when the file does not', async t => {
  t.equal(parseConfig(minimal, { env: { NETRANK_SELECT_TOKEN: 'env-token-0123456789' } }).auth.selectToken, 'env-token-0123456789')
  const both = parseConfig({ ...minimal, auth: { selectToken: 'file-token-0123456789' } }, { env: { NETRANK_SELECT_TOKEN: 'env-token-0123456789' } })
  t.equal(both.auth.selectToken, 'file-token-0123456789', 'the file wins')
})

t.test('each bad config names the path and what is expected', async t => {
  const cases: Array<[string, unknown, RegExp]> = [
    ['no plugins', {}, /^\/plugins: is required$/],
    ['empty plugins', { plugins: [] }, /^\/plugins: must have at least 1 item/],
    ['tieBand above 1', { ...minimal, selector: { tieBand: 2 } }, /^\/selector\/tieBand: must be ≤ 1$/],
    ['maxOccupancy 0', { ...minimal, selector: { maxOccupancy: 0 } }, /^\/selector\/maxOccupancy: must be > 0$/],
    ['port a string', { ...minimal, listen: { port: '80' } }, /^\/listen\/port: must be an integer$/],
    ['port too big', { ...minimal, listen: { port: 70000 } }, /^\/listen\/port: must be ≤ 65535$/],
    ['unknown top-level key', { ...minimal, selecter: {} }, /^\/: unknown property 'selecter'$/],
    ['duplicate plugin', { plugins: [{ name: 'a' }, { name: 'a' }] }, /^\/plugins\/1\/name: 'a' is listed twice/],
    ['bad plugin name', { plugins: [{ name: 'a b' }] }, /^\/plugins\/0\/name: must match/],
    ['negative cost', { plugins: [{ name: 'a', costPerGiB: -1 }] }, /^\/plugins\/0\/costPerGiB: must be ≥ 0$/],
    ['static KPI for an unknown plugin', { ...minimal, collectors: { static: { kpis: [{ plugin: 'x', kpi: 'rxBps', value: 1 }] } } },
      /^\/collectors\/static\/kpis\/0\/plugin: 'x' is not in plugins \(known: bridge-a\)$/],
    ['static KPI with an unknown KPI', { ...minimal, collectors: { static: { kpis: [{ plugin: 'bridge-a', kpi: 'speed', value: 1 }] } } },
      /^\/collectors\/static\/kpis\/0\/kpi: must be one of rxBps, txBps, .*costPerGiB, probeFailureRatio$/],
    ['static KPI negative', { ...minimal, collectors: { static: { kpis: [{ plugin: 'bridge-a', kpi: 'rxBps', value: -5 }] } } },
      /^\/collectors\/static\/kpis\/0\/value: must be ≥ 0$/],
    ['static KPI without value', { ...minimal, collectors: { static: { kpis: [{ plugin: 'bridge-a', kpi: 'rxBps' }] } } },
      /^\/collectors\/static\/kpis\/0\/value: is required$/],
    ['cadvisor enabled not a boolean', { ...minimal, collectors: { cadvisor: { enabled: 'yes' } } }, /^\/collectors\/cadvisor\/enabled: must be a boolean$/],
    ['profile shadowing a built-in', { ...minimal, selector: { profiles: { balanced: { rxBps: 1 } } } },
      /^\/selector\/profiles\/balanced: 'balanced' is a built-in profile; give yours another name/],
    ['negative weight', { ...minimal, selector: { profiles: { mine: { rxBps: -1 } } } }, /^\/selector\/profiles\/mine\/rxBps: must be ≥ 0$/],
    ['weights summing to 0', { ...minimal, selector: { profiles: { mine: { rxBps: 0 } } } }, /^\/selector\/profiles\/mine: weights must have a positive sum/],
    ['weight for an unknown KPI', { ...minimal, selector: { profiles: { mine: { speed: 1 } } } }, /^\/selector\/profiles\/mine: unknown property 'speed'$/],
    ['unknown criterion in a profile', { ...minimal, selector: { profiles: { mine: { weights: { speed: 1 } } } } }, /^\/selector\/profiles\/mine\/weights: unknown property 'speed'$/],
    ['criterion weights summing to 0', { ...minimal, selector: { profiles: { mine: { weights: { latency: 0 } } } } }, /^\/selector\/profiles\/mine: weights must have a positive sum/],
    ['a zero latency target', { ...minimal, selector: { targets: { latencySeconds: 0 } } }, /^\/selector\/targets\/latencySeconds: must be > 0$/],
    ['a profile target of the wrong kind', { ...minimal, selector: { profiles: { mine: { weights: { latency: 1 }, targets: { latencyMs: 1 } } } } }, /^\/selector\/profiles\/mine\/targets: unknown property 'latencyMs'$/],
    ['expectedBandwidth that is no rate', { ...minimal, selector: { expectedBandwidth: 'fast' } }, /^\/selector\/expectedBandwidth: .*fast/],
    ['a profile expectedBandwidth that is negative', { ...minimal, selector: { profiles: { mine: { weights: { latency: 1 }, expectedBandwidth: '-5M' } } } }, /^\/selector\/profiles\/mine\/expectedBandwidth: .*-5M/],
    ['hysteresis over 0 snapshots', { ...minimal, selector: { hysteresisSnapshots: 0 } }, /^\/selector\/hysteresisSnapshots: must be ≥ 1$/],
    ['a failure-ratio prior above 1', { ...minimal, selector: { priors: { probeFailureRatio: 1.5 } } }, /^\/selector\/priors\/probeFailureRatio: must be ≤ 1$/],
    ['exploreEvery negative', { ...minimal, selector: { exploreEvery: -1 } }, /^\/selector\/exploreEvery: must be ≥ 0$/],
    ['unknown default profile', { ...minimal, selector: { defaultProfile: 'fast' } }, /^\/selector\/defaultProfile: 'fast' is not a profile \(known: balanced, /],
    ['staleAfterMs negative', { ...minimal, selector: { staleAfterMs: -1 } }, /^\/selector\/staleAfterMs: must be an integer number of ms ≥ 1, or a map/],
    ['staleAfterMs unknown KPI', { ...minimal, selector: { staleAfterMs: { speed: 10 } } }, /^\/selector\/staleAfterMs: unknown property 'speed'$/],
    ['both kubeconfig and inCluster', { ...minimal, kubernetes: { kubeconfig: '/k', inCluster: true } }, /^\/kubernetes: set either kubeconfig or inCluster/],
    ['short token', { ...minimal, auth: { selectToken: 'abc' } }, /^\/auth\/selectToken: must be at least 16 characters$/],
    ['audit maxFiles 0', { ...minimal, audit: { maxFiles: 0 } }, /^\/audit\/maxFiles: must be ≥ 1$/],
    ['not an object', [1, 2], /^\/: must be an object/],
    ['unknown cadvisor source', { ...minimal, collectors: { cadvisor: { source: 'prometheus' } } }, /^\/collectors\/cadvisor\/source: must be one of kubelet-metrics, node-proxy-metrics, kubelet-summary, cadvisor-v1, cadvisor-v2, cri$/],
    ['cadvisor url without scheme', { ...minimal, collectors: { cadvisor: { url: '127.0.0.1:10250' } } }, /^\/collectors\/cadvisor\/url: /],
    ['unknown field in a collector', { ...minimal, collectors: { ipam: { enabled: true, every: 5 } } }, /^\/collectors\/ipam: unknown property 'every'$/],
    ['probes without kubernetes', { ...minimal, collectors: { probes: { enabled: true } } }, /^\/collectors\/probes: probe pods are found through the Kubernetes API; set kubernetes\.kubeconfig/],
    ['iperf3 killed before its run ends', { ...minimal, kubernetes: { inCluster: true }, collectors: { probes: { enabled: true, iperf3: { durationSeconds: 10, omitSeconds: 2, timeoutMs: 5000 } } } },
      /^\/collectors\/probes\/iperf3\/timeoutMs: 5000 ms kills iperf3 before its 12 s run \(omitSeconds \+ durationSeconds\) ends; make it at least 14000$/],
    ['iperf3 interval shorter than its timeout', { ...minimal, kubernetes: { inCluster: true }, collectors: { probes: { enabled: true, iperf3: { intervalMs: 10_000 } } } }, /^\/collectors\/probes\/iperf3\/intervalMs: 10000 ms is shorter than timeoutMs \(15000 ms\)/],
    ['jitter above 1', { ...minimal, collectors: { probes: { iperf3: { jitterRatio: 1.5 } } } }, /^\/collectors\/probes\/iperf3\/jitterRatio: must be ≤ 1$/],
    ['rate window shorter than the scrape period', { ...minimal, collectors: { cadvisor: { enabled: true, intervalMs: 30_000, windowMs: 10_000 } } }, /^\/collectors\/cadvisor\/windowMs: 10000 ms is shorter than intervalMs \(30000 ms\)/],
    ['cAdvisor source without its URL', { ...minimal, collectors: { cadvisor: { enabled: true, source: 'cadvisor-v2' } } }, /^\/collectors\/cadvisor\/url: cadvisor-v2 needs the cAdvisor's URL/],
    ['whereabouts without kubernetes', { ...minimal, collectors: { ipam: { enabled: true, whereabouts: true } } }, /^\/collectors\/ipam\/whereabouts: IPPools are read through the Kubernetes API/],
    ['empty cni stateDir', { ...minimal, cni: { stateDir: '' } }, /^\/cni\/stateDir: must not be empty$/],
    ['a disabled collector is not checked across fields', { ...minimal, collectors: { probes: { enabled: false, iperf3: { timeoutMs: 1000 } } } }, /^$/],
  ]
  for (const [name, raw, want] of cases) {
    if (want.source === '^$') {
      t.doesNotThrow(() => parseConfig(raw), name)
      continue
    }
    const problems = problemsOf(t, raw)
    t.equal(problems.length, 1, `${name}: exactly one problem (${problems.join(' | ')})`)
    t.match(problems[0] ?? '', want, name)
  }
})

t.test('every problem of a config is listed at once, not only the first', async t => {
  const problems = problemsOf(t, {
    plugins: [{ name: 'a' }, { name: 'a' }],
    listen: { port: -1 },
    selector: { tieBand: 3, profiles: { cost: { rxBps: 1 } } },
    audit: { dir: '' },
  })
  t.same(problems.sort(), [
    "/audit/dir: must not be empty",
    "/listen/port: must be ≥ 0",
    "/plugins/1/name: 'a' is listed twice; plugin names must be unique",
    "/selector/profiles/cost: 'cost' is a built-in profile; give yours another name (built-ins: balanced, throughput, latency, ip-conservative, cost)",
    '/selector/tieBand: must be ≤ 1',
  ])
  t.throws(() => parseConfig({ plugins: [], listen: { port: 'x' } }, { source: 'my.yaml' }), {
    message: /^invalid config my\.yaml: 2 problem\(s\)\n(?=[^]*^ {2}- \/plugins: must have at least 1 item)(?=[^]*^ {2}- \/listen\/port: must be an integer$)/m,
  }, 'the message lists each problem on its own line')
})

t.test('config files load as YAML or JSON; unreadable or unparsable files are ConfigErrors', async t => {
  const dir = await mkdtemp(join(tmpdir(), 'nr-config-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  await writeFile(join(dir, 'a.yaml'), 'plugins:\n  - name: y1\naudit:\n  dir: ./audit\n')
  await writeFile(join(dir, 'a.json'), JSON.stringify({ plugins: [{ name: 'j1' }] }))
  await writeFile(join(dir, 'bad.yaml'), 'plugins: [\n')
  await writeFile(join(dir, 'bad.json'), '{"plugins": ')
  const y = await loadConfig(join(dir, 'a.yaml'), {})
  t.same(y.plugins, [{ name: 'y1' }])
  t.equal(y.audit.dir, join(dir, 'audit'), 'relative to the config file')
  t.same((await loadConfig(join(dir, 'a.json'), {})).plugins, [{ name: 'j1' }])
  await t.rejects(loadConfig(join(dir, 'bad.yaml'), {}), { name: 'ConfigError', message: /not valid YAML/ })
  await t.rejects(loadConfig(join(dir, 'bad.json'), {}), { name: 'ConfigError', message: /not valid JSON/ })
  await t.rejects(loadConfig(join(dir, 'missing.yaml'), {}), { name: 'ConfigError', message: /cannot read the file/ })
})

t.test('the example config is valid and describes three networks with static KPIs', async t => {
  const c = await loadConfig(exampleConfigPath(), {})
  t.same(c.plugins.map((p) => p.name), ['bridge-fast', 'bridge-capped', 'bridge-small'])
  t.ok(c.collectors.static.kpis.length >= 15)
  t.ok(profileNames(c).includes('bulk-transfer'), 'it shows an operator profile')
})
