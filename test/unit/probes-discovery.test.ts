// Probe pod discovery (pure): the client is a local probe pod with an attachment record,
// the server another probe pod of the same plugin, other nodes first.
import t from 'tap'
import type { RecordedAttachment } from '../../collectors/attachment-records-source.js'
import { attachmentsOf, resultIps } from '../../collectors/attachment-records-source.js'
import { iperf3Argv } from '../../collectors/probes/iperf3-probe.js'
import type { NodeObject, PodObject } from '../../collectors/kube-watch.js'
import { discoverProbePairs, unavailableNodes } from '../../collectors/probes/probe-pods.js'
import { AttachmentRecordsSource } from '../../collectors/attachment-records-source.js'
import { createProbesCollector } from '../../collectors/probes/probes-collector.js'
import type { KubeCache } from '../../collectors/kube-watch.js'
import { tempDir } from '../support/netns.js'
import { setTimeout as sleep } from 'node:timers/promises'

const LABEL = 'netrank.io/probe'
const pod = (name: string, plugin: string, node: string, extra: Partial<PodObject> = {}, status?: unknown[]): PodObject => ({
  metadata: {
    namespace: 'probes', name, labels: { [LABEL]: plugin },
    ...(status !== undefined ? { annotations: { 'k8s.v1.cni.cncf.io/network-status': JSON.stringify(status) } } : {}),
  },
  spec: { nodeName: node },
  ...extra,
})
const rec = (podName: string, network: string, ip: string | undefined, state: RecordedAttachment['state'] = 'added'): RecordedAttachment => ({
  namespace: 'probes', pod: podName, podUid: undefined, containerId: `c-${podName}`, network, ifname: 'eth0', netns: `/var/run/netns/${podName}`, ip, state,
})

t.test('a local client with a record and a peer on another node (address from network-status) make a pair', async t => {
  const d = discoverProbePairs({
    node: 'n1', podLabel: LABEL, plugins: ['fast'],
    pods: [
      pod('fast-local', 'fast', 'n1'),
      pod('fast-peer-same-node', 'fast', 'n1'),
      pod('fast-remote', 'fast', 'n2', {}, [{ name: 'default/fast', interface: 'eth0', ips: ['10.9.0.7'] }]),
    ],
    attachments: [rec('fast-local', 'fast', '10.1.0.2'), rec('fast-peer-same-node', 'fast', '10.1.0.3')],
    nowMs: 0,
  })
  t.same(d.gaps, [])
  const remote = { namespace: 'probes', pod: 'fast-remote', node: 'n2', ip: '10.9.0.7', from: 'network-status' }
  const sameNode = { namespace: 'probes', pod: 'fast-peer-same-node', node: 'n1', ip: '10.1.0.3', from: 'attachment-record' }
  t.same(d.pairs, [{
    plugin: 'fast',
    client: { namespace: 'probes', pod: 'fast-local', node: 'n1', ip: '10.1.0.2', from: 'attachment-record', netns: '/var/run/netns/fast-local' },
    server: remote,
    peers: [remote, sameNode],
  }], 'the remote peer first, the one on this node only to fill k = 2')
  // the peers take turns: the second half of the rotation measures against the second peer
  const later = discoverProbePairs({
    node: 'n1', podLabel: LABEL, plugins: ['fast'], pods: [pod('fast-local', 'fast', 'n1'), pod('fast-peer-same-node', 'fast', 'n1'), pod('fast-remote', 'fast', 'n2', {}, [{ name: 'default/fast', interface: 'eth0', ips: ['10.9.0.7'] }])],
    attachments: [rec('fast-local', 'fast', '10.1.0.2'), rec('fast-peer-same-node', 'fast', '10.1.0.3')],
    nowMs: 1_900_000,
  })
  t.same(later.pairs[0]?.server, sameNode, 'turn 2 of 2 within the hour')
  const one = discoverProbePairs({
    node: 'n1', podLabel: LABEL, plugins: ['fast'], pods: [pod('fast-local', 'fast', 'n1'), pod('fast-peer-same-node', 'fast', 'n1'), pod('fast-remote', 'fast', 'n2', {}, [{ name: 'default/fast', interface: 'eth0', ips: ['10.9.0.7'] }])],
    attachments: [rec('fast-local', 'fast', '10.1.0.2'), rec('fast-peer-same-node', 'fast', '10.1.0.3')],
    nowMs: 1_900_000, peers: 1,
  })
  t.same(one.pairs[0]?.peers, [remote], 'k = 1: the remote peer only')
})

