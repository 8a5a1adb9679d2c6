// netrank-cni over the real CNI plugins (bridge, ptp, host-local, tuning) in network
// namespaces this file creates, the Kubernetes API stand-in for pods and NADs, and a
// loopback stand-in for the agent: explicit, NAD, default and smart selection, agent and
// API failures, rollback, a shim killed mid-ADD, CHECK, STATUS, GC and result versions.
import t, { type Test } from 'tap'
import { spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { startKubeApiStandIn, type KubeApiStandIn } from '../../lab/stand-ins/kube-api-stand-in.js'
import { readRecord, recordPath } from '../../contract/attachment-record.js'
import { bridgePorts, createNetns, hostLocalReservations, skip, skipUnlessPlugins, skipUnlessRoot, tempDir, type Netns, type TestLike } from '../support/netns.js'
import { closedPortUrl, Stage, startAgent, type ShimRun } from '../support/cni-harness.js'

function netns (t: TestLike): Netns {
  const ns = createNetns('nrc')
  t.teardown(() => ns.remove())
  return ns
}

const inSubnet = (ip: string, subnet: string): boolean => ip.startsWith(subnet.split('.').slice(0, 3).join('.') + '.')

function v4 (ns: Netns, ifname: string): string[] {
  const e = ns.addresses().find((a) => a.ifname === ifname)
  return (e?.addr_info ?? []).filter((a) => a.family === 'inet').map((a) => a.local)
}

let seq = 0
const cid = (): string => `nrctr${process.pid}x${++seq}`

// one API stand-in for the whole file (its PKI takes several openssl runs); a test that
// sets a fault resets it in its teardown
let shared: KubeApiStandIn | undefined
async function api (t: TestLike): Promise<KubeApiStandIn> {
  if (shared === undefined) {
    const k = await startKubeApiStandIn({ dir: tempDir(top, 'nr-kube') })
    top.teardown(() => k.close())
    shared = k
  }
  const k = shared
  t.teardown(() => k.setFault({ mode: 'none' }))
  return k
}

function podArgs (name: string): Record<string, string> {
  return { K8S_POD_NAMESPACE: 'default', K8S_POD_NAME: name, K8S_POD_INFRA_CONTAINER_ID: 'x', K8S_POD_UID: `uid-${name}` }
}

function putPod (k: KubeApiStandIn, name: string, annotations: Record<string, string>): void {
  k.putPod({ apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'default', uid: `uid-${name}`, annotations } })
}

function annotation (k: KubeApiStandIn, pod: string, key: string): unknown {
  const v = k.getPod('default', pod)?.metadata.annotations?.[key]
  return v === undefined ? undefined : JSON.parse(v)
}

function ok (t: Test, r: ShimRun, what: string): void {
  t.equal(r.code, 0, `${what} exits 0 ${r.code === 0 ? '' : r.stdout + r.stderr}`)
}

