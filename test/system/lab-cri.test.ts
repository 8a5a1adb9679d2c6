// A real container runtime in the loop: the lab's containerd (Debian's 1.6 + runc) runs CRI pod
// sandboxes through the node's first CNI conf — netrank-cni — exactly as on a node. Each case
// asks the CRI itself (RunPodSandbox with the kubelet's metadata) for a pod object that is not
// bound to the lab node (so the lab kubelet leaves it alone), then checks the kernel: the
// sandbox netns' interfaces and addresses, the host-local reservations, the error text.
// Then the lab kubelet's own flow (lab pod add, kubectl apply), a containerd restart with
// sandboxes running, and the `cri` traffic source against iperf3's own figure.
import t from 'tap'
import type { Test } from 'tap'
import { execFile, execFileSync } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { CriClient, CriError } from '../../collectors/cri/cri-client.js'
import { criCounters } from '../../collectors/traffic/cri-stats.js'
import { readAttachmentRecords } from '../../contract/attachment-record.js'
import { netnsPathOf } from '../../lab/lab-kubelet.js'
import { kubeRequest } from '../../lab/lab-kube-client.js'
import type { LabStatus } from '../../lab/lab-status.js'
import { assertLabClean, LAB_BUILD, labCli, labLogTail, labStatusJson, netnsNames } from '../support/lab-cli.js'
import { withLabLock } from '../support/lab-lock.js'
import { cniPluginDir, hostLocalAllocations, skip, skipUnlessRoot } from '../support/netns.js'

const BRIDGES = ['nrbr-fast', 'nrbr-wide', 'nrbr-capped', 'nrbr-small']
const SUBNET: Record<string, string> = { 'bridge-fast': '10.66.1.', 'bridge-wide': '10.66.4.', 'bridge-capped': '10.66.2.', 'bridge-small': '10.66.3.' }

t.setTimeout(15 * 60_000)

function has (cmd: string, args = ['--version']): boolean {
  try { execFileSync(cmd, args, { stdio: 'ignore' }); return true } catch { return false }
}

/** `ip -4 -o addr` inside a netns (by path) → ifname → addresses. */
function addrsIn (netnsPath: string): Map<string, string[]> {
  const out = execFileSync('nsenter', [`--net=${netnsPath}`, '--', 'ip', '-4', '-o', 'addr', 'show'], { encoding: 'utf8' })
  const m = new Map<string, string[]>()
  for (const l of out.split('\n')) {
    const f = l.trim().split(/\s+/)
    if (f.length < 4 || f[1] === 'lo') continue
    const name = f[1] ?? ''
    m.set(name, [...(m.get(name) ?? []), (f[3] ?? '').split('/')[0] ?? ''])
  }
  return m
}

interface Ctx { dir: string, st: LabStatus, cri: CriClient, kubeconfig: string }

async function putPodObject (c: Ctx, name: string, annotations: Record<string, string> | undefined): Promise<string> {
  const uid = `uid-${name}-${process.pid}`
  const body = { apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'default', uid, ...(annotations === undefined ? {} : { annotations }) }, spec: { nodeName: 'not-the-lab-node' } }
  const r = await kubeRequest(c.kubeconfig, 'POST', '/api/v1/namespaces/default/pods', body)
  if (r.status !== 201 && r.status !== 200) throw new Error(`creating ${name}: HTTP ${r.status} ${JSON.stringify(r.body)}`)
  return uid
}

const reservations = (c: Ctx): string[] => hostLocalAllocations(c.st.hostLocalDataDir).map((a) => `${a.network}:${a.ip}`).sort()

