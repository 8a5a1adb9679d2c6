// The cadvisor collector against real sources: the kubelet stand-in serving the real
// counters of network namespaces this file creates (pods attached by the real shim, whose
// attachment records attribute them), the real kubelet /stats/summary and cAdvisor v1.3
// payloads from a local HTTP server, and a kubelet that goes away.
import t from 'tap'
import { execFileSync } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { AttachmentRecordsSource } from '../../collectors/attachment-records-source.js'
import { createCadvisorCollector, sourceUrl } from '../../collectors/traffic/cadvisor-collector.js'
import type { KubeCache, PodObject } from '../../collectors/kube-watch.js'
import type { CollectorContext } from '../../collectors/types.js'
import { startKubeApiStandIn } from '../../lab/stand-ins/kube-api-stand-in.js'
import { startKubeletStandIn } from '../../lab/stand-ins/kubelet-stand-in.js'
import type { LabPodSandbox } from '../../lab/stand-ins/kubelet-stand-in.js'
import type { KpiSample } from '../../contract/kpis.js'
import { createAgent } from '../../agent/agent.js'
import { parseConfig } from '../../agent/config/load-config.js'
import { buildServer } from '../../agent/http/server.js'
import { Stage } from '../support/cni-harness.js'
import { createNetns, skipUnlessPlugins, skipUnlessRoot, tempDir, uniqueName } from '../support/netns.js'
import type { Netns, TestLike } from '../support/netns.js'
import { setTimeout as sleep } from 'node:timers/promises'

const SUMMARY = readFileSync(new URL('../fixtures/kubelet/kubelet-stats-summary_k8s-1.35_minikube.json', import.meta.url), 'utf8')
const V13 = readFileSync(new URL('../fixtures/cadvisor/cadvisor-api-v1.3-subcontainers_k8s-1.2-docker_dd-agent.json', import.meta.url), 'utf8')

interface Ctx extends CollectorContext { samples: KpiSample[], errors: string[], successes: number }
function ctx (now: () => number = Date.now): Ctx {
  const c: Ctx = {
    node: 'nr-node', now, samples: [], errors: [], successes: 0,
    emit: (s) => { c.samples.push(...s); return 0 },
    reportSuccess: () => { c.successes++ },
    reportError: (_n, err) => { c.errors.push(err instanceof Error ? err.message : String(err)) },
  }
  return c
}

async function serve (t: TestLike, routes: Record<string, string>): Promise<string> {
  const srv = createServer((req, res) => {
    const body = routes[req.url ?? '']
    if (body === undefined) { res.writeHead(404).end('not found'); return }
    res.writeHead(200, { 'content-type': 'application/json' }).end(body)
  })
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>((resolve) => srv.close(() => resolve())))
  return `http://127.0.0.1:${(srv.address() as AddressInfo).port}`
}

function cache (pods: PodObject[]): () => Promise<KubeCache<PodObject>> {
  const c: KubeCache<PodObject> = { list: () => pods, synced: true, lastError: undefined, start: async () => {}, stop: async () => {} }
  return async () => c
}

const base = { node: 'nr-node', intervalMs: 1000, windowMs: 60_000, timeoutMs: 5000, maxResponseBytes: 32 * 1024 * 1024 }

t.test('source URLs follow the kubelet, API-server proxy and cAdvisor paths', async t => {
  t.equal(sourceUrl('kubelet-metrics', 'https://10.0.0.1:10250/', 'n1'), 'https://10.0.0.1:10250/metrics/cadvisor')
  t.equal(sourceUrl('node-proxy-metrics', 'https://api:443', 'node a'), 'https://api:443/api/v1/nodes/node%20a/proxy/metrics/cadvisor')
  t.equal(sourceUrl('kubelet-summary', 'https://k:10250', 'n'), 'https://k:10250/stats/summary')
  t.equal(sourceUrl('cadvisor-v1', 'http://c:8080', 'n'), 'http://c:8080/api/v1.3/subcontainers')
  t.equal(sourceUrl('cadvisor-v2', 'http://c:8080', 'n'), 'http://c:8080/api/v2.0/stats?type=docker&recursive=true')
})