const top = t
t.test('real plugins', async (t) => {
  if (skipUnlessRoot(t) || skipUnlessPlugins(t)) return

  t.test('one explicit network: eth0 gets an address from its subnet inside the netns; DEL releases everything', async (t) => {
    const s = new Stage(t)
    const k = await api(t)
    const a = s.addBridgeNetwork('nr-a')
    s.addBridgeNetwork('nr-other')
    putPod(k, 'p1', { cni: 'nr-a' })
    const ns = netns(t)
    const id = cid()
    const conf = { kubeconfig: k.kubeconfigPath, defaultPlugins: ['nr-other'] }
    const add = await s.run('ADD', { containerId: id, netns: ns.path, args: podArgs('p1'), conf })
    ok(t, add, 'ADD')
    const ips = v4(ns, 'eth0')
    t.equal(ips.length, 1)
    t.ok(inSubnet(ips[0] ?? '', a.subnet), `eth0 ${ips[0]} is in ${a.subnet}`)
    t.same(annotation(k, 'p1', 'netrank.io/selection'), { plugins: ['nr-a'], reason: 'explicit', decisionId: '' })
    const status = annotation(k, 'p1', 'k8s.v1.cni.cncf.io/network-status') as Array<Record<string, unknown>>
    t.equal(status.length, 1)
    t.match(status[0], { name: 'nr-a', interface: 'eth0', ips: [ips[0]], default: true })
    t.equal(annotation(k, 'p1', 'multi-ip-preferences'), undefined, 'no multi-ip-preferences for one interface')
    t.ok(existsSync(recordPath(s.stateDir, id, 'eth0')))
    t.equal(readRecord(s.stateDir, id, 'eth0')?.state, 'added')
    t.equal(bridgePorts(a.bridge ?? '').length, 1)
    const del = await s.run('DEL', { containerId: id, netns: ns.path, args: podArgs('p1'), conf })
    ok(t, del, 'DEL')
    t.same(hostLocalReservations(s.dataDir), [], 'no IP reserved')
    t.same(bridgePorts(a.bridge ?? ''), [], 'no host veth left')
    t.notOk(existsSync(recordPath(s.stateDir, id, 'eth0')), 'record removed')
    const again = await s.run('DEL', { containerId: id, netns: ns.path, args: podArgs('p1'), conf })
    ok(t, again, 'a second DEL (everything already gone)')
  })

  t.test('a sandbox of an older pod of the same name (recreated StatefulSet pod): code 11, nothing attached, the new pod untouched; a mirror pod is exempt', async (t) => {
    const s = new Stage(t)
    const k = await api(t)
    const a = s.addBridgeNetwork('nr-a')
    // the API's web-0 is the recreated one (uid-web-0); the runtime still sets up the old sandbox
    putPod(k, 'web-0', { cni: 'nr-a' })
    const ns = netns(t)
    const id = cid()
    const conf = { kubeconfig: k.kubeconfigPath }
    const stale = await s.run('ADD', { containerId: id, netns: ns.path, args: { ...podArgs('web-0'), K8S_POD_UID: 'uid-of-the-deleted-web-0' }, conf })
    t.equal(stale.json?.code, 11, `code 11 ${stale.stdout}`)
    t.match(String(stale.json?.details), /^NR_CNI_POD_UID_MISMATCH: the sandbox is for default\/web-0 uid uid-of-the-deleted-web-0, but the API's default\/web-0 is uid uid-web-0 \(the pod was recreated\); nothing was attached$/)
    t.same(v4(ns, 'eth0'), [], 'no interface')
    t.same(hostLocalReservations(s.dataDir), [], 'no address')
    t.notOk(existsSync(recordPath(s.stateDir, id, 'eth0')), 'no record')
    t.equal(k.getPod('default', 'web-0')?.metadata.annotations?.['k8s.v1.cni.cncf.io/network-status'], undefined, 'the new pod\'s network-status untouched')
    // a static pod's mirror carries its own uid in the API: not a mismatch
    k.putPod({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'etcd-n1', namespace: 'default', uid: 'mirror-uid', annotations: { cni: 'nr-a', 'kubernetes.io/config.mirror': 'static-hash' } } })
    const mirror = await s.run('ADD', { containerId: id, netns: ns.path, args: { ...podArgs('etcd-n1'), K8S_POD_UID: 'static-hash' }, conf })
    ok(t, mirror, 'ADD of a mirror pod\'s sandbox')
    t.equal(v4(ns, 'eth0').length, 1)
    ok(t, await s.run('DEL', { containerId: id, netns: ns.path, args: { ...podArgs('etcd-n1'), K8S_POD_UID: 'static-hash' }, conf }), 'DEL')
    t.same(bridgePorts(a.bridge ?? ''), [])
  })

  t.test('the status patch carries the sandbox\'s uid as precondition: a pod recreated between the GET and the PATCH keeps its own network-status', async (t) => {
    const k = await api(t)
    k.putPod({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web-1', namespace: 'default', uid: 'new-uid', annotations: {} } })
    const { KubeClient, loadKubeconfig } = await import('../../cni/kube-client.js')
    const client = await KubeClient.create(await loadKubeconfig(k.kubeconfigPath), { budgetMs: 2_000 })
    t.teardown(() => client.close())
    await t.rejects(client.patchPodAnnotations('default', 'web-1', { 'k8s.v1.cni.cncf.io/network-status': '[]' }, 'old-uid'), /409|Precondition failed/, 'refused for another uid')
    t.equal(k.getPod('default', 'web-1')?.metadata.annotations?.['k8s.v1.cni.cncf.io/network-status'], undefined)
    t.equal(await client.patchPodAnnotations('default', 'web-1', { x: 'y' }, 'new-uid'), 'patched', 'accepted for its own uid')
    t.equal(k.getPod('default', 'web-1')?.metadata.uid, 'new-uid')
  })

  t.test('two explicit networks (one @ifname): two interfaces, each in its subnet, merged result and multi-ip-preferences', async (t) => {
    const s = new Stage(t)
    const k = await api(t)
    const a = s.addBridgeNetwork('nr-a')
    const p = s.addPtpNetwork('nr-p')
    putPod(k, 'p2', { cni: 'nr-p@net7,nr-a' })
    const ns = netns(t)
    const id = cid()
    const conf = { kubeconfig: k.certKubeconfigPath }
    const add = await s.run('ADD', { containerId: id, netns: ns.path, args: podArgs('p2'), conf })
    ok(t, add, 'ADD')
    t.ok(inSubnet(v4(ns, 'net7')[0] ?? '', p.subnet), 'net7 is on the ptp network')
    t.ok(inSubnet(v4(ns, 'eth0')[0] ?? '', a.subnet), 'eth0 is on the bridge network (first auto name)')
    const r = add.json as { interfaces: Array<{ name: string, sandbox?: string }>, ips: Array<{ address: string, interface: number }> }
    t.equal(r.ips.length, 2)
    for (const ip of r.ips) {
      const iface = r.interfaces[ip.interface]
      t.ok(iface?.sandbox, `ip ${ip.address} points at a pod interface (${iface?.name})`)
      t.ok(inSubnet(ip.address, iface?.name === 'net7' ? p.subnet : a.subnet), `${ip.address} matches ${iface?.name}`)
    }
    const mip = annotation(k, 'p2', 'multi-ip-preferences') as { multi_entry: number, ips: Record<string, { ip: string, interface: string }> }
    t.equal(mip.multi_entry, 2)
    t.same(Object.values(mip.ips).map((e) => e.interface).sort(), ['eth0', 'net7'])
    ok(t, await s.run('DEL', { containerId: id, netns: ns.path, args: podArgs('p2'), conf }), 'DEL')
    t.same(hostLocalReservations(s.dataDir), [])
    t.same(bridgePorts(a.bridge ?? ''), [])
  })

  t.test('NAD names and JSON forms: eth0 is the default network, then net1 and a named interface', async (t) => {
    const s = new Stage(t)
    const k = await api(t)
    const def = s.addBridgeNetwork('nr-def')
    const byName = s.addPtpNetwork('nad-byname')
    const inlineSubnet = `10.${150 + (process.pid % 40)}.${seq % 250}.0/24`
    k.putNad('default', 'nad-byname', { spec: { config: '' } })
    k.putNad('other', 'nad-inline', { spec: { config: JSON.stringify({ cniVersion: '0.4.0', type: 'ptp', ipam: { type: 'host-local', subnet: inlineSubnet, dataDir: s.dataDir } }) } })
    // a NAD of another namespace: allowed only as a global namespace (namespace isolation is on by default)
    const conf = { kubeconfig: k.kubeconfigPath, defaultPlugins: ['nr-def'], nadGlobalNamespaces: ['default', 'other'] }
    const cases: Array<[string, string]> = [
      ['name form', 'nad-byname,other/nad-inline@blue'],
      ['JSON form', JSON.stringify([{ name: 'nad-byname' }, { name: 'nad-inline', namespace: 'other', interface: 'blue' }])],
    ]
    for (const [label, value] of cases) {
      const pod = `nad-${label.split(' ')[0]}`
      putPod(k, pod, { 'k8s.v1.cni.cncf.io/networks': value, cni: 'ignored-when-networks-is-set' })
      const ns = netns(t)
      const id = cid()
      const add = await s.run('ADD', { containerId: id, netns: ns.path, args: podArgs(pod), conf })
      ok(t, add, `${label} ADD`)
      t.ok(inSubnet(v4(ns, 'eth0')[0] ?? '', def.subnet), `${label}: eth0 on the default network`)
      t.ok(inSubnet(v4(ns, 'net1')[0] ?? '', byName.subnet), `${label}: net1 on nad-byname (conf found by the NAD's name)`)
      t.ok(inSubnet(v4(ns, 'blue')[0] ?? '', inlineSubnet), `${label}: blue on the inline NAD config`)
      const status = annotation(k, pod, 'k8s.v1.cni.cncf.io/network-status') as Array<{ name: string, interface: string }>
      t.same(status.map((e) => [e.name, e.interface]), [['nr-def', 'eth0'], ['default/nad-byname', 'net1'], ['other/nad-inline', 'blue']])
      ok(t, await s.run('DEL', { containerId: id, netns: ns.path, args: podArgs(pod), conf }), `${label} DEL`)
      t.same(hostLocalReservations(s.dataDir), [], `${label}: nothing reserved after DEL`)
    }
    putPod(k, 'nad-missing', { 'k8s.v1.cni.cncf.io/networks': 'nope' })
    const ns = netns(t)
    const bad = await s.run('ADD', { containerId: cid(), netns: ns.path, args: podArgs('nad-missing'), conf })
    t.equal(bad.json?.code, 107, 'a NAD that does not exist is code 107')
    t.same(hostLocalReservations(s.dataDir), [], 'and nothing was attached')
  })

  t.test('no cni annotation: the defaultPlugins, reason default', async (t) => {
    const s = new Stage(t)
    const k = await api(t)
    const d1 = s.addBridgeNetwork('nr-d1')
    s.addBridgeNetwork('nr-zz')
    putPod(k, 'p3', {})
    const agent = await startAgent(t, { kind: 'ok', plugins: ['nr-zz'] })
    const ns = netns(t)
    const id = cid()
    const conf = { kubeconfig: k.kubeconfigPath, defaultPlugins: ['nr-d1'], selector: { url: agent.url } }
    ok(t, await s.run('ADD', { containerId: id, netns: ns.path, args: podArgs('p3'), conf }), 'ADD')
    t.ok(inSubnet(v4(ns, 'eth0')[0] ?? '', d1.subnet))
    t.same(annotation(k, 'p3', 'netrank.io/selection'), { plugins: ['nr-d1'], reason: 'default', decisionId: '' })
    t.equal(agent.requests.length, 0, 'the agent is not asked')
    ok(t, await s.run('DEL', { containerId: id, netns: ns.path, args: podArgs('p3'), conf }), 'DEL')
    t.equal(agent.requests.length, 0, 'nor on DEL')
  })

  t.test('blank cni: the agent chooses; selection records smart and its decisionId', async (t) => {
    const s = new Stage(t)
    const k = await api(t)
    s.addBridgeNetwork('nr-d1')
    const b = s.addBridgeNetwork('nr-best')
    putPod(k, 'p4', { cni: '', 'netrank.io/profile': 'latency', 'netrank.io/expected-bandwidth': ' {"rx":"1G","tx":"100M"} ' })
    const agent = await startAgent(t, { kind: 'ok', plugins: ['nr-best'], decisionId: 'dec-42' })
    const ns = netns(t)
    const id = cid()
    const conf = { kubeconfig: k.kubeconfigPath, defaultPlugins: ['nr-d1'], selector: { url: agent.url, timeoutMs: 2000 } }
    ok(t, await s.run('ADD', { containerId: id, netns: ns.path, args: podArgs('p4'), conf }), 'ADD')
    t.ok(inSubnet(v4(ns, 'eth0')[0] ?? '', b.subnet), 'eth0 is on the network the agent chose')
    t.same(annotation(k, 'p4', 'netrank.io/selection'), { plugins: ['nr-best'], reason: 'smart', decisionId: 'dec-42' })
    t.equal(agent.requests.length, 1)
    t.match(agent.requests[0], { method: 'POST', path: '/v1/select', body: { namespace: 'default', pod: 'p4', podUid: 'uid-p4', containerId: id, ifname: 'eth0', profile: 'latency', expectedBandwidth: '{"rx":"1G","tx":"100M"}' } })
    for (const verb of ['CHECK', 'DEL']) {
      const r = await s.run(verb, { containerId: id, netns: ns.path, args: podArgs('p4'), conf: verb === 'CHECK' ? { ...conf, prevResult: undefined } : conf })
      ok(t, r, verb)
    }
    t.equal(agent.requests.length, 1, 'CHECK and DEL do not ask the agent')
    t.same(hostLocalReservations(s.dataDir), [])
  })

  t.test('agent down, slow, garbage or failing: the pod still gets the first default, reason fallback-<why>', async (t) => {
    const s = new Stage(t)
    const k = await api(t)
    const d = s.addBridgeNetwork('nr-d1')
    s.addBridgeNetwork('nr-best')
    const slow = await startAgent(t, { kind: 'slow', delayMs: 5000 })
    const garbage = await startAgent(t, { kind: 'garbage', body: '<html>oops' })
    const wrongShape = await startAgent(t, { kind: 'garbage', body: '{"plugins":[],"reason":1}' })
    // a flood: 2 MiB of "valid-looking" JSON; the shim reads at most 64 KiB of an answer
    const flood = await startAgent(t, { kind: 'garbage', body: `{"plugins":["nr-best"],"reason":"smart","decisionId":"${'x'.repeat(2 * 1024 * 1024)}"}` })
    const unknown = await startAgent(t, { kind: 'ok', plugins: ['no-such-net'] })
    const failing = await startAgent(t, { kind: 'error', status: 503 })
    const cases: Array<[string, string, string]> = [
      ['down', await closedPortUrl(), 'fallback-agent-down'],
      ['slow', slow.url, 'fallback-agent-timeout'],
      ['garbage', garbage.url, 'fallback-agent-garbage'],
      ['wrong shape', wrongShape.url, 'fallback-agent-garbage'],
      ['flood', flood.url, 'fallback-agent-garbage'],
      ['unknown network', unknown.url, 'fallback-unknown-network'],
      ['HTTP 503', failing.url, 'fallback-agent-error'],
    ]
    for (const [label, url, reason] of cases) {
      const pod = `fb-${label.replace(/\s/g, '')}`.toLowerCase()
      putPod(k, pod, { cni: ' ' })
      const ns = netns(t)
      const id = cid()
      // generous except for the slow agent, so a loaded machine cannot turn garbage into a timeout
      const conf = { kubeconfig: k.kubeconfigPath, defaultPlugins: ['nr-d1'], selector: { url, timeoutMs: label === 'slow' ? 300 : 3000 } }
      const add = await s.run('ADD', { containerId: id, netns: ns.path, args: podArgs(pod), conf })
      ok(t, add, `${label}: ADD`)
      t.ok(inSubnet(v4(ns, 'eth0')[0] ?? '', d.subnet), `${label}: on the first default`)
      t.same(annotation(k, pod, 'netrank.io/selection'), { plugins: ['nr-d1'], reason, decisionId: '' }, `${label}: ${reason}`)
      ok(t, await s.run('DEL', { containerId: id, netns: ns.path, args: podArgs(pod), conf }), `${label}: DEL`)
    }
    t.same(hostLocalReservations(s.dataDir), [])
  })

  t.test('API down on ADD: code 11 after about 2.5 s of retries, nothing attached; down on DEL: still cleans from the record', async (t) => {
    const s = new Stage(t)
    const k = await api(t)
    const a = s.addBridgeNetwork('nr-a')
    putPod(k, 'p5', { cni: 'nr-a' })
    const conf = { kubeconfig: k.kubeconfigPath }
    const ns = netns(t)
    k.setFault({ mode: 'refuse' })
    const before = k.requests.length
    const down = await s.run('ADD', { containerId: cid(), netns: ns.path, args: podArgs('p5'), conf })
    t.equal(down.json?.code, 11, 'code 11 try again later')
    t.ok(down.ms >= 2000, `retried through the ~2.5 s budget before giving up (${Math.round(down.ms)} ms)`)
    k.setFault({ mode: 'error500' })
    const e500 = await s.run('ADD', { containerId: cid(), netns: ns.path, args: podArgs('p5'), conf })
    t.equal(e500.json?.code, 11, 'HTTP 500 is retried then code 11')
    t.ok(k.requests.length - before >= 3, `several attempts reached the server (${k.requests.length - before})`)
    t.same(hostLocalReservations(s.dataDir), [], 'nothing attached')
    k.setFault({ mode: 'none' })
    const id = cid()
    ok(t, await s.run('ADD', { containerId: id, netns: ns.path, args: podArgs('p5'), conf }), 'ADD with the API up')
    t.equal(hostLocalReservations(s.dataDir).length, 1)
    k.setFault({ mode: 'refuse' })
    const del = await s.run('DEL', { containerId: id, netns: ns.path, args: podArgs('p5'), conf })
    ok(t, del, 'DEL with the API down')
    t.same(hostLocalReservations(s.dataDir), [], 'the IP is released')
    t.same(bridgePorts(a.bridge ?? ''), [])
  })

  t.test('the second delegate fails: the first is rolled back, zero addresses left in host-local dataDir', async (t) => {
    const s = new Stage(t)
    const k = await api(t)
    const a = s.addBridgeNetwork('nr-a')
    // a real bridge whose IPAM plugin does not exist: bridge creates the veth, then fails
    s.writeConf('30-nr-broken.conflist', { cniVersion: '1.0.0', name: 'nr-broken', plugins: [{ type: 'ptp', ipam: { type: 'nr-no-such-ipam' } }] })
    putPod(k, 'p6', { cni: 'nr-a,nr-broken' })
    const ns = netns(t)
    const id = cid()
    const add = await s.run('ADD', { containerId: id, netns: ns.path, args: podArgs('p6'), conf: { kubeconfig: k.kubeconfigPath } })
    t.equal(add.code, 1)
    t.equal(add.json?.code, 105, 'delegate failure code')
    t.match(String(add.json?.details), /ptp ADD on eth1 failed/)
    t.same(hostLocalReservations(s.dataDir), [], 'zero addresses reserved')
    t.same(bridgePorts(a.bridge ?? ''), [], 'no host veth left on the first network')
    t.same(v4(ns, 'eth0'), [], 'no eth0 left in the pod')
    t.notOk(existsSync(recordPath(s.stateDir, id, 'eth0')), 'no record left')
  })

  t.test('the shim SIGKILLed mid-ADD, then DEL: nothing leaked', async (t) => {
    const s = new Stage(t)
    const marker = join(s.dir, 'nrsleep-started')
    // a chained plugin that stalls ADD (after bridge+host-local did their work) and passes DEL
    s.addScriptPlugin('nrsleep', `cat >/dev/null\nif [ "$CNI_COMMAND" = ADD ]; then touch '${marker}'; sleep 30; fi\nexit 0`)
    const a = s.addBridgeNetwork('nr-slow', { extraPlugins: [{ type: 'nrsleep' }] })
    const ns = netns(t)
    const id = cid()
    const conf = { defaultPlugins: ['nr-slow'] }
    let killed = false
    const run = await s.run('ADD', {
      containerId: id,
      netns: ns.path,
      conf,
      onSpawn: (child) => {
        const poll = setInterval(() => {
          if (existsSync(marker)) { clearInterval(poll); killed = child.kill('SIGKILL') }
        }, 20)
      },
    })
    t.ok(killed && run.signal === 'SIGKILL', 'the shim died by SIGKILL mid-ADD')
    t.equal(hostLocalReservations(s.dataDir).length, 1, 'host-local had reserved an address')
    t.equal(readRecord(s.stateDir, id, 'eth0')?.state, 'planned', 'the plan was on disk before the delegates ran')
    ok(t, await s.run('DEL', { containerId: id, netns: ns.path, conf }), 'DEL')
    t.same(hostLocalReservations(s.dataDir), [], 'no IP files')
    t.same(bridgePorts(a.bridge ?? ''), [], 'no host veths')
    t.notOk(existsSync(recordPath(s.stateDir, id, 'eth0')))
  })

  t.test('CHECK passes on a healthy pod, fails when the interface is gone or the prevResult differs, and needs a record', async (t) => {
    const s = new Stage(t)
    s.addBridgeNetwork('nr-a')
    const ns = netns(t)
    const id = cid()
    const conf = { defaultPlugins: ['nr-a'] }
    const add = await s.run('ADD', { containerId: id, netns: ns.path, conf })
    ok(t, add, 'ADD')
    ok(t, await s.run('CHECK', { containerId: id, netns: ns.path, conf: { ...conf, prevResult: add.json } }), 'CHECK with the ADD result')
    const wrong = { ...add.json, ips: [{ address: '192.0.2.9/24' }] }
    const mismatch = await s.run('CHECK', { containerId: id, netns: ns.path, conf: { ...conf, prevResult: wrong } })
    t.equal(mismatch.json?.code, 111, 'prevResult without our address: code 111')
    await ns.exec('ip', ['link', 'delete', 'eth0'])
    const gone = await s.run('CHECK', { containerId: id, netns: ns.path, conf: { ...conf, prevResult: add.json } })
    t.equal(gone.json?.code, 111, 'interface deleted behind our back: code 111')
    t.match(String(gone.json?.details), /bridge/)
    const none = await s.run('CHECK', { containerId: 'nrnothere', netns: ns.path, conf })
    t.equal(none.json?.code, 115, 'no record: code 115')
    const old = await s.run('CHECK', { containerId: id, netns: ns.path, conf: { ...conf, cniVersion: '0.3.1' } })
    t.equal(old.json?.code, 1, 'CHECK with a 0.3.1 conf: code 1')
    ok(t, await s.run('DEL', { containerId: id, netns: ns.path, conf }), 'DEL')
    t.same(hostLocalReservations(s.dataDir), [])
  })

  t.test('an ADD repeated without DEL first cleans what the earlier ADD attached', async (t) => {
    const s = new Stage(t)
    const a = s.addBridgeNetwork('nr-a')
    const ns = netns(t)
    const id = cid()
    const conf = { defaultPlugins: ['nr-a'] }
    ok(t, await s.run('ADD', { containerId: id, netns: ns.path, conf }), 'first ADD')
    ok(t, await s.run('ADD', { containerId: id, netns: ns.path, conf }), 'second ADD')
    t.equal(hostLocalReservations(s.dataDir).length, 1, 'one address, not two')
    t.equal(bridgePorts(a.bridge ?? '').length, 1, 'one host veth, not two')
    ok(t, await s.run('DEL', { containerId: id, netns: ns.path, conf }), 'DEL')
    t.same(hostLocalReservations(s.dataDir), [])
  })

  t.test('the result comes back in the conf cniVersion whatever the delegate speaks', async (t) => {
    const s = new Stage(t)
    s.addBridgeNetwork('nr-v04', { cniVersion: '0.4.0' })
    s.addBridgeNetwork('nr-v10', { cniVersion: '1.0.0' })
    for (const version of ['0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0']) {
      const ns = netns(t)
      const id = cid()
      const conf = { cniVersion: version, defaultPlugins: ['nr-v04', 'nr-v10'] }
      const add = await s.run('ADD', { containerId: id, netns: ns.path, conf })
      ok(t, add, `${version} over a 0.4.0 and a 1.0.0 delegate: ADD`)
      t.equal(add.json?.cniVersion, version)
      const ips = add.json?.ips as Array<Record<string, unknown>>
      t.equal(ips.length, 2)
      for (const ip of ips) {
        if (version.startsWith('0.')) t.equal(ip.version, '4', `${version}: ips[].version present`)
        else t.notOk('version' in ip, `${version}: no ips[].version`)
      }
      ok(t, await s.run('DEL', { containerId: id, netns: ns.path, conf }), `${version}: DEL`)
    }
    t.same(hostLocalReservations(s.dataDir), [])
  })

  t.test('runtimeConfig reaches the first attachment only, filtered by capabilities', async (t) => {
    const s = new Stage(t)
    s.addBridgeNetwork('nr-a', { extraPlugins: [{ type: 'tuning', capabilities: { mac: true } }] })
    s.addBridgeNetwork('nr-b', { extraPlugins: [{ type: 'tuning', capabilities: { mac: true } }] })
    const ns = netns(t)
    const id = cid()
    const conf = { defaultPlugins: ['nr-a', 'nr-b'], runtimeConfig: { mac: '0a:58:0a:01:02:03' } }
    ok(t, await s.run('ADD', { containerId: id, netns: ns.path, conf }), 'ADD')
    const links = ns.addresses()
    t.equal(links.find((l) => l.ifname === 'eth0')?.address, '0a:58:0a:01:02:03', 'eth0 got the runtime MAC')
    t.not(links.find((l) => l.ifname === 'eth1')?.address, '0a:58:0a:01:02:03', 'eth1 did not')
    ok(t, await s.run('DEL', { containerId: id, netns: ns.path, conf }), 'DEL')
  })

  t.test('STATUS (1.1.0) is ready with a usable default network, code 50 otherwise; code 1 below 1.1.0', async (t) => {
    const s = new Stage(t)
    s.addBridgeNetwork('nr-a')
    ok(t, await s.run('STATUS', { containerId: '', conf: { cniVersion: '1.1.0', defaultPlugins: ['nr-a'] } }), 'ready')
    const missing = await s.run('STATUS', { containerId: '', conf: { cniVersion: '1.1.0', defaultPlugins: ['nr-gone'] } })
    t.equal(missing.json?.code, 50)
    t.match(String(missing.json?.details), /nr-gone/)
    const blocked = join(s.dir, 'blocked')
    writeFileSync(blocked, 'a file where the state dir should be')
    const noState = await s.run('STATUS', { containerId: '', conf: { cniVersion: '1.1.0', defaultPlugins: ['nr-a'], stateDir: blocked } })
    t.equal(noState.json?.code, 50)
    const old = await s.run('STATUS', { containerId: '', conf: { cniVersion: '1.0.0', defaultPlugins: ['nr-a'] } })
    t.equal(old.json?.code, 1)
  })

  t.test('GC (1.1.0) deletes attachments missing from cni.dev/valid-attachments and keeps the valid ones', async (t) => {
    const s = new Stage(t)
    const a = s.addBridgeNetwork('nr-a')
    const conf = { cniVersion: '1.1.0', defaultPlugins: ['nr-a'] }
    const keep = netns(t)
    const drop = netns(t)
    const keepId = cid()
    const dropId = cid()
    ok(t, await s.run('ADD', { containerId: keepId, netns: keep.path, conf }), 'ADD keep')
    ok(t, await s.run('ADD', { containerId: dropId, netns: drop.path, conf }), 'ADD drop')
    t.equal(hostLocalReservations(s.dataDir).length, 2)
    // a delegate network that speaks 1.1.0 gets a GC of its own (a script plugin: Debian's plugins stop at 1.0.0)
    const gcSeen = join(s.dir, 'gc-stdin.json')
    s.addScriptPlugin('nrgc', `cat > '${gcSeen}.'"$CNI_COMMAND"`)
    s.writeConf('50-nr-gc11.conflist', { cniVersion: '1.1.0', name: 'nr-gc11', plugins: [{ type: 'nrgc', marker: 1 }] })
    const gc = await s.run('GC', { containerId: '', conf: { ...conf, 'cni.dev/valid-attachments': [{ containerID: keepId, ifname: 'eth0' }] } })
    ok(t, gc, 'GC')
    t.same(JSON.parse(readFileSync(`${gcSeen}.GC`, 'utf8')), { type: 'nrgc', marker: 1, name: 'nr-gc11', cniVersion: '1.1.0', 'cni.dev/valid-attachments': [] },
      'the 1.1.0 delegate got GC with its (empty) list of valid attachments')
    t.equal(gc.stdout, '', 'GC prints nothing')
    t.ok(existsSync(recordPath(s.stateDir, keepId, 'eth0')), 'valid record kept')
    t.notOk(existsSync(recordPath(s.stateDir, dropId, 'eth0')), 'stale record removed')
    const left = hostLocalReservations(s.dataDir)
    t.equal(left.length, 1, 'the stale IP was released')
    t.same(v4(drop, 'eth0'), [], 'the stale interface is gone')
    t.equal(v4(keep, 'eth0').length, 1, 'the valid one is untouched')
    const noList = await s.run('GC', { containerId: '', conf })
    t.equal(noList.json?.code, 7, 'GC without valid-attachments: code 7')
    ok(t, await s.run('DEL', { containerId: keepId, netns: keep.path, conf }), 'DEL keep')
    t.same(bridgePorts(a.bridge ?? ''), [])
  })

  t.test('GC fails closed on an unreadable record: stale readable records are deleted, no delegate network is GC\'d, the error names the file', async (t) => {
    const s = new Stage(t)
    s.addBridgeNetwork('nr-a')
    const conf = { cniVersion: '1.1.0', defaultPlugins: ['nr-a'] }
    const drop = netns(t)
    const dropId = cid()
    ok(t, await s.run('ADD', { containerId: dropId, netns: drop.path, conf }), 'ADD drop')
    const gcSeen = join(s.dir, 'gc-closed.json')
    s.addScriptPlugin('nrgc', `cat > '${gcSeen}.'"$CNI_COMMAND"`)
    s.writeConf('50-nr-gc11.conflist', { cniVersion: '1.1.0', name: 'nr-gc11', plugins: [{ type: 'nrgc' }] })
    // a record this shim cannot read: a live pod's, for all GC knows
    writeFileSync(join(s.stateDir, 'attachments', 'nrlive@eth0.json'), '{"format": "netrank.io/attachment-record/v9", "containerId": "nrlive"')
    const gc = await s.run('GC', { containerId: '', conf: { ...conf, 'cni.dev/valid-attachments': [] } })
    t.equal(gc.json?.code, 5, `GC fails: code 5 ${gc.stdout}`)
    t.match(String(gc.json?.details), /unreadable attachment record\(s\) in .*: nrlive@eth0\.json; stale readable records were deleted, but no delegate network was GC'd/)
    t.notOk(existsSync(`${gcSeen}.GC`), 'the 1.1.0 delegate got no GC (its valid list would have lacked the unreadable record\'s attachments)')
    t.notOk(existsSync(recordPath(s.stateDir, dropId, 'eth0')), 'the readable stale record was still deleted')
    t.equal(hostLocalReservations(s.dataDir).length, 0, 'and its address released')
    t.ok(existsSync(join(s.stateDir, 'attachments', 'nrlive@eth0.json')), 'the unreadable record is left for an operator')
  })

  t.test('runtimeConfig is kept per attachment: DEL and CHECK give a chained plugin the portMappings its ADD got, even when the runtime sends none', async (t) => {
    const s = new Stage(t)
    const seen = join(s.dir, 'rc-stdin')
    // a chained plugin declaring the portMappings capability: records its stdin per verb, passes the prevResult on ADD
    s.addScriptPlugin('nrrc', `exec node -e 'let s="";process.stdin.on("data",(d)=>{s+=d}).on("end",()=>{require("fs").writeFileSync(process.argv[1]+"."+process.env.CNI_COMMAND,s);if(process.env.CNI_COMMAND==="ADD")process.stdout.write(JSON.stringify(JSON.parse(s).prevResult))})' '${seen}'`)
    const a = s.addBridgeNetwork('nr-rc', { extraPlugins: [{ type: 'nrrc', capabilities: { portMappings: true } }] })
    const ns = netns(t)
    const id = cid()
    const portMappings = [{ hostPort: 18080, containerPort: 80, protocol: 'tcp' }]
    ok(t, await s.run('ADD', { containerId: id, netns: ns.path, conf: { defaultPlugins: ['nr-rc'], runtimeConfig: { portMappings, bandwidth: { ingressRate: 1 } } } }), 'ADD')
    const got = (verb: string): unknown => (JSON.parse(readFileSync(`${seen}.${verb}`, 'utf8')) as { runtimeConfig?: unknown }).runtimeConfig
    t.same(got('ADD'), { portMappings }, 'ADD: the capability-filtered runtimeConfig (bandwidth is not its capability)')
    t.same(readRecord(s.stateDir, id, 'eth0')?.attachments[0]?.runtimeConfig, { portMappings, bandwidth: { ingressRate: 1 } }, 'the record keeps it')
    ok(t, await s.run('CHECK', { containerId: id, netns: ns.path, conf: { defaultPlugins: ['nr-rc'] } }), 'CHECK')
    t.same(got('CHECK'), { portMappings }, 'CHECK gets it from the record')
    ok(t, await s.run('DEL', { containerId: id, netns: ns.path, conf: { defaultPlugins: ['nr-rc'] } }), 'DEL (no runtimeConfig from the runtime)')
    t.same(got('DEL'), { portMappings }, 'DEL gets it from the record: portmap could remove its rules')
    t.same(bridgePorts(a.bridge ?? ''), [])
  })

  t.test('a hanging delegate is killed with its children at delegateTimeoutMs; the ADD fails with code 105 and rolls back; nothing is left', async (t) => {
    const s = new Stage(t)
    const pids = join(s.dir, 'hang-pids')
    // hangs on ADD with a child of its own (the shell's sleep), as a stuck plugin would
    s.addScriptPlugin('nrhang', `cat >/dev/null\nif [ "$CNI_COMMAND" = ADD ]; then sleep 300 & echo "$$ $!" > '${pids}'; wait; fi\nexit 0`)
    const a = s.addBridgeNetwork('nr-hang', { extraPlugins: [{ type: 'nrhang' }] })
    const ns = netns(t)
    const id = cid()
    const add = await s.run('ADD', { containerId: id, netns: ns.path, conf: { defaultPlugins: ['nr-hang'], delegateTimeoutMs: 1500 } })
    t.equal(add.json?.code, 105, `ADD fails: code 105 ${add.stdout}`)
    t.match(String(add.json?.details), /nrhang ADD on eth0 did not finish within 1500 ms \(delegateTimeoutMs\): killed with its process group/)
    const [sh, sleep] = readFileSync(pids, 'utf8').trim().split(' ').map(Number)
    // alive = exists and is not a zombie (an orphan waits for pid 1 to reap it)
    const alive = (pid: number | undefined): boolean => {
      try { return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid ?? 0}/stat`, 'utf8')) } catch { return false }
    }
    t.notOk(alive(sh), 'the plugin process is gone')
    t.notOk(alive(sleep), 'and its child too (the whole process group was killed)')
    t.notOk(existsSync(recordPath(s.stateDir, id, 'eth0')), 'rolled back: no record')
    t.equal(hostLocalReservations(s.dataDir).length, 0, 'no address held')
    t.same(bridgePorts(a.bridge ?? ''), [], 'no veth left')
    const bad = await s.run('ADD', { containerId: cid(), netns: ns.path, conf: { defaultPlugins: ['nr-hang'], delegateTimeoutMs: 5 } })
    t.equal(bad.json?.code, 7, 'a delegateTimeoutMs below 100 ms is a conf error')
  })

  t.test('real portmap chained: the hostPort DNAT rule exists after ADD and is gone after DEL and after GC, though neither gets runtimeConfig from the runtime', async (t) => {
    const tool = (bin: string): boolean => spawnSync(bin, ['--version'], { stdio: 'ignore' }).status === 0
    if (!tool('iptables-save') || !tool('nft')) { skip(t, 'needs iptables and nft (apt-get install iptables nftables)'); return }
    // portmap (through iptables-nft) creates nftables tables; remove the ones that were not there before
    const tables = (): string[] => spawnSync('nft', ['list', 'tables'], { encoding: 'utf8' }).stdout.split('\n').filter((l) => l.startsWith('table '))
    const before = new Set(tables())
    t.teardown(() => { for (const tb of tables()) if (!before.has(tb)) spawnSync('nft', ['delete', ...tb.split(' ')]) })
    const nat = (): string => spawnSync('iptables-save', ['-t', 'nat'], { encoding: 'utf8' }).stdout
    const s = new Stage(t)
    s.addBridgeNetwork('nr-pm', { extraPlugins: [{ type: 'portmap', capabilities: { portMappings: true } }] })
    const hostPort = 18_000 + (process.pid % 1000)
    const runtimeConfig = { portMappings: [{ hostPort, containerPort: 80, protocol: 'tcp' }] }
    const conf = { cniVersion: '1.1.0', defaultPlugins: ['nr-pm'] }
    const dport = new RegExp(`--dport ${hostPort}\\b.*DNAT|DNAT.*--dport ${hostPort}\\b|-p tcp -m tcp --dport ${hostPort} -j DNAT`)
    const ns = netns(t)
    const id = cid()
    ok(t, await s.run('ADD', { containerId: id, netns: ns.path, conf: { ...conf, runtimeConfig } }), 'ADD with portMappings')
    const ip = v4(ns, 'eth0')[0] ?? ''
    t.match(nat(), new RegExp(`--dport ${hostPort} -j DNAT --to-destination ${ip.replace(/\./g, '\\.')}:80`), `the hostPort DNAT to ${ip}:80 is in the nat table`)
    ok(t, await s.run('DEL', { containerId: id, netns: ns.path, conf }), 'DEL without runtimeConfig')
    t.notMatch(nat(), dport, 'the DNAT rule is gone: portmap got the portMappings from the record')
    // GC of a stale attachment: the same, with no runtime config at all
    const ns2 = netns(t)
    const id2 = cid()
    ok(t, await s.run('ADD', { containerId: id2, netns: ns2.path, conf: { ...conf, runtimeConfig } }), 'ADD again')
    t.match(nat(), dport)
    ok(t, await s.run('GC', { containerId: '', conf: { ...conf, 'cni.dev/valid-attachments': [] } }), 'GC')
    t.notMatch(nat(), dport, 'GC removed the stale attachment and its DNAT rule')
    t.same(hostLocalReservations(s.dataDir), [])
  })

  t.test('a delegate uninstalled between ADD and DEL: DEL succeeds, cleans what it can, and says what was dropped', async (t) => {
    const s = new Stage(t)
    s.addScriptPlugin('nrgone', 'exec node -e \'let s="";process.stdin.on("data",(d)=>{s+=d}).on("end",()=>{if(process.env.CNI_COMMAND==="ADD")process.stdout.write(JSON.stringify(JSON.parse(s).prevResult))})\'')
    const a = s.addBridgeNetwork('nr-gone', { extraPlugins: [{ type: 'nrgone' }] })
    const ns = netns(t)
    const id = cid()
    ok(t, await s.run('ADD', { containerId: id, netns: ns.path, conf: { defaultPlugins: ['nr-gone'] } }), 'ADD')
    t.equal(hostLocalReservations(s.dataDir).length, 1)
    rmSync(join(s.cniPath, 'nrgone'))
    const del = await s.run('DEL', { containerId: id, netns: ns.path, conf: { defaultPlugins: ['nr-gone'] } })
    ok(t, del, 'DEL succeeds: an uninstalled plugin never blocks pod deletion')
    t.notOk(existsSync(recordPath(s.stateDir, id, 'eth0')), 'the record is gone')
    t.equal(hostLocalReservations(s.dataDir).length, 0, 'the bridge plugin still ran: the address is released')
    t.same(bridgePorts(a.bridge ?? ''), [], 'and the veth removed')
    const said = s.logLines().find((l) => l.dropped === true)
    t.match(said, { plugin: 'nrgone', network: 'nr-gone', containerId: id, msg: /no longer installed; its part of the attachment cannot be cleaned up and is dropped/ }, 'the log names what was dropped')
  })

  t.test('DEL without a record rebuilds from the annotations when the pod is readable', async (t) => {
    const s = new Stage(t)
    const k = await api(t)
    s.addBridgeNetwork('nr-a')
    putPod(k, 'p7', { cni: 'nr-a' })
    const ns = netns(t)
    const id = cid()
    const conf = { kubeconfig: k.kubeconfigPath }
    ok(t, await s.run('ADD', { containerId: id, netns: ns.path, args: podArgs('p7'), conf }), 'ADD')
    mkdirSync(s.stateDir, { recursive: true })
    writeFileSync(recordPath(s.stateDir, id, 'eth0'), '') // lost record contents
    const broken = await s.run('DEL', { containerId: id, netns: ns.path, args: podArgs('p7'), conf })
    t.equal(broken.json?.code, 5, 'an unreadable record is an I/O failure (code 5), not silently ignored')
    const { rmSync } = await import('node:fs')
    rmSync(recordPath(s.stateDir, id, 'eth0'))
    ok(t, await s.run('DEL', { containerId: id, netns: ns.path, args: podArgs('p7'), conf }), 'DEL without record')
    t.same(hostLocalReservations(s.dataDir), [], 'released through the rebuilt plan')
  })
})
