import t from 'tap'
import { readFileSync } from 'node:fs'
import { parseNetworkSeries } from '../../collectors/traffic/prom-text-network.js'
import type { NetworkSeriesRecord } from '../../collectors/traffic/prom-text-network.js'
import { isSandboxSeries, PodCounterAggregator, podCountersFromRecords, podUidFromCgroup } from '../../collectors/traffic/pod-network-counters.js'

const KUBELET = readFileSync(new URL('../fixtures/cadvisor/kubelet-metrics-cadvisor_k8s-1.35_network-families-only.prom', import.meta.url), 'utf8')
const SCRAPED_AT = 1_782_468_880_000

// hostNetwork pods of this minikube capture: they report the node's ~772 MB received on eth0.
const HOST_NETWORK = new Set([
  'kube-system/etcd-datagen-1-35', 'kube-system/kindnet-zkpn8', 'kube-system/kube-apiserver-datagen-1-35',
  'kube-system/kube-controller-manager-datagen-1-35', 'kube-system/kube-proxy-8k9zt', 'kube-system/kube-scheduler-datagen-1-35',
  'kube-system/storage-provisioner', 'scraper/e2e-scraper-5f97dc94d8-vkcjl',
])

function rec (o: Partial<NetworkSeriesRecord>): NetworkSeriesRecord {
  return {
    family: 'container_network_receive_bytes_total', namespace: 'ns', pod: 'p', container: '', id: '/kubepods/podaaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee/s1',
    name: 's1', image: 'pause', interface: 'eth0', podUid: '', value: 0, timestampMs: 1000, ...o,
  }
}

t.test('the kubelet fixture gives 18 pods × 10 interfaces of sandbox counters, root cgroup excluded', async t => {
  const { records } = await parseNetworkSeries(KUBELET)
  const agg = new PodCounterAggregator()
  records.forEach(agg.add)
  const counters = agg.result(SCRAPED_AT)
  t.equal(counters.length, 180)
  t.equal(new Set(counters.map((c) => `${c.namespace}/${c.pod}`)).size, 18)
  t.notOk(counters.some((c) => c.pod === ''), 'no series without a pod (the root cgroup id="/")')
  t.equal(agg.stats.root, 20, 'root cgroup: 10 interfaces × rx, tx')
  t.ok(counters.some((c) => c.pod === 'e2e-container-creating'), 'the pod absent from the summary is here')
})

t.test('a pod interface carries the rx and tx bytes and the sample time written in the file', async t => {
  const { records } = await parseNetworkSeries(KUBELET)
  const counters = podCountersFromRecords(records, SCRAPED_AT)
  const ksm = counters.find((c) => c.pod === 'e2e-kube-state-metrics-75b885dc9-97mtr' && c.interface === 'eth0')
  t.same(ksm, {
    namespace: 'scraper', pod: 'e2e-kube-state-metrics-75b885dc9-97mtr', interface: 'eth0', rxBytes: 545122, txBytes: 44649,
    atMs: 1782468871737, sandboxId: '7edfe56925bb29d577fba513efaec307c7653918d2079f772de0c014c2a501af', podUid: '52e6202b-d247-4d4d-8ff5-809b6d8b292e',
  })
  const kindnet = counters.find((c) => c.pod === 'kindnet-zkpn8' && c.interface === 'eth0')
  t.equal(kindnet?.rxBytes, 772922248, '7.72922248e+08')
  const tunl = counters.find((c) => c.pod === 'coredns-7d764666f9-qdcxt' && c.interface === 'tunl0')
  t.same([tunl?.rxBytes, tunl?.txBytes], [0, 0], 'kernel tunnel devices are all zero')
})

t.test('hostNetwork pods given by the caller are dropped', async t => {
  const { records } = await parseNetworkSeries(KUBELET)
  const agg = new PodCounterAggregator({ hostNetworkPods: HOST_NETWORK })
  records.forEach(agg.add)
  const counters = agg.result(SCRAPED_AT)
  t.equal(new Set(counters.map((c) => c.pod)).size, 10)
  t.equal(agg.stats.hostNetwork, 8 * 20)
  const eth0Rx = counters.filter((c) => c.interface === 'eth0').reduce((a, c) => a + c.rxBytes, 0)
  // 545122 + 446×6 (hpa, daemonset, 2 deployments, 2 statefulsets) + 446 (container-creating) + 49637 (coredns) + 241070 (metrics-server)
  t.equal(eth0Rx, 545122 + 446 * 7 + 49637 + 241070)
})

t.test('interface and line order do not matter', async t => {
  const lines = KUBELET.split('\n')
  const reversed = lines.slice().reverse().join('\n')
  const a = podCountersFromRecords((await parseNetworkSeries(KUBELET)).records, SCRAPED_AT)
  const b = podCountersFromRecords((await parseNetworkSeries(reversed)).records, SCRAPED_AT)
  t.same(b, a)
})

t.test('app-container series and series without a pod are not the pod’s counters', async t => {
  const counters = podCountersFromRecords([
    rec({ value: 100 }), rec({ family: 'container_network_transmit_bytes_total', value: 50 }),
    rec({ container: 'app', name: 'a1', value: 100 }), rec({ container: 'app', name: 'a1', family: 'container_network_transmit_bytes_total', value: 50 }),
    rec({ pod: '', id: '/system.slice/x', value: 9 }),
  ], 0)
  t.same(counters.map((c) => [c.pod, c.rxBytes, c.txBytes]), [['p', 100, 50]], 'counted once, from the sandbox')
})

t.test('Docker-era pages mark the sandbox container="POD"', async t => {
  t.ok(isSandboxSeries({ pod: 'p', id: '/docker/x', container: 'POD', image: 'gcr.io/pause' }))
  t.notOk(isSandboxSeries({ pod: 'p', id: '/', container: '', image: '' }))
  t.notOk(isSandboxSeries({ pod: 'p', id: '/x', container: 'web', image: 'nginx' }))
})

