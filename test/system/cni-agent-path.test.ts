// The shim's agent path (docs/cni-shim.md#two-paths) over real plugins, a real agent process
// and the Kubernetes API stand-in: explicit, default, smart and NAD pods planned by ONE call
// on the agent's unix socket, with no API request from the shim (the shim authenticates with
// a client certificate, the agent with a token: the stand-in tells them apart), the status
// patched by the agent; a stale uid refused with code 11; an agent that answers garbage, or
// is SIGSTOPped mid-call, sends the shim down the direct path within agent.timeoutMs. A failed
// ADD leaves one failure line in the stateDir, which the agent counts in
// netrank_shim_add_failures_total.
import t, { type Test } from 'tap'
import { existsSync, readFileSync, statSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { startKubeApiStandIn, type KubeApiStandIn } from '../../lab/stand-ins/kube-api-stand-in.js'
import { buildPaths } from '../../lab/lab-paths.js'
import { readRecord } from '../../contract/attachment-record.js'
import { failureFilePath, parseFailureLine } from '../../contract/shim-failure.js'
import { createNetns, skip, skipUnlessPlugins, skipUnlessRoot, tempDir, type Netns, type TestLike } from '../support/netns.js'
import { closedPortUrl, Stage, type ShimRun } from '../support/cni-harness.js'
import { runAgentProcess, startAgentProcess } from '../support/agent-process.js'

const NODE = 'nr-node'
let seq = 0
const cid = (): string => `nrap${process.pid}x${++seq}`

function netns (t: TestLike): Netns {
  const ns = createNetns('nrp')
  t.teardown(() => ns.remove())
  return ns
}

function podArgs (name: string, uid = `uid-${name}`): Record<string, string> {
  return { K8S_POD_NAMESPACE: 'default', K8S_POD_NAME: name, K8S_POD_INFRA_CONTAINER_ID: 'x', K8S_POD_UID: uid }
}

function putPod (k: KubeApiStandIn, name: string, annotations: Record<string, string>): void {
  k.putPod({ apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'default', uid: `uid-${name}`, annotations }, spec: { nodeName: NODE } })
}

function ok (t: Test, r: ShimRun, what: string): void {
  t.equal(r.code, 0, `${what} exits 0 ${r.code === 0 ? '' : r.stdout + r.stderr}`)
}

/** The shim's own API requests (client-certificate auth) since `from`. */
const shimRequests = (k: KubeApiStandIn, from: number): string[] => k.requests.slice(from).filter((r) => r.auth === 'cert').map((r) => `${r.method} ${r.path}`)

async function until<T> (what: string, f: () => T | undefined, ms = 10_000): Promise<T> {
  const deadline = Date.now() + ms
  for (;;) {
    const v = f()
    if (v !== undefined) return v
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await sleep(50)
  }
}

function lastAddLog (s: Stage): Record<string, unknown> | undefined {
  return s.logLines().filter((l) => l.msg === 'ADD done').at(-1)
}