t.test('the real kubelet summary: network-status attributes coredns, hostNetwork pods are excluded, the rest is unattributed', async t => {
  const url = await serve(t, { '/stats/summary': SUMMARY })
  const hostNet = ['etcd-datagen-1-35', 'kube-apiserver-datagen-1-35', 'kube-controller-manager-datagen-1-35', 'kube-proxy-8k9zt', 'kube-scheduler-datagen-1-35', 'kindnet-zkpn8', 'storage-provisioner']
  const pods: PodObject[] = [
    ...hostNet.map((name) => ({ metadata: { namespace: 'kube-system', name }, spec: { nodeName: 'nr-node', hostNetwork: true } })),
    { metadata: { namespace: 'scraper', name: 'e2e-scraper-5f97dc94d8-vkcjl' }, spec: { nodeName: 'nr-node', hostNetwork: true } },
    {
      metadata: { namespace: 'kube-system', name: 'coredns-7d764666f9-qdcxt', annotations: { 'k8s.v1.cni.cncf.io/network-status': JSON.stringify([{ name: 'kindnet', interface: 'eth0', ips: ['10.244.0.2'] }]) } },
      spec: { nodeName: 'nr-node' },
    },
  ]
  const c = createCadvisorCollector({ ...base, source: 'kubelet-summary', url, plugins: ['kindnet', 'other'], nodePods: cache(pods) })
  const x = ctx()
  await c.collectOnce(x)
  t.same(x.errors, [])
  const r = c.lastReport
  if (r === undefined) return t.fail('no report')
  t.equal(r.hostNetworkPods, 8)
  t.equal(new Set(r.interfaces.map((i) => i.pod)).size, 9, 'the 9 pods with their own network')
  t.equal(r.interfaces.length, 90, '10 interfaces each')
  const eth0 = r.interfaces.find((i) => i.pod === 'coredns-7d764666f9-qdcxt' && i.interface === 'eth0')
  t.match(eth0, { rxBytes: 49637, txBytes: 21189, plugin: 'kindnet', attributedBy: 'network-status' })
  t.equal(r.interfaces.filter((i) => i.plugin !== undefined).length, 1, 'nothing else is guessed')
  t.equal(r.unattributed.interfaces, 89)
  t.same(x.samples.filter((s) => s.plugin === 'other').map((s) => [s.kpi, s.value]), [['rxBps', 0], ['txBps', 0]], 'a plugin without pods measures 0')
  t.notOk(x.samples.some((s) => s.plugin === 'kindnet'), 'the first scrape gives counters, not yet a rate')
})

t.test('the real cAdvisor v1.3 answer: the one sandbox pod, attributed by its network-status', async t => {
  const url = await serve(t, { '/api/v1.3/subcontainers': V13 })
  const pods: PodObject[] = [{ metadata: { namespace: 'default', name: 'dd-agent-1rxlh', annotations: { 'k8s.v1.cni.cncf.io/network-status': '[{"name":"default/flannel","interface":"eth0"}]' } } }]
  const c = createCadvisorCollector({ ...base, source: 'cadvisor-v1', url, plugins: ['flannel'], nodePods: cache(pods) })
  const x = ctx()
  await c.collectOnce(x)
  t.same(x.errors, [])
  t.same(c.lastReport?.interfaces.map((i) => [i.pod, i.interface, i.rxBytes, i.txBytes, i.plugin, i.attributedBy]),
    [['dd-agent-1rxlh', 'eth0', 1217092163, 86040599, 'flannel', 'network-status']])
})

t.test('a standalone cAdvisor\'s v2.0 stats (payload made by us): sandboxes resolved by pod UID from the node\'s pods', async t => {
  // no real /api/v2.0 capture exists (fixtures README); the shape follows cAdvisor's v2 types
  const uid = '36447428-81f8-45eb-b825-414de2e8012b'
  const stats = {
    '/': [{ timestamp: '2026-06-26T10:14:35Z', has_network: true, network: { interfaces: [{ name: 'eth0', rx_bytes: 900, tx_bytes: 900 }] } }],
    [`/kubepods/burstable/pod${uid}/aaaa`]: [{ timestamp: '2026-06-26T10:14:35Z', has_network: true, network: { interfaces: [{ name: 'eth0', rx_bytes: 150, tx_bytes: 20 }, { name: 'net1', rx_bytes: 7, tx_bytes: 8 }] } }],
  }
  const url = await serve(t, { '/api/v2.0/stats?type=docker&recursive=true': JSON.stringify(stats) })
  const pods: PodObject[] = [{
    metadata: { namespace: 'kube-system', name: 'coredns', uid, annotations: { 'k8s.v1.cni.cncf.io/network-status': '[{"name":"kindnet","interface":"eth0"},{"name":"default/macvlan-a","interface":"net1"}]' } },
  }]
  const c = createCadvisorCollector({ ...base, source: 'cadvisor-v2', url, plugins: ['kindnet', 'macvlan-a'], nodePods: cache(pods) })
  const x = ctx()
  await c.collectOnce(x)
  t.same(x.errors, [])
  t.same(c.lastReport?.interfaces.map((i) => [i.namespace, i.pod, i.interface, i.rxBytes, i.plugin]), [
    ['kube-system', 'coredns', 'eth0', 150, 'kindnet'],
    ['kube-system', 'coredns', 'net1', 7, 'macvlan-a'],
  ])
})