t.test('on one node (the lab) the peer\'s address comes from its attachment record', async t => {
  const d = discoverProbePairs({
    node: 'n1', podLabel: LABEL, plugins: ['capped'],
    pods: [pod('capped-a', 'capped', 'n1'), pod('capped-b', 'capped', 'n1')],
    attachments: [rec('capped-a', 'capped', '10.2.0.2'), rec('capped-b', 'capped', '10.2.0.3')],
  })
  t.match(d.pairs[0], { client: { pod: 'capped-a' }, server: { pod: 'capped-b', ip: '10.2.0.3', from: 'attachment-record' } })
})

t.test('each missing piece is a gap with its reason, never a wrong pair', async t => {
  const cases: Array<[string, PodObject[], RecordedAttachment[], RegExp]> = [
    ['no probe pod', [], [], /^no pod labelled netrank\.io\/probe=p$/],
    ['no local probe pod', [pod('r', 'p', 'n2')], [], /^no probe pod of p on node n1$/],
    ['local pod without record', [pod('a', 'p', 'n1'), pod('b', 'p', 'n1')], [], /^no attachment record with an address on p .*\(a, b\)$/],
    ['record of another network', [pod('a', 'p', 'n1'), pod('b', 'p', 'n1')], [rec('a', 'other', '10.0.0.1'), rec('b', 'p', '10.0.0.2')], /^no address on p for the peer probe pod\(s\) \(a\)$/],
    ['record without an address', [pod('a', 'p', 'n1')], [rec('a', 'p', undefined)], /^no attachment record with an address/],
    ['alone', [pod('a', 'p', 'n1')], [rec('a', 'p', '10.0.0.1')], /^only one probe pod of p \(a\); a peer is needed$/],
    ['peer without address', [pod('a', 'p', 'n1'), pod('r', 'p', 'n2', {}, [{ name: 'other', interface: 'eth0', ips: ['1.1.1.1'] }])], [rec('a', 'p', '10.0.0.1')], /^no address on p for the peer probe pod\(s\) \(r\)$/],
    ['peer being deleted', [pod('a', 'p', 'n1'), pod('b', 'p', 'n1', { metadata: { namespace: 'probes', name: 'b', labels: { [LABEL]: 'p' }, deletionTimestamp: new Date() } })], [rec('a', 'p', '10.0.0.1'), rec('b', 'p', '10.0.0.2')], /^only one probe pod/],
  ]
  for (const [name, pods, attachments, why] of cases) {
    const d = discoverProbePairs({ node: 'n1', podLabel: LABEL, plugins: ['p'], pods, attachments })
    t.same(d.pairs, [], name)
    t.match(d.gaps[0]?.why, why, name)
  }
})

t.test('record addresses come from the delegate result of any CNI version, prefix stripped', async t => {
  t.same(resultIps({ cniVersion: '1.0.0', ips: [{ address: '10.1.2.3/24' }, { address: 'fd00::3/64' }] }), ['10.1.2.3', 'fd00::3'])
  t.same(resultIps({ cniVersion: '0.3.1', ips: [{ version: '4', address: '10.0.0.9/16' }] }), ['10.0.0.9'])
  t.same(resultIps(undefined), [])
  t.same(resultIps({ ips: 'x' }), [])
  t.same(attachmentsOf([{ pod: null, attachments: [] } as never]), [], 'records without a pod are not pods')
})

t.test('iperf3 runs without a shell, with -t/-O, JSON output and a connect timeout', async t => {
  t.same(iperf3Argv({ netnsPath: '/x', host: '10.0.0.2', port: 5201, durationSeconds: 2, omitSeconds: 1, timeoutMs: 9000 }),
    ['iperf3', '-c', '10.0.0.2', '-p', '5201', '-t', '2', '-O', '1', '-J', '--connect-timeout', '3000'])
})

