// Traffic once, per direction, end to end: a kubelet /metrics/cadvisor page served over
// HTTP, the real cadvisor collector (attribution by the shim's records on disk), the real
// KPI store. A flow between two pods of one network on this node is tx of the sender and
// rx of the receiver: summed per direction over the pods, the network carries X each way,
// and its usage (the busier direction) is X — not 2X, as rx + tx would make it.
import t from 'tap'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { RECORD_FORMAT, writeRecord } from '../../contract/attachment-record.js'
import { AttachmentRecordsSource } from '../../collectors/attachment-records-source.js'
import { createCadvisorCollector } from '../../collectors/traffic/cadvisor-collector.js'
import type { KpiSample } from '../../contract/kpis.js'
import { KpiStore } from '../../store/kpi-store.js'
import { tempDir } from '../support/netns.js'

const X = 480e6 // bit/s, A → B: the flow
const ACK = 0.01 * X // B → A: the receiver's ACKs
const STEP_S = 10
const T0 = 1_782_468_880_000

const sandbox = (p: string): string => `${p}${'0'.repeat(64 - p.length)}`
const line = (fam: string, pod: string, iface: string, v: number, ts: number): string =>
  `${fam}{container="",id="/kubepods/besteffort/pod0000000${pod === 'a' ? 'a' : 'b'}-0000-4000-8000-000000000000/${sandbox(pod)}",image="registry.k8s.io/pause:3.10.1",interface="${iface}",name="${sandbox(pod)}",namespace="team",pod="pod-${pod}"} ${v} ${ts}`

/** Scrape n: A's tx and B's rx grew by X·t, A's rx and B's tx by ACK·t; net1 of both idle on another network. */
function page (n: number): string {
  const s = n * STEP_S
  const ts = T0 + n * STEP_S * 1000
  const bytes = (bps: number): number => 1e6 + Math.round(bps * s / 8)
  return [
    '# TYPE container_network_receive_bytes_total counter',
    line('container_network_receive_bytes_total', 'a', 'eth0', bytes(ACK), ts),
    line('container_network_receive_bytes_total', 'a', 'net1', 1e6, ts),
    line('container_network_receive_bytes_total', 'b', 'eth0', bytes(X), ts),
    line('container_network_receive_bytes_total', 'b', 'net1', 1e6, ts),
    '# TYPE container_network_transmit_bytes_total counter',
    line('container_network_transmit_bytes_total', 'a', 'eth0', bytes(X), ts),
    line('container_network_transmit_bytes_total', 'a', 'net1', 1e6, ts),
    line('container_network_transmit_bytes_total', 'b', 'eth0', bytes(ACK), ts),
    line('container_network_transmit_bytes_total', 'b', 'net1', 1e6, ts),
    '',
  ].join('\n')
}

t.test('two pods of one plugin, A sends X bit/s to B: rxBps ≈ X, txBps ≈ X, usageBps ≈ X (not 2X)', async t => {
  const stateDir = tempDir(t, 'nr-traffic-dir')
  const at = new Date().toISOString()
  for (const p of ['a', 'b']) {
    writeRecord(stateDir, {
      format: RECORD_FORMAT, containerId: sandbox(p), ifname: 'eth0', netns: `/var/run/netns/${p}`, cniVersion: '1.0.0',
      pod: { namespace: 'team', name: `pod-${p}`, uid: '' }, reason: 'smart', decisionId: p, plugins: ['bridge-fast', 'macvlan'],
      state: 'added', createdAt: at, updatedAt: at, addDurationMs: 10,
      attachments: [
        { network: 'bridge-fast', ifname: 'eth0', conf: { name: 'bridge-fast' } as never },
        { network: 'macvlan', ifname: 'net1', conf: { name: 'macvlan' } as never },
      ],
    })
  }
  let scrape = 0
  const server = createServer((_req, res) => { res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(page(scrape++)) })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())))

  let now = T0
  const collector = createCadvisorCollector({
    node: 'n1', source: 'kubelet-metrics', url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    intervalMs: STEP_S * 1000, windowMs: 60_000, timeoutMs: 5_000, maxResponseBytes: 1 << 20,
    plugins: ['bridge-fast', 'macvlan'], records: new AttachmentRecordsSource({ stateDir, now: () => now, minReadIntervalMs: 0 }),
  })
  t.teardown(() => collector.stop())
  const store = new KpiStore({ windowMs: 60_000, maxSamplesPerSeries: 100, staleAfterMs: 120_000 })
  const emitted: KpiSample[] = []
  const errors: unknown[] = []
  const ctx = {
    node: 'n1', now: () => now,
    emit: (s: KpiSample[]) => { emitted.push(...s); return store.ingest(s).rejected.length },
    reportSuccess: () => undefined, reportError: (_c: string, e: unknown) => { errors.push(e) },
  }
  for (let i = 0; i < 4; i++) {
    await collector.collectOnce(ctx)
    now += STEP_S * 1000
  }
  t.same(errors, [])
  t.same([...new Set(emitted.map((s) => s.kpi))].sort(), ['rxBps', 'txBps'], 'the collector emits rx and tx apart, never a summed usage')

  const r = store.snapshot(now).plugins['bridge-fast']
  const near = (v: number | undefined, want: number, what: string): void => {
    t.ok(v !== undefined && Math.abs(v - want) <= want * 0.001, `${what}: ${((v ?? NaN) / 1e6).toFixed(1)} Mbit/s ≈ ${(want / 1e6).toFixed(1)}`)
  }
  near(r?.rxBps?.value, X + ACK, 'rxBps (B received X, A received the ACKs)')
  near(r?.txBps?.value, X + ACK, 'txBps (A sent X, B sent the ACKs)')
  near(r?.usageBps?.value, X + ACK, 'usageBps = the busier direction')
  t.ok((r?.usageBps?.value ?? Infinity) < 1.05 * X, 'not 2X: the 956 Mbit/s capacity of the issue is not exceeded by a 480 Mbit/s flow')
  const other = store.snapshot(now).plugins.macvlan
  t.equal(other?.usageBps?.value, 0, 'the idle second network of the same pods carries nothing')
  const rep = collector.lastReport
  t.same(rep?.interfaces.map((i) => `${i.pod}/${i.interface}:${i.plugin ?? '-'}:${i.attributedBy ?? '-'}`),
    ['pod-a/eth0:bridge-fast:attachment-record', 'pod-a/net1:macvlan:attachment-record', 'pod-b/eth0:bridge-fast:attachment-record', 'pod-b/net1:macvlan:attachment-record'])
})