t.test('a kubelet that refuses or answers 500 is a counted error and nothing is emitted', async t => {
  const url = await serve(t, {})
  const c = createCadvisorCollector({ ...base, source: 'kubelet-metrics', url, plugins: ['a'] })
  const x = ctx()
  await c.collectOnce(x)
  t.equal(x.errors.length, 1)
  t.match(x.errors[0], /scrape of http:\/\/127\.0\.0\.1:\d+\/metrics\/cadvisor failed: HTTP 404/)
  t.same(x.samples, [])
  t.equal(x.successes, 0)
  const gone = createCadvisorCollector({ ...base, source: 'kubelet-metrics', url: 'http://127.0.0.1:1', plugins: ['a'], tokenFile: '/nonexistent/token' })
  const y = ctx()
  await gone.collectOnce(y)
  t.match(y.errors[0], /ENOENT.*\/nonexistent\/token/, 'an unreadable token file names the file')
})

t.test('https with the cluster CA and the token file: the API server\'s node proxy is reached; without the CA the certificate is refused', async t => {
  const k = await startKubeApiStandIn({ dir: tempDir(t, 'nr-kube-tls') })
  t.teardown(() => k.close())
  const dir = tempDir(t, 'nr-tls')
  const tokenFile = join(dir, 'token')
  writeFileSync(tokenFile, k.token)
  const withCa = createCadvisorCollector({ ...base, source: 'node-proxy-metrics', url: k.url, tokenFile, caFile: k.caPath, plugins: ['a'] })
  const x = ctx()
  await withCa.collectOnce(x)
  // the stand-in serves no node proxy: a 404 Status from it proves TLS and the token worked
  t.match(x.errors[0], /\/api\/v1\/nodes\/nr-node\/proxy\/metrics\/cadvisor failed: HTTP 404/)
  t.ok(k.requests.some((r) => r.path === '/api/v1/nodes/nr-node/proxy/metrics/cadvisor' && r.auth === 'token'), 'the request carried the bearer token')
  const noCa = createCadvisorCollector({ ...base, source: 'node-proxy-metrics', url: k.url, tokenFile, plugins: ['a'] })
  const y = ctx()
  await noCa.collectOnce(y)
  t.match(y.errors[0], /self[- ]signed|unable to verify|certificate/i)
  await withCa.stop()
  await noCa.stop()
})

t.test('started, the collector scrapes every intervalMs, one scrape at a time, until stopped', async t => {
  let requests = 0
  const srv = createServer((_req, res) => { requests++; res.writeHead(200).end(SUMMARY) })
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>((resolve) => srv.close(() => resolve())))
  const c = createCadvisorCollector({ ...base, intervalMs: 100, source: 'kubelet-summary', url: `http://127.0.0.1:${(srv.address() as AddressInfo).port}`, plugins: ['a'] })
  const x = ctx()
  c.start(x)
  c.start(x) // a second start is a no-op, not a second loop
  for (let i = 0; i < 100 && x.successes < 3; i++) await sleep(50)
  t.ok(x.successes >= 3, `three cycles ran (${x.successes})`)
  await c.stop()
  const after = requests
  await sleep(300)
  t.equal(requests, after, 'no scrape after stop')
  t.equal(requests, x.successes, 'every scrape was one cycle')
})

function netns (t: TestLike): Netns {
  const ns = createNetns('nrk')
  t.teardown(() => ns.remove())
  return ns
}