t.test('started with no probe pairs, the collector reports one successful round (the agent becomes ready) and stops cleanly', async t => {
  const pods: KubeCache<PodObject> = { list: () => [pod('lonely', 'p', 'n1')], synced: true, lastError: undefined, start: async () => {}, stop: async () => {} }
  const c = createProbesCollector({
    node: 'n1', plugins: ['p'], podLabel: LABEL, port: 5201,
    iperf3: { intervalMs: 60_000, durationSeconds: 1, omitSeconds: 0, timeoutMs: 5000, jitterRatio: 0.2 },
    rtt: { intervalMs: 100, count: 1, connectTimeoutMs: 100 },
    budget: { maxBytes: 1e9, windowMs: 3_600_000 }, samples: 5,
    records: new AttachmentRecordsSource({ stateDir: tempDir(t, 'nr-probes-empty') }),
    probePods: async () => pods,
  })
  let successes = 0
  const errors: unknown[] = []
  c.start({ node: 'n1', now: Date.now, emit: () => 0, reportSuccess: () => { successes++ }, reportError: (_n, e) => { errors.push(e) } })
  for (let i = 0; i < 100 && successes === 0; i++) await sleep(20)
  t.equal(successes, 1)
  t.same(errors, [])
  await c.stop()
  t.same(c.report().discovery?.gaps, [{ plugin: 'p', why: 'no attachment record with an address on p for the probe pod(s) on n1 (lonely)' }])
  t.same(c.report().runs, [], 'nothing was probed')
})

t.test('a probe pod watch that never listed is a discovery error, not a crash', async t => {
  const pods: KubeCache<PodObject> = { list: () => [], synced: false, lastError: 'connect ECONNREFUSED 127.0.0.1:6443', start: async () => {}, stop: async () => {} }
  const c = createProbesCollector({
    node: 'n1', plugins: ['p'], podLabel: LABEL, port: 5201,
    iperf3: { intervalMs: 60_000, durationSeconds: 1, omitSeconds: 0, timeoutMs: 5000, jitterRatio: 0 },
    rtt: { intervalMs: 10_000, count: 1, connectTimeoutMs: 100 },
    budget: { maxBytes: 1e9, windowMs: 3_600_000 }, samples: 5,
    records: new AttachmentRecordsSource({ stateDir: tempDir(t, 'nr-probes-down') }),
    probePods: async () => pods,
  })
  const errors: string[] = []
  await c.collectOnce({ node: 'n1', now: Date.now, emit: () => 0, reportSuccess: () => undefined, reportError: (_n, e) => { errors.push((e as Error).message) } })
  t.same(errors, ['probe pod discovery failed: probe pods not listed yet: connect ECONNREFUSED 127.0.0.1:6443'])
})

t.test('cordoned and NotReady nodes: which nodes unavailableNodes leaves out', async t => {
  const node = (name: string, o: { unschedulable?: boolean, ready?: string } = {}): NodeObject => ({
    metadata: { name },
    ...(o.unschedulable !== undefined ? { spec: { unschedulable: o.unschedulable } } : {}),
    ...(o.ready !== undefined ? { status: { conditions: [{ type: 'MemoryPressure', status: 'False' }, { type: 'Ready', status: o.ready }] } } : {}),
  })
  const out = unavailableNodes([node('ok', { ready: 'True' }), node('cordoned', { unschedulable: true, ready: 'True' }), node('down', { ready: 'False' }), node('silent', { ready: 'Unknown' }), node('fresh'), node('uncordoned', { unschedulable: false, ready: 'True' }), { metadata: {} }])
  t.same([...out].sort(), ['cordoned', 'down', 'silent'], 'cordoned, Ready False and Ready Unknown; a node without a Ready condition yet is not held against it')
})