t.test('containerd\'s CRI runs pod sandboxes through netrank-cni', async (t) => {
  if (skipUnlessRoot(t)) return
  if (cniPluginDir() === undefined) { skip(t, 'needs the CNI plugins (apt-get install containernetworking-plugins)'); return }
  if (!has('containerd') || !has('runc')) { skip(t, 'needs containerd and runc (apt-get install containerd runc)'); return }
  const missing = LAB_BUILD.filter((p) => !existsSync(p))
  if (missing.length > 0) { skip(t, `needs the build (npm run build): missing ${missing.join(', ')}`); return }
  await withLabLock(t)

  const dir = mkdtempSync(join(tmpdir(), 'nr-cri-'))
  t.teardown(async () => { await labCli(dir, ['down']); rmSync(dir, { recursive: true, force: true }) })
  const up = await labCli(dir, ['up'])
  if (up.code !== 0) { t.fail(`lab up failed (exit ${up.code}):\n${up.stdout}\n${up.stderr}\n${labLogTail(dir, 'containerd.log')}`); return }
  t.match(up.stderr + up.stdout, /containerd containerd 1\.\d+.* \(CRI v1\)/, 'up names the runtime it started')
  const st = await labStatusJson(dir)
  if (st.criSocket === null || st.kubeconfig === null) { t.fail('status has no CRI socket or kubeconfig'); return }
  const cri = new CriClient(st.criSocket, { timeoutMs: 10_000, runTimeoutMs: 60_000 })
  t.teardown(() => cri.close())
  const c: Ctx = { dir, st, cri, kubeconfig: st.kubeconfig }

  // the NAD of NAD mode: an empty config means the conf in net.d with its name
  const nad = await kubeRequest(c.kubeconfig, 'POST', '/apis/k8s.cni.cncf.io/v1/namespaces/default/network-attachment-definitions',
    { apiVersion: 'k8s.cni.cncf.io/v1', kind: 'NetworkAttachmentDefinition', metadata: { name: 'bridge-capped', namespace: 'default' }, spec: { config: '' } })
  t.ok(nad.status === 201 || nad.status === 200, `the NAD is created (HTTP ${nad.status})`)

  await t.test('RunPodSandbox for cni "a,b", cni "", no annotation and NAD mode: the interfaces, the first IP, and RemovePodSandbox releases every reservation', async (t) => {
    const cases: Array<{ name: string, annotations: Record<string, string> | undefined, want: (m: Map<string, string[]>) => string | undefined, reason: RegExp }> = [
      { name: 'cri-two', annotations: { cni: 'bridge-fast,bridge-capped' }, reason: /^explicit$/, want: (m) => (m.get('eth0')?.[0]?.startsWith(SUBNET['bridge-fast'] ?? '?') === true && m.get('eth1')?.[0]?.startsWith(SUBNET['bridge-capped'] ?? '?') === true && m.size === 2 ? undefined : 'eth0 on bridge-fast and eth1 on bridge-capped') },
      { name: 'cri-smart', annotations: { cni: '' }, reason: /^(smart|explore|fallback-.*)$/, want: (m) => (m.size === 1 && Object.values(SUBNET).some((p) => m.get('eth0')?.[0]?.startsWith(p) === true) ? undefined : 'one eth0 on a lab network') },
      { name: 'cri-none', annotations: undefined, reason: /^default$/, want: (m) => (m.size === 1 && m.get('eth0')?.[0]?.startsWith(SUBNET['bridge-fast'] ?? '?') === true ? undefined : 'eth0 on the default bridge-fast') },
      { name: 'cri-nad', annotations: { 'k8s.v1.cni.cncf.io/networks': 'bridge-capped' }, reason: /^explicit$/, want: (m) => (m.get('eth0')?.[0]?.startsWith(SUBNET['bridge-fast'] ?? '?') === true && m.get('net1')?.[0]?.startsWith(SUBNET['bridge-capped'] ?? '?') === true ? undefined : 'eth0 on bridge-fast, net1 on bridge-capped') },
    ]
    for (const k of cases) {
      const before = reservations(c)
      const uid = await putPodObject(c, k.name, k.annotations)
      const id = await cri.runPodSandbox({ metadata: { name: k.name, namespace: 'default', uid }, cgroupParent: `/nr-lab/pod${uid}` })
      t.match(id, /^[0-9a-f]{64}$/, `${k.name}: a sandbox id`)
      const status = await cri.podSandboxStatus(id, true)
      const ns = netnsPathOf(status)
      t.match(ns, /^\/var\/run\/netns\/cni-/, `${k.name}: containerd made the netns ${ns}`)
      const addrs = addrsIn(ns)
      t.equal(k.want(addrs), undefined, `${k.name}: ${JSON.stringify(Object.fromEntries(addrs))}`)
      t.equal(status.state, 'SANDBOX_READY')
      t.equal(status.ip, addrs.get('eth0')?.[0], `${k.name}: PodSandboxStatus reports the shim's first IP (eth0) ${status.ip}`)
      const record = readAttachmentRecords(st.stateDir).records.find((r) => r.containerId === id)
      t.ok(record !== undefined, `${k.name}: the shim recorded the attachment under the sandbox id`)
      t.match(record?.reason ?? '', k.reason, `${k.name}: reason ${record?.reason ?? '?'}`)
      t.equal(reservations(c).length - before.length, addrs.size, `${k.name}: one host-local reservation per interface`)
      await cri.stopPodSandbox(id)
      await cri.removePodSandbox(id)
      t.same(reservations(c), before, `${k.name}: RemovePodSandbox released every reservation`)
      t.notOk(existsSync(ns), `${k.name}: the netns is gone`)
      t.notOk(readAttachmentRecords(st.stateDir).records.some((r) => r.containerId === id), `${k.name}: the record is gone`)
      await kubeRequest(c.kubeconfig, 'DELETE', `/api/v1/namespaces/default/pods/${k.name}`)
    }
  })

  await t.test('a failing delegate surfaces in RunPodSandbox\'s error, and nothing is left behind', async (t) => {
    // ptp + host-local with a subnet host-local refuses: the delegate fails before it makes anything
    writeFileSync(join(st.confDir, '90-nr-broken.conflist'), JSON.stringify({ cniVersion: '1.0.0', name: 'nr-broken', plugins: [{ type: 'ptp', ipam: { type: 'host-local', ranges: [[{ subnet: '10.66.300.0/24' }]], dataDir: st.hostLocalDataDir } }] }))
    t.teardown(() => rmSync(join(st.confDir, '90-nr-broken.conflist'), { force: true }))
    const before = { res: reservations(c), netns: netnsNames() }
    const uid = await putPodObject(c, 'cri-broken', { cni: 'bridge-fast,nr-broken' })
    const err = await cri.runPodSandbox({ metadata: { name: 'cri-broken', namespace: 'default', uid } }).then(() => undefined, (e: unknown) => e)
    t.ok(err instanceof CriError, 'RunPodSandbox fails')
    t.match((err as Error).message, /RunPodSandbox .*failed to setup network for sandbox .*plugin type="netrank-cni" failed \(add\): delegate plugin failed: ptp ADD on eth1 failed .*invalid CIDR address: 10\.66\.300\.0\/24/s, `the delegate's own error is in the runtime's message: ${(err as Error).message}`)
    // containerd keeps the failed sandbox NOTREADY (its name reserved) until it is removed, as the kubelet does
    const left = await cri.listPodSandbox({ 'io.kubernetes.pod.uid': uid })
    for (const s of await cri.listPodSandbox()) if (s.metadata.uid === uid) { await cri.stopPodSandbox(s.id); await cri.removePodSandbox(s.id) }
    t.ok(left.length <= 1, 'at most the one failed sandbox')
    t.same(reservations(c), before.res, 'bridge-fast\'s address was released when the runtime cleaned up the failed ADD')
    t.same(netnsNames().filter((n) => !before.netns.includes(n)), [], 'no netns is left')

    // the lab kubelet's path: lab pod add reports the shim's CNI error with its code
    const add = await labCli(dir, ['pod', 'add', 'kubelet-broken', '--annotation', 'cni=nr-broken'])
    t.equal(add.code, 1)
    t.match(add.stderr, /CNI ADD of default\/kubelet-broken failed: CNI error \d+.*RunPodSandbox.*10\.66\.300\.0\/24/s, 'lab pod add prints the runtime\'s error with the shim\'s code')
    t.notOk((await labStatusJson(dir)).pods.some((p) => p.name === 'kubelet-broken'), 'the failed pod is not in the lab')
    t.same((await cri.listPodSandbox()).filter((s) => s.metadata.name === 'kubelet-broken'), [], 'and its sandbox is removed')
  })

  await t.test('containerd restarted with sandboxes running: they survive, and removal afterwards is still clean', async (t) => {
    const before = reservations(c)
    for (const n of ['keep-1', 'keep-2']) {
      const r = await labCli(dir, ['pod', 'add', n, '--annotation', 'cni=bridge-wide'])
      t.equal(r.code, 0, `${n} networked ${r.stderr}`)
    }
    const pods = (await labStatusJson(dir)).pods.filter((p) => p.name.startsWith('keep-'))
    const restart = await labCli(dir, ['runtime', 'restart'])
    t.equal(restart.code, 0, `lab runtime restart ${restart.stderr}`)
    t.match(restart.stdout, /containerd restarted \(pid \d+/)
    const after = await cri.listPodSandbox()
    for (const p of pods) {
      const s = after.find((x) => x.id === p.containerId)
      t.equal(s?.state, 'SANDBOX_READY', `${p.name}'s sandbox is still ready after the restart`)
      t.ok(existsSync(p.netnsPath), `${p.name}'s netns is still there`)
    }
    for (const p of pods) {
      const r = await labCli(dir, ['pod', 'del', p.name])
      t.equal(r.code, 0, `${p.name} deleted ${r.stderr}`)
      t.notOk(existsSync(p.netnsPath), `${p.name}: its netns is gone`)
    }
    t.same(reservations(c), before, 'every reservation of the two pods is released')
    t.same((await cri.listPodSandbox()).filter((s) => s.metadata.name.startsWith('keep-')), [], 'no sandbox of theirs is left')
  })

  await t.test('the cri source reports iperf3 traffic between two CRI pods within ±10% of iperf3\'s own figure', async (t) => {
    for (const n of ['flow-a', 'flow-b']) {
      const r = await labCli(dir, ['pod', 'add', n, '--annotation', 'cni=bridge-capped'])
      t.equal(r.code, 0, `${n} networked ${r.stderr}`)
    }
    const pods = (await labStatusJson(dir)).pods
    const a = pods.find((p) => p.name === 'flow-a')
    if (a === undefined) { t.fail('flow-a missing'); return }
    const sample = async (): Promise<{ tx: number, atMs: number }> => {
      const cs = criCounters(await cri.listPodSandboxStats(), Date.now()).counters.find((x) => x.sandboxId === a.containerId && x.interface === 'eth0')
      if (cs === undefined) throw new Error('no CRI counters for flow-a eth0')
      return { tx: cs.txBytes, atMs: cs.atMs }
    }
    const run = new Promise<{ bitsPerSecond: number, seconds: number }>((resolve, reject) => {
      execFile(process.execPath, [LAB_BUILD[0] ?? '', 'lab', 'traffic', '--from', 'flow-a', '--to', 'flow-b', '--seconds', '8', '--json', '--dir', dir], { encoding: 'utf8', timeout: 60_000 }, (err, stdout, stderr) => {
        if (err !== null) reject(new Error(`${err.message} ${stderr}`)); else resolve(JSON.parse(stdout) as { bitsPerSecond: number, seconds: number })
      })
    })
    await sleep(2_500) // past slow start and the server's start
    const s1 = await sample()
    await sleep(4_000)
    const s2 = await sample()
    const iperf = await run
    const criBps = (s2.tx - s1.tx) * 8 / ((s2.atMs - s1.atMs) / 1000)
    const ratio = criBps / iperf.bitsPerSecond
    t.comment(`iperf3 ${(iperf.bitsPerSecond / 1e6).toFixed(1)} Mbit/s; CRI tx of flow-a's eth0 ${(criBps / 1e6).toFixed(1)} Mbit/s over ${((s2.atMs - s1.atMs) / 1000).toFixed(2)} s (ratio ${ratio.toFixed(3)})`)
    t.ok(ratio > 0.9 && ratio < 1.1, `within ±10% of iperf3 (${ratio.toFixed(3)})`)

    // and through the agent: its cri source attributes the flow to bridge-capped by sandbox id
    const rank = await fetch(`${st.agentUrl ?? ''}/rank`).then(async (r) => await r.json() as { plugins: Array<{ plugin: string, kpis: Record<string, { value: number, source?: string } | undefined> }> })
    const capped = rank.plugins.find((p) => p.plugin === 'bridge-capped')
    t.ok((capped?.kpis.usageBps?.value ?? 0) > 0, `the agent reports usage on bridge-capped (${((capped?.kpis.usageBps?.value ?? 0) / 1e6).toFixed(1)} Mbit/s)`)
  })

  await t.test('kubectl apply of a pod bound to the lab node gives it an IP; kubectl delete frees it', async (t) => {
    if (!has('kubectl', ['version', '--client'])) { skip(t, 'needs kubectl (apt-get install kubernetes-client)'); return }
    const before = reservations(c)
    const yaml = join(dir, 'kubectl-pod.yaml')
    writeFileSync(yaml, ['apiVersion: v1', 'kind: Pod', 'metadata:', '  name: kubectl-web', '  annotations:', '    cni: bridge-small', 'spec:', '  nodeName: lab-node', '  containers:', '  - name: web', '    image: nginx', ''].join('\n'))
    const kc = (args: string[]): string => execFileSync('kubectl', ['--kubeconfig', c.kubeconfig, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 30_000 })
    t.match(kc(['apply', '-f', yaml]), /pod\/kubectl-web created/)
    let ip = ''
    for (let i = 0; i < 100 && ip === ''; i++) { ip = kc(['get', 'pod', 'kubectl-web', '-o', 'jsonpath={.status.podIP}']).trim(); if (ip === '') await sleep(100) }
    t.match(ip, /^10\.66\.3\.\d+$/, `status.podIP from PodSandboxStatus, on bridge-small: ${ip}`)
    t.match(kc(['get', 'pod', 'kubectl-web', '-o', 'wide']), new RegExp(`kubectl-web\\s.*${ip.replace(/\./g, '\\.')}\\s+lab-node`), 'kubectl get -o wide shows the IP and the node')
    t.equal(reservations(c).length, before.length + 1, 'one reservation taken')
    t.match(kc(['delete', 'pod', 'kubectl-web']), /pod "kubectl-web" deleted/)
    for (let i = 0; i < 100 && reservations(c).length !== before.length; i++) await sleep(100)
    t.same(reservations(c), before, 'the lab kubelet stopped the sandbox: the address is free')
    t.notOk((await labStatusJson(dir)).pods.some((p) => p.name === 'kubectl-web'), 'the pod is no longer in the lab')
  })

  await t.test('lab down removes every sandbox, shim, mount, netns and cgroup', async (t: Test) => {
    const before = await labStatusJson(dir)
    const down = await labCli(dir, ['down'])
    t.equal(down.code, 0, down.stderr)
    t.match(down.stderr + down.stdout, /stopped and removed \d+ sandbox\(es\) through containerd's CRI/)
    assertLabClean(t, dir, before, BRIDGES)
    t.same(netnsNames().filter((n) => before.pods.some((p) => p.netns === n)), [], 'no sandbox netns of the lab is left')
  })
})
