import t from 'tap'
import { readFileSync } from 'node:fs'
import { parseCadvisorV1, podFromLabels } from '../../collectors/traffic/cadvisor-v1.js'
import { parseCadvisorV2Stats } from '../../collectors/traffic/cadvisor-v2.js'
import { parseRfc3339Ms } from '../../collectors/rfc3339.js'

const V13 = readFileSync(new URL('../fixtures/cadvisor/cadvisor-api-v1.3-subcontainers_k8s-1.2-docker_dd-agent.json', import.meta.url), 'utf8')

t.test('v1.3: the POD container of the Docker node is the one sandbox, with its eth0 from the newest stats entry', async t => {
  const r = parseCadvisorV1(V13)
  t.equal(r.sandboxes, 1)
  t.same(r.counters, [{
    namespace: 'default', pod: 'dd-agent-1rxlh', interface: 'eth0', rxBytes: 1217092163, txBytes: 86040599,
    atMs: Date.UTC(2016, 5, 17, 16, 7, 55, 236), podUid: '12c7be82-33ca-11e6-ac8f-42010af00003',
    sandboxId: '4f269da73287845650fce62e0b4ab40a76489e646a79d30a39ce961912f0833e',
  }])
})

t.test('v1.3: the app container, the root container (eth0 + cbr0) and system containers are not pods', async t => {
  const r = parseCadvisorV1(V13)
  t.notOk(r.counters.some((c) => c.interface === 'cbr0'))
  t.equal(r.counters.length, 1)
})

t.test('v1.3: the 18446744073709551615 memory limit parses without harm', async t => {
  t.ok(V13.includes('18446744073709551615'))
  t.doesNotThrow(() => parseCadvisorV1(V13))
})

t.test('v1.3: hostNetwork pods are excluded when given, a map answer is accepted, bad input is refused', async t => {
  const r = parseCadvisorV1(V13, { hostNetworkPods: new Set(['default/dd-agent-1rxlh']) })
  t.same(r.counters, [])
  t.same(r.hostNetworkExcluded, ['default/dd-agent-1rxlh'])
  const asMap = Object.fromEntries((JSON.parse(V13) as Array<{ name: string }>).map((c) => [c.name, c]))
  t.equal(parseCadvisorV1(asMap).counters.length, 1)
  t.throws(() => parseCadvisorV1('nope'), /not JSON/)
  t.throws(() => parseCadvisorV1(42), /ContainerInfo/)
})

t.test('v1.3: stats order is not trusted, the newest timestamp wins', async t => {
  const doc = JSON.parse(V13) as Array<{ spec: { labels?: Record<string, string> }, stats: unknown[] }>
  const pod = doc.find((c) => c.spec.labels?.['io.kubernetes.container.name'] === 'POD')
  pod?.stats.reverse()
  t.equal(parseCadvisorV1(doc).counters[0]?.rxBytes, 1217092163)
})

t.test('sandbox labels of docker, containerd and cri-dockerd are recognised', async t => {
  const base = { 'io.kubernetes.pod.name': 'p', 'io.kubernetes.pod.namespace': 'n' }
  t.equal(podFromLabels({ ...base, 'io.kubernetes.container.name': 'POD' })?.sandbox, true)
  t.equal(podFromLabels({ ...base, 'io.cri-containerd.kind': 'sandbox' })?.sandbox, true)
  t.equal(podFromLabels({ ...base, 'io.kubernetes.docker.type': 'podsandbox' })?.sandbox, true)
  t.equal(podFromLabels({ ...base, 'io.kubernetes.container.name': 'web' })?.sandbox, false)
  t.equal(podFromLabels({ 'io.kubernetes.container.name': 'POD' }), undefined)
})

