// CNI-Genie's network isolation and its network policy engine, in the lab with real
// namespaces and nftables: logical networks net1–net4 on one shared physical network (a
// bridge of their own, nrbr-shared), a pod on each created with kubectl, and for each of
// the five scenarios of Genie's docs the measured reachability — ping and a TCP connect,
// both directions, between every pair of pods — equals the documented matrix.
import t from 'tap'
import type { Test } from 'tap'
import { execFile, execFileSync, spawn } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import type { PolicyState } from '../../agent/policy-engine.js'
import type { LabStatus } from '../../lab/lab-status.js'
import { assertLabClean, LAB_BUILD, labCli, labLogTail, labStatusJson, linkExists } from '../support/lab-cli.js'
import { withLabLock } from '../support/lab-lock.js'
import { cniPluginDir, hostLocalAllocations, skip, skipUnlessRoot } from '../support/netns.js'

t.setTimeout(15 * 60_000)

const BRIDGES = ['nrbr-fast', 'nrbr-wide', 'nrbr-capped', 'nrbr-small']
const SHARED = { conf: 'nr-shared', bridge: 'nrbr-shared', subnet: '10.68.0.0/24' }
const SUB: Record<string, string> = { net1: '10.68.0.16/28', net2: '10.68.0.32/28', net3: '10.68.0.48/28', net4: '10.68.0.64/28' }
const TCP_PORT = 7001

function has (cmd: string, args: string[]): boolean {
  try { execFileSync(cmd, args, { stdio: 'ignore' }); return true } catch { return false }
}

const inSub = (ip: string, cidr: string): boolean => {
  const [base = '', bits = '32'] = cidr.split('/')
  const n = (s: string): number => s.split('.').reduce((a, o) => a * 256 + Number(o), 0)
  const size = 2 ** (32 - Number(bits))
  return n(ip) >= n(base) && n(ip) < n(base) + size
}

async function run (cmd: string, args: string[], timeoutMs = 5_000): Promise<{ code: number, out: string }> {
  return await new Promise((resolve) => {
    execFile(cmd, args, { encoding: 'utf8', timeout: timeoutMs }, (err, stdout, stderr) => {
      resolve({ code: err === null ? 0 : typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1, out: stdout + stderr })
    })
  })
}

interface Pod { net: string, name: string, ip: string, netnsPath: string }

/** Can `a` reach `b`: one ping and one TCP connect, both must agree (else the test says so). */
async function reachable (a: Pod, b: Pod): Promise<{ ping: boolean, tcp: boolean }> {
  const [ping, tcp] = await Promise.all([
    run('nsenter', [`--net=${a.netnsPath}`, '--', 'ping', '-n', '-c', '1', '-W', '1', b.ip]),
    run('nsenter', [`--net=${a.netnsPath}`, '--', 'timeout', '1', 'bash', '-c', `exec 3<>/dev/tcp/${b.ip}/${TCP_PORT}`]),
  ])
  return { ping: ping.code === 0, tcp: tcp.code === 0 }
}

/** Measures every ordered pair; returns the unordered pairs that cannot talk, as "netA-netB" (a < b), and mismatches. */
async function measure (pods: Pod[]): Promise<{ denied: string[], notes: string[] }> {
  const notes: string[] = []
  const results = await Promise.all(pods.flatMap((a) => pods.filter((b) => b !== a).map(async (b) => ({ a, b, r: await reachable(a, b) }))))
  const pair = (x: string, y: string): string => (x < y ? `${x}-${y}` : `${y}-${x}`)
  const denied = new Set<string>()
  for (const { a, b, r } of results) {
    if (r.ping !== r.tcp) notes.push(`${a.net}→${b.net}: ping ${String(r.ping)} but tcp ${String(r.tcp)}`)
    if (!r.ping || !r.tcp) denied.add(pair(a.net, b.net))
  }
  // both directions must agree: Genie's matrix is symmetric
  for (const p of denied) {
    const both = results.filter((q) => pair(q.a.net, q.b.net) === p)
    if (both.some((q) => q.r.ping && q.r.tcp)) notes.push(`${p}: one direction works (${both.map((q) => `${q.a.net}→${q.b.net} ${String(q.r.ping && q.r.tcp)}`).join(', ')})`)
  }
  return { denied: [...denied].sort(), notes }
}

