// Peer assignment that scales (issue 11 item 3): over 100 simulated nodes, one probe pod
// each, every node's agent works out its own peers from the same pod list (discoverProbePairs
// as the agent runs it); no server gets more than 3 clients, a node leaving changes few
// assignments, and the ring is shuffled every rotation.
import t from 'tap'
import type { PodObject } from '../../collectors/kube-watch.js'
import type { RecordedAttachment } from '../../collectors/attachment-records-source.js'
import { discoverProbePairs } from '../../collectors/probes/probe-pods.js'
import { ringPeers } from '../../collectors/probes/peer-ring.js'

const LABEL = 'netrank.io/probe'
const PLUGIN = 'flannel'
const ipOf = (i: number): string => `10.244.${Math.floor(i / 250)}.${(i % 250) + 2}`
const podOf = (i: number): PodObject => ({
  metadata: {
    namespace: 'netrank-probes', name: `probe-${PLUGIN}-${i.toString(36)}x`, labels: { [LABEL]: PLUGIN },
    annotations: { 'k8s.v1.cni.cncf.io/network-status': JSON.stringify([{ name: PLUGIN, interface: 'eth0', ips: [ipOf(i)] }]) },
  },
  spec: { nodeName: `node-${i}` },
  status: { phase: 'Running' },
})
const recordOf = (i: number): RecordedAttachment => ({
  namespace: 'netrank-probes', pod: `probe-${PLUGIN}-${i.toString(36)}x`, podUid: undefined, containerId: `c${i}`,
  network: PLUGIN, ifname: 'eth0', netns: `/var/run/netns/p${i}`, ip: ipOf(i), state: 'added',
})

/** node → its k peers' pod names, as each node's agent computes them */
function assign (nodes: number[], nowMs: number): Map<number, string[]> {
  const pods = nodes.map(podOf)
  const out = new Map<number, string[]>()
  for (const i of nodes) {
    // each agent sees every probe pod, and only its own pod's attachment record
    const d = discoverProbePairs({ node: `node-${i}`, podLabel: LABEL, plugins: [PLUGIN], pods, attachments: [recordOf(i)], nowMs })
    const pair = d.pairs[0]
    if (pair === undefined) throw new Error(`node-${i}: ${d.gaps[0]?.why ?? 'no pair'}`)
    out.set(i, pair.peers.map((p) => p.pod))
  }
  return out
}

const clientsPerServer = (a: Map<number, string[]>): Map<string, number> => {
  const n = new Map<string, number>()
  for (const peers of a.values()) for (const p of peers) n.set(p, (n.get(p) ?? 0) + 1)
  return n
}

const nodes = Array.from({ length: 100 }, (_, i) => i)

t.test('100 nodes, k = 2: every node has 2 remote peers, no server has more than 3 clients', async (t) => {
  const a = assign(nodes, 0)
  for (const [i, peers] of a) {
    t.equal(peers.length, 2, `node-${i} has 2 peers`)
    t.notOk(peers.includes(podOf(i).metadata?.name ?? ''), `node-${i} does not probe itself`)
    t.equal(new Set(peers).size, 2, `node-${i}'s peers differ`)
  }
  const load = clientsPerServer(a)
  t.ok(Math.max(...load.values()) <= 3, `max clients per server ${Math.max(...load.values())}`)
  t.equal(load.size, 100, 'every probe pod serves someone (the load is spread, not one first-named pod)')
  // the same pod list gives the same assignment on every run (every agent agrees)
  t.same(assign(nodes, 59_000), a, 'deterministic within the rotation')
})

t.test('one node leaving changes few assignments', async (t) => {
  const before = assign(nodes, 0)
  const gone = 37
  const after = assign(nodes.filter((i) => i !== gone), 0)
  let changedNodes = 0
  let changedPeers = 0
  for (const [i, peers] of after) {
    const old = before.get(i) ?? []
    const diff = peers.filter((p) => !old.includes(p)).length
    if (diff > 0) changedNodes++
    changedPeers += diff
  }
  t.ok(changedNodes <= 2, `${changedNodes} of 99 nodes changed a peer (those that had node-${gone} as one)`)
  t.ok(changedPeers <= 2, `${changedPeers} peer slot(s) changed`)
  t.ok(Math.max(...clientsPerServer(after).values()) <= 3, 'still at most 3 clients per server')
})

t.test('the ring is shuffled every rotation (one hour by default)', async (t) => {
  const h0 = assign(nodes, 0)
  const h1 = assign(nodes, 3_600_000)
  let same = 0
  for (const [i, peers] of h1) if (peers.join() === (h0.get(i) ?? []).join()) same++
  t.ok(same < 10, `${same} of 100 nodes kept both peers across the rotation`)
  t.ok(Math.max(...clientsPerServer(h1).values()) <= 3, 'the new ring is as balanced')
})

t.test('a probe pod without an address is not a peer; the others still are', async (t) => {
  const pods = [podOf(1), podOf(2), { ...podOf(3), metadata: { ...podOf(3).metadata, annotations: {} } }]
  const d = discoverProbePairs({ node: 'node-1', podLabel: LABEL, plugins: [PLUGIN], pods, attachments: [recordOf(1)], nowMs: 0 })
  t.same(d.pairs[0]?.peers.map((p) => p.pod), [podOf(2).metadata?.name], 'only the addressed pod, one peer instead of two')
})

t.test('ringPeers refuses a self that is not on the ring', async (t) => {
  t.throws(() => ringPeers([{ key: 'a', node: 'n1' }], { key: 'b', node: 'n2' }, { plugin: 'p', epoch: 0, k: 2 }), /b is not on the ring of p/)
})