t.test('the agent path', async (t) => {
  if (skipUnlessRoot(t) || skipUnlessPlugins(t)) return
  if (!existsSync(buildPaths().cli)) { skip(t, `needs the build (npm run build): missing ${buildPaths().cli}`); return }
  const dir = tempDir(t, 'nr-agent-path')
  const k = await startKubeApiStandIn({ dir: join(dir, 'kube') })
  t.teardown(() => k.close())
  const s = new Stage(t)
  const a = s.addBridgeNetwork('nr-a')
  const b = s.addBridgeNetwork('nr-b')
  // the agent reads the shim's records (status recovery) where the shim writes them
  const agent = await startAgentProcess(t, dir, { node: NODE, kubeconfig: k.kubeconfigPath, plugins: ['nr-a', 'nr-b'], extra: { cni: { stateDir: s.stateDir } } })
  const sock = statSync(agent.socket)
  t.equal(sock.mode & 0o777, 0o600, 'the agent socket is 0600')
  t.equal(statSync(join(dir, 'run')).mode & 0o777, 0o700, 'in a 0700 directory')
  // selector.url leads nowhere: a smart decision can only have come through the plan
  const conf = { kubeconfig: k.certKubeconfigPath, defaultPlugins: ['nr-b'], agent: { socket: agent.socket }, selector: { url: await closedPortUrl(), timeoutMs: 300 } }

  const cases: Array<{ pod: string, annotations: Record<string, string>, conf?: Record<string, unknown>, network: string, reason: string }> = [
    { pod: 'explicit', annotations: { cni: 'nr-a' }, network: 'nr-a', reason: 'explicit' },
    { pod: 'default', annotations: {}, network: 'nr-b', reason: 'default' },
    { pod: 'smart', annotations: { cni: '' }, network: 'nr-a', reason: 'smart' },
    { pod: 'smart-default', annotations: {}, conf: { defaultPlugins: [] }, network: 'nr-a', reason: 'smart' },
  ]
  for (const c of cases) {
    t.test(`${c.pod}: planned by the agent, no API request from the shim, status patched by the agent`, async (t) => {
      putPod(k, c.pod, c.annotations)
      await sleep(100)
      const ns = netns(t)
      const id = cid()
      const from = k.requests.length
      const add = await s.run('ADD', { containerId: id, netns: ns.path, args: podArgs(c.pod), conf: { ...conf, ...c.conf } })
      ok(t, add, 'ADD')
      const subnet = (c.network === 'nr-a' ? a : b).subnet
      const ip = ns.addresses().find((e) => e.ifname === 'eth0')?.addr_info?.find((x) => x.family === 'inet')?.local ?? ''
      t.ok(ip.startsWith(subnet.split('.').slice(0, 3).join('.') + '.'), `eth0 ${ip} is on ${c.network} (${subnet})`)
      const log = lastAddLog(s)
      t.equal(log?.path, 'agent', 'the ADD went the agent path')
      t.equal(readRecord(s.stateDir, id, 'eth0')?.reason, c.reason, `reason ${c.reason}`)
      const status = await until('the agent\'s status patch', () => k.getPod('default', c.pod)?.metadata.annotations?.['netrank.io/selection'])
      const selection = JSON.parse(status) as { plugins: string[], reason: string, decisionId: string }
      t.same(selection.plugins, [c.network], 'netrank.io/selection written by the agent')
      t.ok(k.getPod('default', c.pod)?.metadata.annotations?.['k8s.v1.cni.cncf.io/network-status']?.includes(ip), 'network-status carries the address')
      if (c.reason === 'smart') {
        const decisions = await (await fetch(`${agent.url}/v1/decisions?limit=1000`)).json() as { decisions: Array<{ decisionId: string, pod: string }> }
        t.ok(decisions.decisions.some((d) => d.decisionId === selection.decisionId && d.pod === c.pod), `the decision ${selection.decisionId} is in the agent's audit`)
      }
      t.same(shimRequests(k, from), [], 'the shim itself made no API request')
      const del = await s.run('DEL', { containerId: id, netns: ns.path, args: podArgs(c.pod), conf })
      ok(t, del, 'DEL')
      t.equal(readRecord(s.stateDir, id, 'eth0'), undefined, 'record removed')
    })
  }

  t.test('NAD: the NAD object comes with the plan; net1 on its network', async (t) => {
    const nadNet = { cniVersion: '1.0.0', name: 'nr-nadnet', plugins: [{ type: 'bridge', bridge: `nrn${process.pid % 10000}`, ipam: { type: 'host-local', subnet: '10.251.7.0/24', dataDir: s.dataDir } }] }
    s.bridges.push(nadNet.plugins[0]?.bridge ?? '')
    k.putNad('default', 'blue', { spec: { config: JSON.stringify(nadNet) } })
    putPod(k, 'nad', { 'k8s.v1.cni.cncf.io/networks': 'blue' })
    await sleep(100)
    const ns = netns(t)
    const id = cid()
    const from = k.requests.length
    const add = await s.run('ADD', { containerId: id, netns: ns.path, args: podArgs('nad'), conf })
    ok(t, add, 'ADD')
    t.ok(ns.addresses().find((e) => e.ifname === 'net1')?.addr_info?.some((x) => x.local.startsWith('10.251.7.')), 'net1 from the NAD\'s subnet')
    t.equal(lastAddLog(s)?.path, 'agent', 'the agent path')
    t.same(shimRequests(k, from), [], 'the shim made no API request (not even for the NAD)')
    ok(t, await s.run('DEL', { containerId: id, netns: ns.path, args: podArgs('nad'), conf }), 'DEL')
  })

  t.test('a stale uid through the agent path: code 11, nothing attached, one failure line the agent counts', async (t) => {
    putPod(k, 'web-0', { cni: 'nr-a' })
    await sleep(100)
    const ns = netns(t)
    const id = cid()
    const series = 'netrank_shim_add_failures_total{node="nr-node",code="11",error="NR_CNI_POD_UID_MISMATCH"}'
    const counted = async (): Promise<number | undefined> => {
      const body = await (await fetch(`${agent.url}/metrics`)).text()
      const line = body.split('\n').find((l) => l.startsWith(series + ' '))
      return line === undefined ? undefined : Number(line.slice(series.length + 1))
    }
    const before = await counted()
    t.equal(before, 0, 'the series shows at 0 before the first failure')
    const lines = (): string[] => existsSync(failureFilePath(s.stateDir)) ? readFileSync(failureFilePath(s.stateDir), 'utf8').split('\n').filter((l) => l !== '') : []
    const linesBefore = lines().length
    const add = await s.run('ADD', { containerId: id, netns: ns.path, args: podArgs('web-0', 'uid-of-the-deleted-web-0'), conf })
    t.equal(add.code, 1, 'ADD fails')
    t.equal(add.json?.code, 11, 'code 11 (try again later)')
    t.match(String(add.json?.details), /NR_CNI_POD_UID_MISMATCH/)
    t.equal(readRecord(s.stateDir, id, 'eth0'), undefined, 'no record')
    t.notOk(ns.addresses().some((e) => e.ifname === 'eth0'), 'no eth0')
    const added = lines().slice(linesBefore)
    t.equal(added.length, 1, 'one failure line')
    t.match(parseFailureLine(added[0] ?? ''), { command: 'ADD', code: 11, error: 'NR_CNI_POD_UID_MISMATCH', containerId: id, namespace: 'default', pod: 'web-0' })
    t.equal(statSync(failureFilePath(s.stateDir)).mode & 0o777, 0o600, 'the failure file is 0600')
    t.equal(await counted(), 1, 'the agent counts it at the next scrape')
    t.equal(await counted(), 1, 'once')
  })

  t.test('garbage on the socket: the direct path, the pod networked', async (t) => {
    const gsock = join(tempDir(t, 'nr-garbage'), 'agent.sock')
    const server: Server = createServer((_req, res) => { res.writeHead(200, { 'Content-Type': 'application/json' }); res.end('{"pod":"nonsense"}') })
    await new Promise<void>((resolve) => server.listen(gsock, resolve))
    t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())))
    putPod(k, 'garbled', { cni: 'nr-a' })
    const ns = netns(t)
    const id = cid()
    const from = k.requests.length
    const add = await s.run('ADD', { containerId: id, netns: ns.path, args: podArgs('garbled'), conf: { ...conf, agent: { socket: gsock } } })
    ok(t, add, 'ADD')
    const log = lastAddLog(s)
    t.equal(log?.path, 'direct', 'the direct path')
    t.match(String(log?.fallbackWhy), /^agent-garbage/, 'because the answer was garbage')
    t.ok(shimRequests(k, from).includes('GET /api/v1/namespaces/default/pods/garbled'), 'the shim read the pod itself')
    t.ok(k.getPod('default', 'garbled')?.metadata.annotations?.['netrank.io/selection'] !== undefined, 'and patched its status itself')
    ok(t, await s.run('DEL', { containerId: id, netns: ns.path, args: podArgs('garbled'), conf }), 'DEL')
  })

  t.test('the agent SIGSTOPped mid-call: the direct path within agent.timeoutMs, the pod networked', async (t) => {
    putPod(k, 'stopped', { cni: 'nr-a' })
    await sleep(100)
    agent.child.kill('SIGSTOP')
    t.teardown(() => { agent.child.kill('SIGCONT') })
    const ns = netns(t)
    const id = cid()
    const from = k.requests.length
    const add = await s.run('ADD', { containerId: id, netns: ns.path, args: podArgs('stopped'), conf: { ...conf, agent: { socket: agent.socket, timeoutMs: 400 } } })
    ok(t, add, 'ADD')
    const log = lastAddLog(s)
    t.equal(log?.path, 'direct', 'the direct path')
    t.match(String(log?.fallbackWhy), /^agent-timeout: no answer within 400 ms/, 'after the agent timeout')
    t.ok(Number((log?.phases as Record<string, number> | undefined)?.podRead) >= 400, `the pod was read after the 400 ms timeout (${String((log?.phases as Record<string, number> | undefined)?.podRead)} ms)`)
    t.ok(shimRequests(k, from).length > 0, 'through the shim\'s own API requests')
    t.ok(v4addr(ns).startsWith(a.subnet.split('.').slice(0, 3).join('.') + '.'), 'eth0 on nr-a')
    agent.child.kill('SIGCONT')
    ok(t, await s.run('DEL', { containerId: id, netns: ns.path, args: podArgs('stopped'), conf }), 'DEL')
  })

  t.test('the agent killed before it patched a status: the restarted agent patches it from the record', async (t) => {
    putPod(k, 'orphaned', { cni: 'nr-a' })
    await sleep(200) // in the informer before the API goes bad
    k.setFault({ mode: 'error500' })
    t.teardown(() => k.setFault({ mode: 'none' }))
    const ns = netns(t)
    const id = cid()
    const add = await s.run('ADD', { containerId: id, netns: ns.path, args: podArgs('orphaned'), conf })
    ok(t, add, 'ADD (the agent answered the plan from its informer)')
    t.equal(lastAddLog(s)?.path, 'agent')
    const record = readRecord(s.stateDir, id, 'eth0')
    t.ok(record?.status?.['netrank.io/selection'] !== undefined, 'the record keeps the status it handed over')
    await sleep(300) // the agent's patch fails (500) and waits for its retry
    agent.child.kill('SIGKILL')
    await new Promise((resolve) => agent.child.once('exit', resolve))
    k.setFault({ mode: 'none' })
    t.equal(k.getPod('default', 'orphaned')?.metadata.annotations?.['netrank.io/selection'], undefined, 'not patched before the kill')
    await runAgentProcess(t, agent.configPath, agent.url, agent.socket)
    const status = await until('the restarted agent\'s patch', () => k.getPod('default', 'orphaned')?.metadata.annotations?.['netrank.io/selection'])
    t.equal(status, record?.status?.['netrank.io/selection'], 'the record\'s status, patched by the new agent')
    ok(t, await s.run('DEL', { containerId: id, netns: ns.path, args: podArgs('orphaned'), conf }), 'DEL')
  })
})

function v4addr (ns: Netns): string {
  return ns.addresses().find((e) => e.ifname === 'eth0')?.addr_info?.find((x) => x.family === 'inet')?.local ?? ''
}
