// `netrank collect <cadvisor|probes|ipam> --config FILE --once [--json]`: what one
// collection saw, as JSON and as tables, with usage errors and collector errors.
// (The probes variant runs real iperf3 in test/system/probes-iperf3.test.ts.)
import t from 'tap'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { RECORD_FORMAT, writeRecord } from '../../contract/attachment-record.js'
import { main } from '../../cli/main.js'
import type { CliIo } from '../../cli/main.js'
import { tempDir } from '../support/netns.js'
import type { TestLike } from '../support/netns.js'

const SUMMARY = readFileSync(new URL('../fixtures/kubelet/kubelet-stats-summary_k8s-1.35_minikube.json', import.meta.url), 'utf8')

function capture (): { io: CliIo, out: () => string, err: () => string } {
  let out = ''
  let err = ''
  return {
    io: { stdout: { write: (s: string) => { out += s } }, stderr: { write: (s: string) => { err += s } }, env: {} },
    out: () => out,
    err: () => err,
  }
}

async function serve (t: TestLike, path: string, body: string): Promise<string> {
  const srv = createServer((req, res) => {
    if (req.url !== path) { res.writeHead(404).end(); return }
    res.writeHead(200, { 'content-type': 'application/json' }).end(body)
  })
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>((resolve) => srv.close(() => resolve())))
  return `http://127.0.0.1:${(srv.address() as AddressInfo).port}`
}

// A node's CNI state by hand: one host-local network with two allocations, one record.
function stage (t: TestLike, cadvisorUrl = 'http://127.0.0.1:1'): string {
  const dir = tempDir(t, 'nr-cli-collect')
  const confDir = join(dir, 'net.d')
  const dataDir = join(dir, 'networks')
  mkdirSync(confDir)
  mkdirSync(join(dataDir, 'kindnet'), { recursive: true })
  writeFileSync(join(confDir, '10-kindnet.conflist'), JSON.stringify({ cniVersion: '1.0.0', name: 'kindnet', plugins: [{ type: 'ptp', ipam: { type: 'host-local', ranges: [[{ subnet: '10.244.0.0/24' }]] } }] }))
  for (const ip of ['10.244.0.2', '10.244.0.3']) writeFileSync(join(dataDir, 'kindnet', ip), 'c\r\neth0')
  writeFileSync(join(dataDir, 'kindnet', 'last_reserved_ip.0'), '10.244.0.3')
  const now = new Date().toISOString()
  writeRecord(join(dir, 'state'), {
    format: RECORD_FORMAT, containerId: 'c1', ifname: 'eth0', netns: '/var/run/netns/x', cniVersion: '1.0.0',
    pod: { namespace: 'kube-system', name: 'coredns-7d764666f9-qdcxt', uid: '36447428-81f8-45eb-b825-414de2e8012b' },
    reason: 'default', decisionId: '', plugins: ['kindnet'], state: 'added', createdAt: now, updatedAt: now, addDurationMs: 30,
    attachments: [{ network: 'kindnet', ifname: 'eth0', conf: { name: 'kindnet' } as never, result: { ips: [{ address: '10.244.0.2/24' }] } }],
  })
  const file = join(dir, 'agent.yaml')
  writeFileSync(file, [
    'node: nr-node',
    'plugins: [{ name: kindnet }, { name: other }]',
    `cni: { confDir: ${confDir}, stateDir: ${join(dir, 'state')}, hostLocalDataDir: ${dataDir} }`,
    `collectors: { cadvisor: { source: kubelet-summary, url: "${cadvisorUrl}", timeoutMs: 2000 } }`,
    `audit: { dir: ${join(dir, 'audit')} }`,
  ].join('\n') + '\n')
  return file
}

t.test('usage errors exit 2 and say what is wrong', async t => {
  const file = stage(t)
  const cases: Array<[string[], RegExp]> = [
    [['collect'], /name a collector: cadvisor, probes, ipam/],
    [['collect', 'bogus', '--config', file, '--once'], /unknown collector 'bogus' \(collectors: cadvisor, probes, ipam\)/],
    [['collect', 'ipam', '--once'], /--config FILE is required/],
    [['collect', 'ipam', '--config', file], /--once is required/],
    [['collect', 'ipam', '--config', file, '--once', '--rate-ms', '100'], /--rate-ms applies to cadvisor only/],
    [['collect', 'cadvisor', '--config', file, '--once', '--rate-ms', 'soon'], /--rate-ms must be an integer number of ms/],
  ]
  for (const [argv, want] of cases) {
    const c = capture()
    t.equal(await main(argv, c.io), 2, argv.join(' '))
    t.match(c.err(), want, argv.join(' '))
    t.match(c.err(), /Usage: netrank collect <cadvisor\|probes\|ipam>/)
  }
})

