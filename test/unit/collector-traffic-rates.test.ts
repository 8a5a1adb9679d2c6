import t from 'tap'
import { readFileSync } from 'node:fs'
import { parseNetworkSeries } from '../../collectors/traffic/prom-text-network.js'
import { podCountersFromRecords } from '../../collectors/traffic/pod-network-counters.js'
import type { PodInterfaceCounters } from '../../collectors/traffic/pod-network-counters.js'
import { TrafficRates, trafficKpiSamples } from '../../collectors/traffic/traffic-rates.js'

const KUBELET = readFileSync(new URL('../fixtures/cadvisor/kubelet-metrics-cadvisor_k8s-1.35_network-families-only.prom', import.meta.url), 'utf8')

// Attribution for the test: scraper pods' eth0 on "bridge", kube-system pods' eth0 on "ptp".
const attribute = (ns: string, _pod: string, iface: string): string | undefined =>
  iface !== 'eth0' ? undefined : ns === 'scraper' ? 'bridge' : ns === 'kube-system' ? 'ptp' : undefined

const c = (pod: string, rx: number, tx: number, atMs: number, o: Partial<PodInterfaceCounters> = {}): PodInterfaceCounters =>
  ({ namespace: 'scraper', pod, interface: 'eth0', rxBytes: rx, txBytes: tx, atMs, ...o })

t.test('two real scrapes 10 s apart with a reset in between: rates per plugin, no rate for the reset pod', async t => {
  const first = podCountersFromRecords((await parseNetworkSeries(KUBELET)).records, 0)
  // The second scrape: every eth0 counter advanced 10 s later by a known amount (bytes),
  // except e2e-statefulset-0 whose sandbox was recreated: its counters restart near zero.
  const second = first.map((x) => {
    if (x.interface !== 'eth0') return { ...x, atMs: x.atMs + 10_000 }
    if (x.pod === 'e2e-statefulset-0') return { ...x, rxBytes: 100, txBytes: 50, atMs: x.atMs + 10_000 }
    return { ...x, rxBytes: x.rxBytes + 12_500, txBytes: x.txBytes + 2_500, atMs: x.atMs + 10_000 }
  })
  const tr = new TrafficRates({ attribute, windowMs: 60_000 })
  const c1 = tr.update(first, 1_782_468_880_000)
  t.same(c1.plugins, [], 'a first sample gives no rate')
  t.equal(c1.withoutRate, 180)
  const c2 = tr.update(second, 1_782_468_890_000)
  // scraper has 9 pods on this page (e2e-statefulset-0 reset → 8 with a rate); kube-system has 9.
  // Each: 12 500 B / 10 s = 1250 B/s = 10 000 bit/s rx, 2500 B / 10 s = 250 B/s = 2000 bit/s tx.
  const bridge = c2.plugins.find((p) => p.plugin === 'bridge')
  const ptp = c2.plugins.find((p) => p.plugin === 'ptp')
  t.match(bridge, { rxBps: 8 * 10_000, txBps: 8 * 2_000, interfaces: 9, samples: 1 })
  t.match(ptp, { rxBps: 9 * 10_000, txBps: 9 * 2_000, interfaces: 9 })
  t.equal(c2.withoutRate, 1, 'only the reset interface')
  t.same(c2.unattributed, { rxBytesPerSecond: 0, txBytesPerSecond: 0, interfaces: 162 }, 'the zero tunnel devices')
  t.same(trafficKpiSamples(c2).filter((s) => s.plugin === 'bridge').map((s) => [s.kpi, s.value, s.source]), [['rxBps', 80_000, 'cadvisor'], ['txBps', 16_000, 'cadvisor']])
})

t.test('a new sandbox ID is a new counter even when its value happens to be larger', async t => {
  const tr = new TrafficRates({ attribute: () => 'bridge' })
  tr.update([c('p', 1000, 1000, 0, { sandboxId: 'a' })], 0)
  const r = tr.update([c('p', 5000, 5000, 1000, { sandboxId: 'b' })], 1000)
  t.same(r.plugins, [])
  t.equal(r.withoutRate, 1)
  const r3 = tr.update([c('p', 6000, 5500, 2000, { sandboxId: 'b' })], 2000)
  t.match(r3.plugins[0], { plugin: 'bridge', cycleRxBps: 8000, cycleTxBps: 4000 })
})

t.test('unattributed traffic is summed apart in bytes/s, never given to a plugin', async t => {
  const tr = new TrafficRates({ attribute: (_n, pod) => (pod === 'known' ? 'bridge' : undefined) })
  tr.update([c('known', 0, 0, 0), c('stray', 0, 0, 0)], 0)
  const r = tr.update([c('known', 1000, 0, 1000), c('stray', 4000, 2000, 2000)], 2000)
  t.same(r.unattributed, { rxBytesPerSecond: 2000, txBytesPerSecond: 1000, interfaces: 1 })
  t.match(r.plugins, [{ plugin: 'bridge', rxBps: 8000, txBps: 0 }])
})

t.test('the reported rate is the mean of the cycle rates inside the window', async t => {
  const tr = new TrafficRates({ attribute: () => 'bridge', windowMs: 15_000 })
  tr.update([c('p', 0, 0, 0)], 0)
  tr.update([c('p', 10_000, 0, 10_000)], 10_000) // 1000 B/s
  const r = tr.update([c('p', 40_000, 0, 20_000)], 20_000) // 3000 B/s
  t.equal(r.plugins[0]?.rxBps, (8_000 + 24_000) / 2)
  const r2 = tr.update([c('p', 40_000, 0, 30_000)], 30_000) // 0 B/s; the 10 s sample leaves the window
  t.equal(r2.plugins[0]?.rxBps, (24_000 + 0) / 2)
  t.equal(r2.plugins[0]?.samples, 2)
})

t.test('a catalog plugin without pods measures 0; pods that disappear are forgotten', async t => {
  const tr = new TrafficRates({ attribute: () => 'bridge', plugins: ['bridge', 'macvlan'], forgetAfterMs: 30_000 })
  tr.update([c('p', 0, 0, 0)], 0)
  const r = tr.update([c('p', 1000, 1000, 1000)], 1000)
  t.match(r.plugins, [{ plugin: 'bridge', rxBps: 8000 }, { plugin: 'macvlan', rxBps: 0, txBps: 0, interfaces: 0 }])
  t.equal(tr.trackedCounters, 2)
  tr.update([], 40_000)
  t.equal(tr.trackedCounters, 0, 'a pod gone for longer than forgetAfterMs is dropped')
})

t.test('bad options are refused', async t => {
  t.throws(() => new TrafficRates({} as never), /attribute/)
  t.throws(() => new TrafficRates({ attribute: () => undefined, windowMs: 0 }), /windowMs/)
  t.throws(() => new TrafficRates({ attribute: () => undefined, forgetAfterMs: -1 }), /forgetAfterMs/)
})