t.test('probe pods on left-out nodes are no peers; when only they are left, the gap says so; this node\'s own pods always count', async t => {
  const status = (ip: string) => [{ name: 'default/fast', interface: 'eth0', ips: [ip] }]
  const pods = [
    pod('fast-n1', 'fast', 'n1'),
    pod('fast-n2', 'fast', 'n2', {}, status('10.9.0.2')),
    pod('fast-n3', 'fast', 'n3', {}, status('10.9.0.3')),
    pod('fast-n4', 'fast', 'n4', {}, status('10.9.0.4')),
  ]
  const base = { node: 'n1', podLabel: LABEL, plugins: ['fast'], pods, attachments: [rec('fast-n1', 'fast', '10.1.0.2')], peers: 3 }
  // over many hours (rings) no pair ever names a left-out node
  for (let h = 0; h < 48; h++) {
    const d = discoverProbePairs({ ...base, nowMs: h * 3_600_000, excludedNodes: new Set(['n3']) })
    if (d.pairs[0]?.peers.some((p) => p.node === 'n3') === true) { t.fail(`hour ${h}: a peer on cordoned n3`); return }
  }
  const d = discoverProbePairs({ ...base, nowMs: 0, excludedNodes: new Set(['n3']) })
  t.same(d.pairs[0]?.peers.map((p) => p.node).sort(), ['n2', 'n4'], 'the others remain peers')
  const none = discoverProbePairs({ ...base, nowMs: 0, excludedNodes: new Set(['n2', 'n3', 'n4']) })
  t.same(none.pairs, [])
  t.same(none.gaps, [{ plugin: 'fast', why: 'the other probe pods of fast are on cordoned or NotReady nodes (n2, n3, n4)' }])
  // this node cordoned: its own probe pods (the client, a local peer) still count
  const local = discoverProbePairs({ ...base, pods: [pods[0] as PodObject, pod('fast-n1b', 'fast', 'n1')], attachments: [rec('fast-n1', 'fast', '10.1.0.2'), rec('fast-n1b', 'fast', '10.1.0.3')], nowMs: 0, excludedNodes: new Set(['n1']) })
  t.equal(local.pairs[0]?.server.pod, 'fast-n1b')
})

t.test('the collector takes the left-out nodes from its node watch; a node list that is not there yet leaves none out and says so once', async t => {
  const status = (ip: string) => [{ name: 'default/fast', interface: 'eth0', ips: [ip] }]
  const pods = [pod('fast-n1', 'fast', 'n1'), pod('fast-n2', 'fast', 'n2', {}, status('10.9.0.2'))]
  const podCache: KubeCache<PodObject> = { list: () => pods, synced: true, lastError: undefined, start: async () => {}, stop: async () => {} }
  let nodes: NodeObject[] = [{ metadata: { name: 'n2' }, spec: { unschedulable: true } }]
  let synced = false
  const nodeCache: KubeCache<NodeObject> = { list: () => nodes, get synced () { return synced }, lastError: 'connection refused', start: async () => {}, stop: async () => {} }
  const records = { read: () => ({ atMs: 0, records: [], skipped: [], attachments: [rec('fast-n1', 'fast', '10.1.0.2')] }) } as unknown as AttachmentRecordsSource
  const servers: string[] = []
  const c = createProbesCollector({
    node: 'n1', plugins: ['fast'], podLabel: LABEL, port: 5201,
    iperf3: { intervalMs: 60_000, durationSeconds: 1, omitSeconds: 0, timeoutMs: 5000, jitterRatio: 0 },
    rtt: { intervalMs: 10_000, count: 1, connectTimeoutMs: 100 },
    budget: { maxBytes: 1, windowMs: 3_600_000 }, samples: 5, records, probePods: async () => podCache, nodes: async () => nodeCache,
    runners: {
      ping: async (o) => { servers.push(o.host); return { ok: true, rttSeconds: [0.0001], p50Seconds: 0.0001, p99Seconds: 0.0001, transmitted: 1, received: 1, missingBinary: false } },
      iperf3: async () => ({ result: 'error', bytes: 0, missingBinary: false, durationMs: 1, error: 'unused' }),
    },
  })
  const errors: string[] = []
  const ctx = { node: 'n1', now: () => 1000, emit: () => 0, reportSuccess: () => undefined, reportError: (_n: string, e: unknown) => { errors.push((e as Error).message) } }
  await c.collectOnce(ctx)
  await c.collectOnce(ctx)
  t.same(servers, ['10.9.0.2', '10.9.0.2'], 'not listed yet: n2 still probed')
  t.same(errors, ['cordoned/NotReady nodes cannot be left out of the probe peers: nodes not listed yet: connection refused'], 'said once')
  synced = true
  await c.collectOnce(ctx)
  t.equal(servers.length, 2, 'listed, n2 cordoned: no probe towards it')
  t.match(c.report().discovery?.gaps, [{ plugin: 'fast', why: /cordoned or NotReady nodes \(n2\)/ }])
  nodes = [{ metadata: { name: 'n2' }, spec: { unschedulable: false } }]
  await c.collectOnce(ctx)
  t.same(servers, ['10.9.0.2', '10.9.0.2', '10.9.0.2'], 'uncordoned: a peer again')
})