t.test('logical networks on a shared physical network, and Genie\'s five policy scenarios enforced with nftables', async (t) => {
  if (skipUnlessRoot(t)) return
  if (cniPluginDir() === undefined) { skip(t, 'needs the CNI plugins'); return }
  if (!has('kubectl', ['version', '--client']) || !has('nft', ['--version']) || !has('containerd', ['--version'])) { skip(t, 'needs kubectl, nft and containerd'); return }
  const missing = LAB_BUILD.filter((p) => !existsSync(p))
  if (missing.length > 0) { skip(t, `needs the build: missing ${missing.join(', ')}`); return }
  await withLabLock(t)

  const dir = mkdtempSync(join(tmpdir(), 'nr-iso-'))
  const servers: ChildProcess[] = []
  t.teardown(async () => {
    for (const s of servers) s.kill('SIGKILL')
    await labCli(dir, ['down'])
    if (linkExists(SHARED.bridge)) execFileSync('ip', ['link', 'del', SHARED.bridge])
    rmSync(dir, { recursive: true, force: true })
  })
  const up = await labCli(dir, ['up'])
  if (up.code !== 0) { t.fail(`lab up failed:\n${up.stderr}\n${labLogTail(dir, 'agent.log')}`); return }
  const st: LabStatus = await labStatusJson(dir)
  const kubeconfig = st.kubeconfig ?? ''
  const agentUrl = st.agentUrl ?? ''
  // the shared physical network: a bridge and pool of its own (no lab pod uses 10.68.0.0/24)
  writeFileSync(join(st.confDir, '90-nr-shared.conflist'), JSON.stringify({
    cniVersion: '1.0.0', name: SHARED.conf,
    plugins: [{ type: 'bridge', bridge: SHARED.bridge, isGateway: true, ipam: { type: 'host-local', ranges: [[{ subnet: SHARED.subnet }]], dataDir: st.hostLocalDataDir } }],
  }))

  const kubectl = async (args: string[], stdin?: string): Promise<{ code: number, out: string }> => await new Promise((resolve) => {
    const c = execFile('kubectl', ['--kubeconfig', kubeconfig, ...args], { encoding: 'utf8', timeout: 30_000 }, (err, stdout, stderr) => {
      resolve({ code: err === null ? 0 : 1, out: stdout + stderr })
    })
    c.stdin?.end(stdin ?? '')
  })
  const apply = async (t: Test, yaml: string, what: string): Promise<void> => {
    const r = await kubectl(['apply', '-f', '-'], yaml)
    t.equal(r.code, 0, `kubectl apply ${what}: ${r.out.trim()}`)
  }
  const logical = (name: string, sub: string): string => `apiVersion: alpha.network.k8s.io/v1\nkind: Logicalnetwork\nmetadata:\n  name: ${name}\n  namespace: default\nspec:\n  physicalNet: phy-shared\n  sub_subnet: "${sub}"\n`
  const podYaml = (name: string, net: string): string => `apiVersion: v1\nkind: Pod\nmetadata:\n  name: ${name}\n  namespace: default\n  annotations:\n    cni: ""\n    networks: ${net}\nspec:\n  nodeName: lab-node\n  containers:\n  - name: app\n    image: busybox\n`
  const policyYaml = (entries: Array<[string, string]>): string => [
    'apiVersion: networking.k8s.io/v1', 'kind: NetworkPolicy', 'metadata:', '  name: genie', '  namespace: default', '  annotations:', '    genieNetworkpolicy: |', '      [',
    ...entries.map(([sel, peers], i) => `        {\n          networkSelector: ${sel}\n          peerNetworks: ${peers}\n        }${i < entries.length - 1 ? ',' : ''}`),
    '      ]', 'spec:', '  podSelector: {}', '',
  ].join('\n')

  const pods: Pod[] = []
  const addPod = async (t: Test, net: string): Promise<void> => {
    const name = `iso-${net}`
    await apply(t, podYaml(name, net), `pod ${name}`)
    let ip = ''
    for (let i = 0; i < 150 && ip === ''; i++) {
      ip = (await kubectl(['get', 'pod', name, '-o', 'jsonpath={.status.podIP}'])).out.trim()
      if (ip === '') await sleep(100)
    }
    t.ok(inSub(ip, SUB[net] ?? ''), `${name}: its IP ${ip} lies in ${net}'s sub_subnet ${SUB[net] ?? ''}${ip === '' ? `\n${labLogTail(dir, 'kubelet.log', 4)}` : ''}`)
    const lab = (await labStatusJson(dir)).pods.find((p) => p.name === name)
    t.equal(lab?.interfaces[0]?.network, net, `${name}: its attachment names the logical network`)
    let status: Array<{ name: string }> = []
    for (let i = 0; i < 40 && status.length === 0; i++) {
      const obj = JSON.parse((await kubectl(['get', 'pod', name, '-o', 'json'])).out) as { metadata: { annotations?: Record<string, string> } }
      status = JSON.parse(obj.metadata.annotations?.['k8s.v1.cni.cncf.io/network-status'] ?? '[]') as Array<{ name: string }>
      if (status.length === 0) await sleep(50)
    }
    t.equal(status[0]?.name, net, 'network-status names the logical network')
    if (lab === undefined) return
    const server = spawn('nsenter', [`--net=${lab.netnsPath}`, '--', 'sockperf', 'server', '--tcp', '-p', String(TCP_PORT)], { stdio: 'ignore' })
    servers.push(server)
    pods.push({ net, name, ip, netnsPath: lab.netnsPath })
    await sleep(300)
  }

  /** Waits until the agent applied a matrix with these networks and these confinements, then measures. */
  const scenario = async (t: Test, what: string, networks: string[], confined: Record<string, string[]>, wantDenied: string[]): Promise<void> => {
    let last: PolicyState | undefined
    for (let i = 0; i < 100; i++) {
      last = await fetch(`${agentUrl}/v1/policy`).then(async (r) => await r.json() as PolicyState).catch(() => undefined)
      const m = last?.namespaces.find((x) => x.namespace === 'default')
      if (m !== undefined && JSON.stringify(m.networks) === JSON.stringify(networks) && JSON.stringify(m.confined) === JSON.stringify(confined)) break
      await sleep(200)
    }
    const m = last?.namespaces.find((x) => x.namespace === 'default')
    t.same({ networks: m?.networks, confined: m?.confined }, { networks, confined }, `${what}: the agent's matrix (/v1/policy)`)
    const got = await measure(pods)
    t.same(got.notes, [], `${what}: ping and TCP agree, both directions`)
    t.same(got.denied, wantDenied, `${what}: measured reachability = Genie's matrix (denied ${wantDenied.join(', ') || 'none'})`)
  }

  await t.test('the objects: a shared physical network, logical networks validated, bad ones rejected', async (t) => {
    await apply(t, `apiVersion: alpha.network.k8s.io/v1\nkind: Physicalnetwork\nmetadata:\n  name: phy-shared\n  namespace: default\nspec:\n  refer_nic: ${SHARED.bridge}\n  sharedStaus:\n    dedicatedNet: false\n    plugin: ${SHARED.conf}\n    subnet: "${SHARED.subnet}"\n`, 'the physical network (Genie\'s sharedStaus spelling)')
    await apply(t, logical('net1', SUB.net1 ?? '') + '---\n' + logical('net2', SUB.net2 ?? ''), 'net1, net2')
    await sleep(1_100) // creationTimestamp has whole seconds: the older network keeps its claim, so be older
    await apply(t, logical('net-overlap', '10.68.0.20/30') + '---\n' + logical('net-outside', '10.69.0.0/28'), 'two bad logical networks')
    let st: PolicyState | undefined
    for (let i = 0; i < 50; i++) {
      st = await fetch(`${agentUrl}/v1/policy`).then(async (r) => await r.json() as PolicyState).catch(() => undefined)
      if ((st?.networks.length ?? 0) >= 4) break
      await sleep(200)
    }
    const byName = (n: string) => st?.networks.find((x) => x.name === n)
    t.match(byName('net1'), { valid: true, subnet: SUB.net1, plugin: SHARED.conf })
    t.match(byName('net-overlap'), { valid: false, reason: /overlaps logical network net1/ }, 'an overlapping one is rejected')
    t.match(byName('net-outside'), { valid: false, reason: /does not fall under physical network phy-shared's subnet/ }, 'one outside the physical subnet is rejected')
    const cond = JSON.parse((await kubectl(['get', 'logicalnetworks', 'net-overlap', '-o', 'json'])).out) as { status?: { conditions?: Array<{ type: string, status: string, message: string }> } }
    t.match(cond.status?.conditions?.[0], { type: 'Valid', status: 'False', message: /overlaps/ }, 'the invalid object carries a Valid=False condition saying why')
    const bad = await labCli(dir, ['pod', 'add', 'iso-bad', '--annotation', 'cni=', '--annotation', 'networks=net-overlap'])
    t.equal(bad.code, 1)
    t.match(bad.stderr, /CNI error 118 \(NR_CNI_BAD_LOGICAL_NETWORK\).*overlaps logical network net1/s, 'a pod naming it fails ADD with code 118 and the reason')
    const none = await labCli(dir, ['pod', 'add', 'iso-none', '--annotation', 'cni=', '--annotation', 'networks=no-such-net'])
    t.match(none.stderr, /CNI error 117 \(NR_CNI_LOGICAL_NETWORK_NOT_FOUND\)/, 'a missing one is code 117')
    await kubectl(['delete', 'logicalnetwork', 'net-overlap', 'net-outside'])
    for (const net of ['net1', 'net2']) await addPod(t, net)
    const held = hostLocalAllocations(join(dir, 'ipam')).filter((a) => a.network === 'net1' || a.network === 'net2')
    t.equal(held.length, 2, 'host-local keeps each logical network\'s reservations under its own name')
  })

  await t.test('each logical network is a pool of its own slice, with its traffic: in /rank (unranked) and /metrics', async (t) => {
    type Unranked = { network: string, kpis: Record<string, { value: number } | undefined> }
    let net1: Unranked | undefined
    for (let i = 0; i < 60; i++) {
      const r = await fetch(`${agentUrl}/rank`).then(async (x) => await x.json() as { unranked?: Unranked[], plugins: Array<{ plugin: string }> })
      net1 = r.unranked?.find((u) => u.network === 'net1')
      t.notOk(r.plugins.some((p) => p.plugin === 'net1'), 'never ranked')
      if (net1?.kpis.ipUsed !== undefined && net1.kpis.rxBps !== undefined) break
      await sleep(250)
    }
    t.equal(net1?.kpis.ipUsed?.value, 1, 'net1: one address used (its pod)')
    t.equal(net1?.kpis.ipCapacity?.value, 16, 'net1: 16 addresses in its slice 10.68.0.16–31')
    t.ok(net1?.kpis.rxBps !== undefined && net1.kpis.txBps !== undefined, 'net1: its traffic is attributed to it (by the shim\'s records)')
    const metrics = await fetch(`${agentUrl}/metrics`).then(async (x) => await x.text())
    t.match(metrics, /netrank_ipam_allocated_ips\{node="lab-node",plugin="net1"\} 1\b/, '/metrics: net1\'s pool')
    t.match(metrics, /netrank_plugin_receive_bytes_per_second\{node="lab-node",plugin="net1"\} /, '/metrics: net1\'s traffic')
  })

  await t.test('4. net1 → peer net4 before net4 exists: net1 talks to nobody; once net4 exists, net1 ↔ net4 and net2 ↔ net4', async (t) => {
    await apply(t, policyYaml([['net1', 'net4']]), 'policy net1 → net4')
    await scenario(t, '4 (net4 missing)', ['net1', 'net2'], { net1: ['net4'] }, ['net1-net2'])
    await apply(t, logical('net3', SUB.net3 ?? '') + '---\n' + logical('net4', SUB.net4 ?? ''), 'net3, net4')
    for (const net of ['net3', 'net4']) await addPod(t, net)
    await scenario(t, '4 (net4 created)', ['net1', 'net2', 'net3', 'net4'], { net1: ['net4'] }, ['net1-net2', 'net1-net3'])
  })

  await t.test('1. no policy: every network talks to every network', async (t) => {
    const r = await kubectl(['delete', 'networkpolicy', 'genie'])
    t.equal(r.code, 0, r.out)
    await scenario(t, '1', ['net1', 'net2', 'net3', 'net4'], {}, [])
  })

  await t.test('2. net1 → net2: net1 ↔ net2 only; net2, net3, net4 with each other', async (t) => {
    await apply(t, policyYaml([['net1', 'net2']]), 'policy net1 → net2')
    await scenario(t, '2', ['net1', 'net2', 'net3', 'net4'], { net1: ['net2'] }, ['net1-net3', 'net1-net4'])
  })

  await t.test('3. two entries for net1 (net2, then net3): net1 ↔ net2 and net1 ↔ net3', async (t) => {
    await apply(t, policyYaml([['net1', 'net2'], ['net1', 'net3']]), 'policy net1 → net2; net1 → net3')
    await scenario(t, '3', ['net1', 'net2', 'net3', 'net4'], { net1: ['net2', 'net3'] }, ['net1-net4'])
  })

  await t.test('5. net1 → net2,net3 edited to net2: first as 3, then net1 ↔ net2 only', async (t) => {
    await apply(t, policyYaml([['net1', 'net2,net3']]), 'policy net1 → net2,net3')
    await scenario(t, '5 (before the edit)', ['net1', 'net2', 'net3', 'net4'], { net1: ['net2', 'net3'] }, ['net1-net4'])
    await apply(t, policyYaml([['net1', 'net2']]), 'the edit: net1 → net2')
    await scenario(t, '5 (after the edit)', ['net1', 'net2', 'net3', 'net4'], { net1: ['net2'] }, ['net1-net3', 'net1-net4'])
  })

  await t.test('an annotation that does not parse keeps the previous matrix; an agent restart keeps the rules', async (t) => {
    const before = await fetch(`${agentUrl}/v1/policy`).then(async (r) => await r.json() as PolicyState)
    const r = await kubectl(['annotate', '--overwrite', 'networkpolicy', 'genie', 'genieNetworkpolicy=[{networkSelector: net1, bogus: x}]'])
    t.equal(r.code, 0, r.out)
    let st: PolicyState | undefined
    for (let i = 0; i < 50; i++) {
      st = await fetch(`${agentUrl}/v1/policy`).then(async (x) => await x.json() as PolicyState)
      if (st?.policies[0]?.error !== undefined) break
      await sleep(200)
    }
    t.match(st?.policies[0], { name: 'genie', inForce: 'previous', error: /unknown key "bogus"/ }, 'the policy says why, and that its previous entries stay')
    t.equal(st?.rules.rulesetSha256, before.rules.rulesetSha256, 'the rules are unchanged')
    const events = JSON.parse((await kubectl(['get', 'events', '-o', 'json'])).out) as { items: Array<{ reason?: string, type?: string, message?: string, involvedObject?: { kind?: string, name?: string } }> }
    t.match(events.items.find((e) => e.reason === 'InvalidGenieNetworkpolicy'), { type: 'Warning', involvedObject: { kind: 'NetworkPolicy', name: 'genie' }, message: /does not parse: .*unknown key "bogus".*previous entries stay in force/ }, 'a Warning Event on the policy says why')
    t.same((await measure(pods)).denied, ['net1-net3', 'net1-net4'], 'and so is the reachability')
    const metrics = await fetch(`${agentUrl}/metrics`).then(async (x) => await x.text())
    t.match(metrics, /netrank_policy_annotation_errors_total\{node="lab-node"\} [1-9]/, 'the metric counts it')
    t.match(metrics, /netrank_policy_reconciles_total\{node="lab-node",result="applied"\} [1-9]/)

    const stop = await labCli(dir, ['agent', 'stop'])
    t.equal(stop.code, 0)
    t.match(execFileSync('nft', ['list', 'table', 'inet', 'netrank'], { encoding: 'utf8' }), /10\.68\.0\.16\/28.*drop/s, 'with the agent stopped the rules are still there')
    t.same((await measure(pods)).denied, ['net1-net3', 'net1-net4'], 'and still enforced')
    const start = await labCli(dir, ['agent', 'start'])
    t.equal(start.code, 0, start.stderr)
    let again: PolicyState | undefined
    for (let i = 0; i < 100; i++) {
      again = await fetch(`${agentUrl}/v1/policy`).then(async (x) => await x.json() as PolicyState).catch(() => undefined)
      if (again?.rules.rulesetSha256 !== undefined) break
      await sleep(200)
    }
    t.equal(again?.rules.rulesetSha256, before.rules.rulesetSha256, 'the restarted agent applies the same ruleset')
  })

  await t.test('lab down removes the netrank nftables tables and everything else', async (t) => {
    const before = await labStatusJson(dir)
    for (const s of servers) s.kill('SIGKILL')
    const down = await labCli(dir, ['down'])
    t.equal(down.code, 0, down.stderr)
    assertLabClean(t, dir, before, BRIDGES)
  })
})
