import t from 'tap'
import { readFileSync } from 'node:fs'
import { hostNetworkSuspects, parseKubeletSummary } from '../../collectors/traffic/kubelet-summary.js'

const TEXT = readFileSync(new URL('../fixtures/kubelet/kubelet-stats-summary_k8s-1.35_minikube.json', import.meta.url), 'utf8')
const HOST_NETWORK = new Set([
  'kube-system/etcd-datagen-1-35', 'kube-system/kindnet-zkpn8', 'kube-system/kube-apiserver-datagen-1-35',
  'kube-system/kube-controller-manager-datagen-1-35', 'kube-system/kube-proxy-8k9zt', 'kube-system/kube-scheduler-datagen-1-35',
  'kube-system/storage-provisioner', 'scraper/e2e-scraper-5f97dc94d8-vkcjl',
])

t.test('every pod of the summary gives its 10 interfaces, eth0 found although listed last', async t => {
  const r = parseKubeletSummary(TEXT, 0)
  t.equal(new Set(r.counters.map((c) => c.pod)).size, 17)
  t.equal(r.counters.length, 170)
  t.same(r.podsWithoutNetwork, [])
  const coredns = r.counters.find((c) => c.pod === 'coredns-7d764666f9-qdcxt' && c.interface === 'eth0')
  // network.time of that pod in the file: 2026-06-26T10:14:28Z
  t.same(coredns, {
    namespace: 'kube-system', pod: 'coredns-7d764666f9-qdcxt', interface: 'eth0', rxBytes: 49637, txBytes: 21189,
    atMs: Date.UTC(2026, 5, 26, 10, 14, 28), podUid: '36447428-81f8-45eb-b825-414de2e8012b',
  })
  t.notOk(r.counters.some((c) => c.pod === 'e2e-container-creating'), 'that pod is on the cAdvisor page only')
})

t.test('hostNetwork pods reporting the node’s ~772 MB are excluded when given', async t => {
  const all = parseKubeletSummary(TEXT, 0)
  const big = all.counters.filter((c) => c.interface === 'eth0' && c.rxBytes > 772_000_000)
  t.equal(big.length, 8, 'eight pods report the node’s traffic')
  const r = parseKubeletSummary(TEXT, 0, { hostNetworkPods: HOST_NETWORK })
  t.same(r.hostNetworkExcluded.slice().sort(), [...HOST_NETWORK].sort())
  t.equal(new Set(r.counters.map((c) => c.pod)).size, 9)
  t.notOk(r.counters.some((c) => c.rxBytes > 1_000_000), 'what is left are the pods’ own few kB')
})

t.test('the heuristic only lists suspects (diagnostics), matching the pods that share the node’s counters', async t => {
  t.same(hostNetworkSuspects(JSON.parse(TEXT)), [...HOST_NETWORK].sort())
  t.same(hostNetworkSuspects({}), [])
})

t.test('a pod without network stats is listed, and the top-level copy of an interface is not added twice', async t => {
  const doc = {
    pods: [
      { podRef: { name: 'a', namespace: 'n', uid: 'u1' } },
      { podRef: { name: 'b', namespace: 'n' }, network: { time: '2026-01-01T00:00:00Z', name: 'eth0', rxBytes: 5, txBytes: 6, interfaces: [{ name: 'eth0', rxBytes: 5, txBytes: 6 }, { name: 'net1', rxBytes: 1 }] } },
      { podRef: { name: 'c', namespace: 'n' }, network: { name: 'eth0', rxBytes: 7, txBytes: 8 } },
    ],
  }
  const r = parseKubeletSummary(doc, 99)
  t.same(r.podsWithoutNetwork, ['n/a'])
  t.same(r.counters.map((c) => [c.pod, c.interface, c.rxBytes, c.txBytes, c.atMs]), [
    ['b', 'eth0', 5, 6, Date.UTC(2026, 0, 1)],
    ['c', 'eth0', 7, 8, 99],
  ], 'net1 without txBytes is skipped; an older kubelet without interfaces[] uses the top level')
})

t.test('documents that are not a summary are refused with the path in the message', async t => {
  t.throws(() => parseKubeletSummary('{', 0), /not JSON/)
  t.throws(() => parseKubeletSummary('[]', 0), /"pods" array/)
  t.throws(() => parseKubeletSummary({ pods: [{ podRef: { name: 1 } }] }, 0), /pods\[0\]\.podRef/)
})