t.test('ipam --json: per-plugin used/capacity and where it came from', async t => {
  const file = stage(t)
  const c = capture()
  const code = await main(['collect', 'ipam', '--config', file, '--once', '--json'], c.io)
  const out = JSON.parse(c.out()) as { collector: string, node: string, errors: string[], ipam: { plugins: Array<Record<string, unknown>> }, samples: unknown[] }
  t.equal(out.collector, 'ipam')
  t.equal(out.node, 'nr-node')
  t.match(out.ipam.plugins[0], { plugin: 'kindnet', source: 'host-local', used: 2, capacity: 253, subnets: 1, free: 251, ranges: [{ set: 0, subnet: '10.244.0.0/24', range: '10.244.0.1-10.244.0.254', used: 2, capacity: 253, free: 251 }], detail: /networks\/kindnet$/ })
  t.match(out.ipam.plugins[1], { plugin: 'other', error: /no conf named 'other'/ })
  t.same(out.samples, [{ plugin: 'kindnet', kpi: 'ipUsed', value: 2 }, { plugin: 'kindnet', kpi: 'ipCapacity', value: 253 }, { plugin: 'kindnet', kpi: 'ipSubnets', value: 1 }, { plugin: 'kindnet', kpi: 'ipFree', value: 251 }])
  t.equal(code, 1, 'the missing conf of `other` is a collector error: exit 1')
  t.equal(out.errors.length, 1)
})

t.test('ipam as a table: aligned columns', async t => {
  const file = stage(t)
  const c = capture()
  await main(['collect', 'ipam', '--config', file, '--once'], c.io)
  const lines = c.out().split('\n')
  t.match(lines[0], /^ipam on node nr-node at \d{4}-/)
  t.match(lines[1], /^PLUGIN\s+SOURCE\s+USED\s+CAPACITY\s+SUBNETS\s+FREE\s+FROM\s+ERROR$/)
  t.match(lines[2], /^kindnet\s+host-local\s+2\s+253\s+1\s+251\s+\S+networks\/kindnet$/)
  t.equal(lines[1]?.indexOf('SOURCE'), lines[2]?.indexOf('host-local'), 'columns line up')
  t.match(c.out(), /^PLUGIN\s+SET\s+SUBNET\s+RANGE\s+USED\s+CAPACITY\s+FREE\n\S+\s+0\s+10\.244\.0\.0\/24\s+10\.244\.0\.1-10\.244\.0\.254\s+2\s+253\s+251$/m, 'and range by range')
  t.match(c.out(), /^error: other: no conf named 'other'/m)
})

t.test('cadvisor --json on the real kubelet summary: counters per pod interface, attribution by record, per-plugin totals', async t => {
  const url = await serve(t, '/stats/summary', SUMMARY)
  const file = stage(t, url)
  const c = capture()
  const code = await main(['collect', 'cadvisor', '--config', file, '--once', '--json'], c.io)
  t.equal(code, 0, c.err())
  const out = JSON.parse(c.out()) as { cadvisor: { source: string, interfaces: Array<Record<string, unknown>>, plugins: Array<Record<string, unknown>> } }
  t.equal(out.cadvisor.source, 'kubelet-summary')
  t.equal(out.cadvisor.interfaces.length, 170, '17 pods × 10 interfaces (no pod informer: no hostNetwork exclusion)')
  t.same(out.cadvisor.interfaces.find((i) => i.pod === 'coredns-7d764666f9-qdcxt' && i.interface === 'eth0'),
    { namespace: 'kube-system', pod: 'coredns-7d764666f9-qdcxt', interface: 'eth0', rxBytes: 49637, txBytes: 21189, plugin: 'kindnet', attributedBy: 'attachment-record' })
  t.same(out.cadvisor.plugins.find((p) => p.plugin === 'kindnet'), { plugin: 'kindnet', interfaces: 1, rxBytes: 49637, txBytes: 21189 })
  t.match(out.cadvisor.plugins.find((p) => p.plugin === '(unattributed)'), { interfaces: 169 })
})

t.test('cadvisor as a table, and a kubelet that cannot be reached is an error with exit 1', async t => {
  const url = await serve(t, '/stats/summary', SUMMARY)
  const c = capture()
  t.equal(await main(['collect', 'cadvisor', '--config', stage(t, url), '--once'], c.io), 0)
  t.match(c.out(), /^NAMESPACE\s+POD\s+IFACE\s+RX BYTES\s+TX BYTES\s+PLUGIN\s+BY$/m)
  t.match(c.out(), /^kube-system\s+coredns-7d764666f9-qdcxt\s+eth0\s+49637\s+21189\s+kindnet\s+attachment-record$/m)
  t.match(c.out(), /^kindnet\s+1\s+49637\s+21189\s+-\s+-$/m)
  const d = capture()
  t.equal(await main(['collect', 'cadvisor', '--config', stage(t), '--once'], d.io), 1)
  t.match(d.out(), /^error: scrape of http:\/\/127\.0\.0\.1:1\/stats\/summary failed: /m)
})

t.test('probes without a kubernetes section cannot discover probe pods: exit 1 with why', async t => {
  const c = capture()
  t.equal(await main(['collect', 'probes', '--config', stage(t), '--once'], c.io), 1)
  t.match(c.err(), /collector probes cannot run: probe pods are found through the Kubernetes API and `kubernetes` is not configured/)
})