t.test('the cri source loads its gRPC client on first use; an absent runtime is a reported scrape error', async t => {
  const collector = createCadvisorCollector({
    node: 'n1', source: 'cri', url: '', criSocket: '/nonexistent/containerd.sock',
    intervalMs: 10_000, windowMs: 60_000, timeoutMs: 1_000, maxResponseBytes: 1 << 20, plugins: ['a'],
  })
  t.teardown(() => collector.stop())
  const errors: string[] = []
  await collector.collectOnce({
    node: 'n1', now: () => T0, emit: () => 0, reportSuccess: () => undefined,
    reportError: (_c: string, e: unknown) => { errors.push(String(e)) },
  })
  t.match(errors, [/scrape of unix:\/\/\/nonexistent\/containerd\.sock failed: .*the socket does not exist/])
})

t.test('two scrapes that overlap (runCollectorsOnce beside the loop) each get their own page right', async t => {
  // the first answer is held back until the second request came, so the two bodies stream together
  let scrape = 0
  let release: (() => void) | undefined
  const held = new Promise<void>((resolve) => { release = resolve })
  const server = createServer((_req, res) => {
    const n = ++scrape
    const body = page(n)
    res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' })
    const half = body.indexOf('# TYPE container_network_transmit_bytes_total') // the rx family, then the tx family
    res.write(body.slice(0, half))
    if (n === 2) release?.()
    void (n === 1 ? held : Promise.resolve()).then(() => setTimeout(() => res.end(body.slice(half)), n === 1 ? 50 : 0))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())))
  const collector = createCadvisorCollector({
    node: 'n1', source: 'kubelet-metrics', url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    intervalMs: 10_000, windowMs: 60_000, timeoutMs: 5_000, maxResponseBytes: 1 << 20, plugins: ['a'],
  })
  t.teardown(() => collector.stop())
  const errors: unknown[] = []
  const reports: string[][] = []
  const ctx = { node: 'n1', now: () => T0, emit: () => 0, reportSuccess: () => undefined, reportError: (_c: string, e: unknown) => { errors.push(e) } }
  const seen = (): void => { reports.push(collector.lastReport?.interfaces.map((i) => `${i.pod}/${i.interface}:${i.rxBytes}`) ?? []) }
  await Promise.all([collector.collectOnce(ctx).then(seen), collector.collectOnce(ctx).then(seen)])
  t.same(errors, [])
  const want = (n: number): string[] => {
    const rx = (fam: string, pod: string, iface: string): string => page(n).split('\n').find((l) => l.startsWith(fam) && l.includes(`pod="pod-${pod}"`) && l.includes(`interface="${iface}"`))?.split(' ')[1] ?? '?'
    return ['a', 'b'].flatMap((p) => ['eth0', 'net1'].map((i) => `pod-${p}/${i}:${rx('container_network_receive_bytes_total', p, i)}`))
  }
  t.same(reports.sort(), [want(2), want(1)].sort(), 'each scrape reports its own page\'s counters')
})