// /api/v2.0/stats — no real capture was found; this payload is MADE BY US from cAdvisor's
// v2 types (map of container name → DeprecatedContainerStats[]: timestamp, has_network,
// network.interfaces[] with rx_bytes/tx_bytes).
const UID = '36447428-81f8-45eb-b825-414de2e8012b'
const SANDBOX = `/kubepods/burstable/pod${UID}/aaaa`
const APP = `/kubepods/burstable/pod${UID}/bbbb`
const V20_MADE_BY_US = {
  '/': [{ timestamp: '2026-06-26T10:14:35.123456789Z', has_network: true, network: { interfaces: [{ name: 'eth0', rx_bytes: 900, tx_bytes: 900 }] } }],
  [`/kubepods/burstable/pod${UID}`]: [{ timestamp: '2026-06-26T10:14:35Z', has_network: true, network: { interfaces: [{ name: 'eth0', rx_bytes: 1, tx_bytes: 1 }] } }],
  [SANDBOX]: [
    { timestamp: '2026-06-26T10:14:30.5Z', has_network: true, network: { interfaces: [{ name: 'eth0', rx_bytes: 100, tx_bytes: 10 }] } },
    { timestamp: '2026-06-26T10:14:35.25Z', has_network: true, network: { interfaces: [{ name: 'net1', rx_bytes: 7, tx_bytes: 8 }, { name: 'eth0', rx_bytes: 150, tx_bytes: 20 }] } },
  ],
  [APP]: [{ timestamp: '2026-06-26T10:14:35Z', has_network: false, network: {} }],
  '/kubepods/besteffort/pod11111111-2222-3333-4444-555555555555/cccc': [{ timestamp: '2026-06-26T10:14:35Z', has_network: true, network: { interfaces: [{ name: 'eth0', rx_bytes: 3, tx_bytes: 4 }] } }],
}

t.test('v2.0 (payload made by us): the sandbox under the pod cgroup, resolved by UID, newest entry', async t => {
  const r = parseCadvisorV2Stats(V20_MADE_BY_US, { resolvePod: (uid) => (uid === UID ? { namespace: 'kube-system', pod: 'coredns' } : undefined) })
  t.same(r.counters.map((c) => [c.pod, c.interface, c.rxBytes, c.txBytes, c.atMs, c.podUid]), [
    ['coredns', 'eth0', 150, 20, Date.UTC(2026, 5, 26, 10, 14, 35, 250), UID],
    ['coredns', 'net1', 7, 8, Date.UTC(2026, 5, 26, 10, 14, 35, 250), UID],
  ])
  t.same(r.unresolvedUids, ['11111111-2222-3333-4444-555555555555'], 'a sandbox of a pod the resolver does not know')
})

t.test('v2.0 (made by us): spec labels take precedence and find the sandbox without a resolver', async t => {
  const specs = {
    [SANDBOX]: { labels: { 'io.kubernetes.pod.name': 'coredns', 'io.kubernetes.pod.namespace': 'kube-system', 'io.kubernetes.pod.uid': UID, 'io.cri-containerd.kind': 'sandbox' } },
    [APP]: { labels: { 'io.kubernetes.pod.name': 'coredns', 'io.kubernetes.pod.namespace': 'kube-system', 'io.cri-containerd.kind': 'container' } },
  }
  const r = parseCadvisorV2Stats(JSON.stringify(V20_MADE_BY_US), { specs, hostNetworkPods: new Set(['x/y']) })
  t.same(r.counters.map((c) => [c.namespace, c.pod, c.interface, c.rxBytes]), [['kube-system', 'coredns', 'eth0', 150], ['kube-system', 'coredns', 'net1', 7]])
  const ex = parseCadvisorV2Stats(V20_MADE_BY_US, { specs, hostNetworkPods: new Set(['kube-system/coredns']) })
  t.same(ex.counters, [])
  t.same(ex.hostNetworkExcluded, ['kube-system/coredns'])
})

t.test('v2.1 shape (made by us): name → {spec, stats}', async t => {
  const v21 = { [SANDBOX]: { spec: { labels: { 'io.kubernetes.pod.name': 'p', 'io.kubernetes.pod.namespace': 'n', 'io.kubernetes.container.name': 'POD' } }, stats: V20_MADE_BY_US[SANDBOX] } }
  t.same(parseCadvisorV2Stats(v21).counters.map((c) => [c.pod, c.interface, c.rxBytes]), [['p', 'eth0', 150], ['p', 'net1', 7]])
  t.throws(() => parseCadvisorV2Stats('[1]'), /map of container name/)
  t.throws(() => parseCadvisorV2Stats('{'), /not JSON/)
})

t.test('RFC 3339 with nanoseconds and offsets, as Go writes them', async t => {
  const cases: Array<[unknown, number | undefined]> = [
    ['2016-06-17T16:07:55.23647675Z', Date.UTC(2016, 5, 17, 16, 7, 55, 236)],
    ['2026-06-26T10:14:35Z', Date.UTC(2026, 5, 26, 10, 14, 35)],
    ['2026-06-26T12:14:35.5+02:00', Date.UTC(2026, 5, 26, 10, 14, 35, 500)],
    ['0001-01-01T00:00:00Z', undefined],
    ['2026-06-26 10:14', undefined],
    [12, undefined],
  ]
  for (const [s, want] of cases) t.equal(parseRfc3339Ms(s), want, String(s))
})