t.test('real pods', async t => {
  if (skipUnlessRoot(t) || skipUnlessPlugins(t)) return
  const s = new Stage(t)
  const a = s.addBridgeNetwork('nr-a')
  s.addBridgeNetwork('nr-b')
  const pods: LabPodSandbox[] = []
  const add = async (name: string, net: string): Promise<Netns> => {
    const ns = netns(t)
    const containerId = `nrctr${process.pid}${name}`
    const r = await s.run('ADD', {
      containerId, netns: ns.path, conf: { defaultPlugins: [net] },
      args: { K8S_POD_NAMESPACE: 'default', K8S_POD_NAME: name, K8S_POD_INFRA_CONTAINER_ID: containerId, K8S_POD_UID: `uid-${name}` },
    })
    t.equal(r.code, 0, `ADD ${name} ${r.stdout}${r.stderr}`)
    t.teardown(async () => { await s.run('DEL', { containerId, netns: ns.path, conf: { defaultPlugins: [net] }, args: { K8S_POD_NAMESPACE: 'default', K8S_POD_NAME: name } }) })
    pods.push({ namespace: 'default', pod: name, uid: `uid-${name}`, containerId, netnsPath: ns.path })
    return ns
  }
  const pa = await add('pa', 'nr-a')
  await add('pb', 'nr-b')
  // a pod with an interface no record knows: its traffic must stay unattributed
  const px = netns(t)
  // a veth whose host end stays unplugged (the kernel here has no dummy links); removed with the netns
  execFileSync('ip', ['link', 'add', uniqueName('nrv'), 'type', 'veth', 'peer', 'name', 'eth0', 'netns', px.name])
  execFileSync('ip', ['-n', px.name, 'link', 'set', 'eth0', 'up'])
  pods.push({ namespace: 'default', pod: 'px', uid: 'uid-px', containerId: 'nrctrpx', netnsPath: px.path })

  const token = 'nr-test-token-0123456789'
  const kubelet = await startKubeletStandIn({ pods: () => pods, token })
  t.teardown(async () => { await kubelet.close().catch(() => undefined) })
  const dir = tempDir(t, 'nr-cadvisor')
  const tokenFile = join(dir, 'token')
  writeFileSync(tokenFile, token + '\n')
  const gateway = a.subnet.replace(/\.0\/24$/, '.1')
  // 40 UDP datagrams of 1400 bytes from pa to its gateway (no ping on these machines): known TX bytes
  const UDP_BURST = `const s = require('node:dgram').createSocket('udp4'); let n = 0
const next = () => { if (n++ >= 40) { s.close(); return } s.send(Buffer.alloc(1400), 9, process.argv[1], next) }; next()`
  const ping = async (): Promise<void> => {
    const r = await pa.exec(process.execPath, ['-e', UDP_BURST, gateway])
    t.equal(r.code, 0, `UDP burst to ${gateway}: ${r.stderr}`)
  }

  t.test('two scrapes with traffic between: a positive rate for the plugin the shim\'s record names, none guessed', async t => {
    let clock = 1_000_000
    const records = new AttachmentRecordsSource({ stateDir: s.stateDir, now: () => clock })
    const c = createCadvisorCollector({ ...base, source: 'kubelet-metrics', url: kubelet.url, tokenFile, plugins: ['nr-a', 'nr-b'], records })
    const x = ctx(() => clock)
    await c.collectOnce(x)
    t.same(x.errors, [])
    const first = c.lastReport
    t.match(first?.interfaces.find((i) => i.pod === 'pa'), { interface: 'eth0', plugin: 'nr-a', attributedBy: 'attachment-record' })
    t.match(first?.interfaces.find((i) => i.pod === 'pb'), { interface: 'eth0', plugin: 'nr-b', attributedBy: 'attachment-record' })
    t.match(first?.interfaces.find((i) => i.pod === 'px'), { plugin: undefined, attributedBy: undefined })
    await ping()
    clock += 2_000
    await c.collectOnce(x)
    t.same(x.errors, [])
    const r = c.lastReport
    const before = first?.interfaces.find((i) => i.pod === 'pa')
    const after = r?.interfaces.find((i) => i.pod === 'pa')
    if (before === undefined || after === undefined || r === undefined) return t.fail('pa missing')
    t.ok(after.txBytes - before.txBytes >= 40 * 1400, `pa sent ≥ 40 × 1400 bytes (${after.txBytes - before.txBytes})`)
    const pluginA = r.plugins.find((p) => p.plugin === 'nr-a')
    // the kubelet stamps each sample: the rate is over the samples' own time
    const dtSeconds = (after.atMs - before.atMs) / 1000
    t.ok(dtSeconds > 0)
    const near = (x: number | undefined, want: number): boolean => x !== undefined && Math.abs(x - want) <= 1e-9 * Math.max(1, want)
    t.ok(near(pluginA?.txBps, (after.txBytes - before.txBytes) * 8 / dtSeconds), `bits/s between the samples (${pluginA?.txBps})`)
    t.ok(near(pluginA?.rxBps, (after.rxBytes - before.rxBytes) * 8 / dtSeconds))
    const pluginB = r.plugins.find((p) => p.plugin === 'nr-b')
    t.ok((pluginB?.txBps ?? Infinity) < (pluginA?.txBps ?? 0) / 10, 'the idle network carries far less')
    t.equal(r.unattributed.interfaces, 1, 'px stays unattributed')
    t.ok(x.samples.some((smp) => smp.plugin === 'nr-a' && smp.kpi === 'txBps' && smp.value > 0))
  })

  t.test('through the agent: /rank and /metrics show the rates; a kubelet that goes away keeps the last values and counts errors', async t => {
    const adir = tempDir(t, 'nr-cadvisor-agent')
    const config = parseConfig({
      node: 'nr-node',
      plugins: [{ name: 'nr-a' }, { name: 'nr-b' }],
      cni: { confDir: s.confDir, stateDir: s.stateDir, hostLocalDataDir: s.dataDir },
      collectors: { cadvisor: { enabled: true, source: 'kubelet-metrics', url: kubelet.url, tokenFile, intervalMs: 1000, windowMs: 60_000 } },
      audit: { dir: join(adir, 'audit') },
    }, { baseDir: adir })
    const agent = await createAgent(config)
    const app = await buildServer({ agent, logger: false })
    t.teardown(async () => { await app.close(); await agent.close() })
    await agent.runCollectorsOnce()
    await ping()
    await sleep(1100) // the store's rates need distinct ms timestamps
    await agent.runCollectorsOnce()
    const rank = (await app.inject({ method: 'GET', url: '/rank' })).json() as { plugins: Array<{ plugin: string, kpis: Record<string, { value: number } | undefined> }> }
    const a1 = rank.plugins.find((p) => p.plugin === 'nr-a')
    t.ok((a1?.kpis.txBps?.value ?? 0) > 0, `/rank explains nr-a with txBps ${a1?.kpis.txBps?.value}`)
    t.ok(a1?.kpis.rxBps !== undefined && a1.kpis.usageBps !== undefined, 'rxBps and the derived usageBps too')
    let metrics = (await app.inject({ method: 'GET', url: '/metrics' })).body
    const m = /^netrank_plugin_transmit_bytes_per_second\{node="nr-node",plugin="nr-a"\} (\S+)$/m.exec(metrics)
    t.ok(m !== null && Number(m[1]) > 0, `transmit bytes/s of nr-a in /metrics (${m?.[1]})`)
    t.match(metrics, /^netrank_unattributed_bytes_per_second\{node="nr-node",direction="receive"\} \S+$/m)
    t.match(metrics, /^netrank_collector_last_success_timestamp_seconds\{collector="cadvisor"\} \d/m)
    t.match(metrics, /^netrank_cni_add_duration_seconds_count 2$/m, 'both ADDs\' durations, from their records, once (ipam is off: cadvisor counts them)')

    await kubelet.close()
    await agent.runCollectorsOnce()
    metrics = (await app.inject({ method: 'GET', url: '/metrics' })).body
    t.match(metrics, /^netrank_collector_errors_total\{collector="cadvisor"\} 1$/m)
    t.match(metrics, /^netrank_cni_add_duration_seconds_count 2$/m, 'not counted again')
    const after = (await app.inject({ method: 'GET', url: '/rank' })).json() as typeof rank
    t.equal(after.plugins.find((p) => p.plugin === 'nr-a')?.kpis.txBps?.value, a1?.kpis.txBps?.value, 'the last value stays until it goes stale')
    t.equal((await app.inject({ method: 'GET', url: '/healthz' })).statusCode, 200, 'the agent keeps serving')
  })
})