t.test('when a page shows an old and a new sandbox of a pod, the newer one counts', async t => {
  const oldS = { id: '/kubepods/podaaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee/old', name: 'old', timestampMs: 1000 }
  const newS = { id: '/kubepods/podaaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee/new', name: 'new', timestampMs: 2000 }
  const recs = [
    rec({ ...oldS, value: 9000 }), rec({ ...oldS, family: 'container_network_transmit_bytes_total', value: 9000 }),
    rec({ ...oldS, interface: 'net1', value: 1 }), rec({ ...oldS, interface: 'net1', family: 'container_network_transmit_bytes_total', value: 1 }),
    rec({ ...newS, value: 10 }), rec({ ...newS, family: 'container_network_transmit_bytes_total', value: 20 }),
  ]
  for (const order of [recs, recs.slice().reverse()]) {
    const c = podCountersFromRecords(order, 0)
    t.same(c.map((x) => [x.interface, x.rxBytes, x.txBytes, x.sandboxId]), [['eth0', 10, 20, 'new']])
  }
})

t.test('an interface with only rx or a non-finite value is dropped as incomplete', async t => {
  const agg = new PodCounterAggregator()
  agg.add(rec({ value: 5 }))
  agg.add(rec({ interface: 'eth1', value: NaN }))
  agg.add(rec({ interface: 'eth1', family: 'container_network_transmit_bytes_total', value: 1 }))
  t.same(agg.result(0), [])
  t.equal(agg.stats.incomplete, 2)
})

t.test('samples without their own timestamp take the scrape time', async t => {
  const c = podCountersFromRecords([rec({ value: 1, timestampMs: undefined }), rec({ family: 'container_network_transmit_bytes_total', value: 2, timestampMs: undefined })], 4242)
  t.equal(c[0]?.atMs, 4242)
})

t.test('the pod UID is read from cgroupfs and systemd cgroup paths', async t => {
  const cases: Array<[string, string | undefined]> = [
    ['/kubepods/besteffort/pod081d040e-c94b-41ea-8278-eb12903ddd99/33f87bbd', '081d040e-c94b-41ea-8278-eb12903ddd99'],
    ['/kubepods/burstable/pod07bd11a0a13dfe5450a17a39eb8e32d2/73f189b4', '07bd11a0a13dfe5450a17a39eb8e32d2'],
    ['/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod36447428_81f8_45eb_b825_414de2e8012b.slice/cri-containerd-ed11.scope', '36447428-81f8-45eb-b825-414de2e8012b'],
    ['/', undefined],
    ['/system.slice/kubelet.service', undefined],
  ]
  for (const [id, want] of cases) t.equal(podUidFromCgroup(id), want, id)
})

t.test('an aggregator reused page after page (begin) gives what a new one gives for each page', async t => {
  const { records } = await parseNetworkSeries(KUBELET)
  const tx = 'container_network_transmit_bytes_total' as const
  const sandbox = (pod: string, s: string, at: number): Partial<NetworkSeriesRecord> => ({ pod, id: `/kubepods/pod${pod === 'b' ? '11111111-2222-3333-4444-555555555555' : 'aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee'}/${s}`, name: s, timestampMs: at })
  const pages: Array<{ recs: NetworkSeriesRecord[], hostNetworkPods?: ReadonlySet<string> }> = [
    { recs: records },
    { recs: records, hostNetworkPods: HOST_NETWORK },
    { recs: records.filter((r) => r.pod !== 'coredns-7d764666f9-qdcxt' && r.interface !== 'tunl0') }, // a pod and an interface gone
    { recs: [rec({ value: 1 }), rec({ family: tx, value: 2 }), rec({ interface: 'net1', value: 3 }), rec({ interface: 'net1', family: tx, value: 4 })] },
    // the pod's sandbox replaced (its counters start afresh), a second pod, net1 only rx (incomplete)
    { recs: [rec({ ...sandbox('p', 's2', 5), value: 5 }), rec({ ...sandbox('p', 's2', 5), family: tx, value: 6 }), rec({ ...sandbox('p', 's2', 5), interface: 'net1', value: 7 }), rec({ ...sandbox('b', 'b1', 5), value: 8 }), rec({ ...sandbox('b', 'b1', 5), family: tx, value: 9 })] },
    // an old and a new sandbox on one page; the pod's uid now from its label
    { recs: [rec({ ...sandbox('p', 's2', 5), value: 50 }), rec({ ...sandbox('p', 's3', 9), value: 10, podUid: 'u-1' }), rec({ ...sandbox('p', 's3', 9), family: tx, value: 20, podUid: 'u-1' }), rec({ ...sandbox('p', 's2', 5), family: tx, value: 60 })] },
    { recs: [] },
    { recs: records, hostNetworkPods: new Set(['kube-system/coredns-7d764666f9-qdcxt']) },
    { recs: records },
  ]
  const reused = new PodCounterAggregator()
  let i = 0
  for (const page of pages) {
    const filter = page.hostNetworkPods !== undefined ? { hostNetworkPods: page.hostNetworkPods } : {}
    const fresh = new PodCounterAggregator(filter)
    page.recs.forEach(fresh.add)
    reused.begin(filter)
    page.recs.forEach(reused.add)
    t.same(reused.result(SCRAPED_AT + i), fresh.result(SCRAPED_AT + i), `page ${i}: the counters`)
    t.same(reused.stats, fresh.stats, `page ${i}: the figures`)
    i++
  }
  const first = reused.stats
  reused.begin()
  t.equal(first.records, records.length, 'a page\'s figures stay as they were when the next begins')
})
