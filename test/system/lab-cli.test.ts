// The lab end to end, through its CLI only (test/support/lab-cli.ts runs it: `node
// dist/lab/cli-lab-main.js`, which is `netrank lab` until the command is registered in
// cli/main.ts, composed in bin/netrank.ts), as root with the real CNI plugins, the built shim and agent, and real
// iperf3. ONE lab per machine: the file holds the machine's lab lock (test/support/lab-lock.ts)
// while its lab is up, and the tests in it run in order.
import t from 'tap'
import { execFileSync, spawn } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import type { LabStatus } from '../../lab/lab-status.js'
import { assertLabClean, firstIp, LAB_BUILD, LAB_ENTRY, labCli, labLogTail, labStatusJson, netnsNames, pidAlive } from '../support/lab-cli.js'
import { withLabLock } from '../support/lab-lock.js'
import { cniPluginDir, hostLocalAllocations, skip, skipUnlessRoot, tempDir } from '../support/netns.js'

const SUBNETS: Record<string, string> = { 'bridge-fast': '10.66.1.', 'bridge-wide': '10.66.4.', 'bridge-capped': '10.66.2.', 'bridge-small': '10.66.3.' }
const BRIDGES = ['nrbr-fast', 'nrbr-wide', 'nrbr-capped', 'nrbr-small']

const lab = async (dir: string, ...args: string[]): ReturnType<typeof labCli> => await labCli(dir, args)
const status = labStatusJson

// up to 10 min waiting for another test file's lab, then ~1 min here
t.setTimeout(15 * 60_000)

t.test('the lab, end to end through its CLI', async (t) => {
  if (skipUnlessRoot(t)) return
  if (cniPluginDir() === undefined) { skip(t, 'needs the CNI plugins (apt-get install containernetworking-plugins)'); return }
  const missing = LAB_BUILD.filter((p) => !existsSync(p))
  if (missing.length > 0) { skip(t, `needs the build (npm run build): missing ${missing.join(', ')}`); return }
  await withLabLock(t)

  const dir = tempDir(t, 'nr-lab')
  // whatever happens below, the lab goes away with the test (registered after the temp dir:
  // tap runs teardowns last-registered first, so the lab is down before its dir is removed)
  t.teardown(async () => { await lab(dir, 'down') })

  const up = await lab(dir, 'up')
  if (up.code !== 0) t.fail(`lab up failed (exit ${up.code}):\n${up.stdout}\n${up.stderr}\n${labLogTail(dir, 'agent.log')}`)
  t.equal(up.code, 0, 'lab up succeeds')
  if (up.code !== 0) return
  t.match(up.stdout, /\[lab\] agent http:\/\/127\.0\.0\.1:\d+/, 'up reports its progress')

  const st = await status(dir)
  let last = st

  await t.test('status --json shows four shaped networks and eight probe pods with addresses in their subnets', async (t) => {
    t.same(st.networks.map((n) => n.name), ['bridge-fast', 'bridge-wide', 'bridge-capped', 'bridge-small'])
    const shaping = Object.fromEntries(st.networks.map((n) => [n.name, n.shaping?.ingressBps]))
    t.same(shaping, { 'bridge-fast': 1e9, 'bridge-wide': 1e9, 'bridge-capped': 200e6, 'bridge-small': 500e6 })
    t.same(st.networks.find((n) => n.name === 'bridge-small')?.plugins, ['bridge', 'host-local', 'bandwidth'])
    t.equal(st.networks.find((n) => n.name === 'bridge-small')?.subnet, '10.66.3.0/28')
    t.equal(st.phase, 'up')
    t.match(st.agentUrl, /^http:\/\/127\.0\.0\.1:\d+$/)
    t.ok(st.kubeconfig !== null && existsSync(st.kubeconfig), 'the kubeconfig exists')
    t.ok(existsSync(join(st.cniPath, 'netrank-cni')) && existsSync(join(st.cniPath, 'bridge')), 'CNI_PATH holds the shim and the plugins')
    t.ok(existsSync(join(st.confDir, '00-netrank.conflist')), 'the shim conf is the first conf')
    const probes = st.pods.filter((p) => p.namespace === 'netrank-probes')
    t.equal(probes.length, 8)
    for (const p of probes) {
      const net = p.labels['netrank.io/probe'] ?? ''
      t.equal(p.annotations.cni, net, `${p.name}: its cni annotation names its network`)
      t.equal(p.interfaces[0]?.network, net)
      t.ok(firstIp(p).startsWith(SUBNETS[net] ?? '?'), `${p.name} ${firstIp(p)} is in ${net}'s subnet`)
      // the sandbox's netns, made and named by containerd (cni-<uuid>), recorded by the lab kubelet
      t.ok(/^cni-[0-9a-f-]{36}$/.test(p.netns) && p.netnsExists, `${p.name}: netns ${p.netns}`)
      t.match(p.containerId, /^[0-9a-f]{64}$/, `${p.name}: the container id is the sandbox id`)
    }
    for (const p of st.processes) t.ok(p.alive, `${p.role} runs`)
    t.equal(st.processes.filter((p) => p.role.startsWith('iperf3-server:')).length, 8, 'an iperf3 server per probe pod')
    t.equal(st.processes.filter((p) => p.role.startsWith('sockperf-server:')).length, 8, 'a sockperf server per probe pod (TCP_RR)')
    const health = await fetch(`${st.agentUrl ?? ''}/healthz`)
    t.equal(health.status, 200, 'the agent answers /healthz')
  })

  await t.test('a second up while the lab runs says so and exits 1, leaving the lab alone', async (t) => {
    const again = await lab(dir, 'up')
    t.equal(again.code, 1)
    t.match(again.stderr, /a lab is already up in/)
    t.equal((await status(dir)).pods.length, 8)
  })

  await t.test('a pod annotated cni: bridge-capped gets an address in 10.66.2.0/24, visible inside its netns', async (t) => {
    const r = await lab(dir, 'pod', 'add', 'capped-1', '--annotation', 'cni=bridge-capped', '--json')
    t.equal(r.code, 0, r.stderr)
    const pod = JSON.parse(r.stdout) as { netns: string, interfaces: Array<{ network: string, ifname: string, ips: string[] }>, selection: { reason: string } }
    t.equal(pod.interfaces[0]?.network, 'bridge-capped')
    const ip = firstIp(pod)
    t.match(ip, /^10\.66\.2\.\d+$/)
    const inside = execFileSync('ip', ['-n', pod.netns, '-j', 'addr', 'show', 'dev', 'eth0'], { encoding: 'utf8' })
    t.match(inside, `"local":"${ip}"`, 'the address is on eth0 inside the pod netns')
    t.equal(pod.selection.reason, 'explicit')
    const text = await lab(dir, 'status')
    t.match(text.stdout, /default\/capped-1/)
  })

  await t.test('a pod with cni: "" is networked by the agent\'s choice or by fallback', async (t) => {
    const r = await lab(dir, 'pod', 'add', 'smart-1', '--annotation', 'cni=')
    t.equal(r.code, 0, r.stderr)
    t.match(r.stdout, /pod default\/smart-1 networked/)
    const pod = (await status(dir)).pods.find((p) => p.name === 'smart-1')
    const sel = JSON.parse(pod?.annotations['netrank.io/selection'] ?? '{}') as { reason?: string, plugins?: string[] }
    t.ok(sel.reason === 'smart' || (sel.reason?.startsWith('fallback-') ?? false), `reason ${String(sel.reason)}`)
    const net = sel.plugins?.[0] ?? ''
    t.ok(net in SUBNETS, `landed on a lab network (${net})`)
    t.ok(firstIp(pod ?? { interfaces: [] }).startsWith(SUBNETS[net] ?? '?'), 'its address is in that network\'s subnet')
  })

  await t.test('a failed CNI ADD prints the CNI error, exits 1 and leaves no netns or pod behind', async (t) => {
    const before = netnsNames()
    const r = await lab(dir, 'pod', 'add', 'broken-1', '--annotation', 'cni=no-such-network')
    t.equal(r.code, 1)
    t.match(r.stderr, /CNI ADD of default\/broken-1 failed: CNI error 103 \(NR_CNI_NETWORK_NOT_FOUND\): .*RunPodSandbox.*no-such-network/)
    t.same(netnsNames().filter((n) => !before.includes(n)), [], 'the sandbox\'s netns is removed')
    t.notOk((await status(dir)).pods.some((p) => p.name === 'broken-1'), 'the pod is not in the lab')
  })

  await t.test('traffic between two pods moves bytes, and each shaped network holds its cap', async (t) => {
    const fast = await lab(dir, 'traffic', '--from', 'probe-bridge-fast-a', '--to', 'probe-bridge-fast-b', '--seconds', '1', '--json')
    t.equal(fast.code, 0, fast.stderr)
    const f = JSON.parse(fast.stdout) as { bytes: number, bitsPerSecond: number }
    t.ok(f.bytes > 0 && f.bitsPerSecond > 0, `bridge-fast moved ${f.bytes} bytes`)
    t.ok(f.bitsPerSecond < 1.25 * 1e9, `bridge-fast ran at ${(f.bitsPerSecond / 1e6).toFixed(0)} Mbit/s, under its 1 Gbit/s cap`)
    const capped = await lab(dir, 'traffic', '--from', 'capped-1', '--to', 'probe-bridge-capped-a', '--seconds', '2', '--json')
    t.equal(capped.code, 0, capped.stderr)
    const c = JSON.parse(capped.stdout) as { bytes: number, bitsPerSecond: number }
    t.ok(c.bytes > 0, `bridge-capped moved ${c.bytes} bytes`)
    // an upper bound only: tbf enforces it on any machine, however slow (a lower bound would be timing)
    t.ok(c.bitsPerSecond < 1.25 * 200e6, `bridge-capped ran at ${(c.bitsPerSecond / 1e6).toFixed(0)} Mbit/s, under its cap`)
  })

  await t.test('background traffic is recorded and stopped by --stop', async (t) => {
    const bg = await lab(dir, 'traffic', '--from', 'smart-1', '--to', 'probe-bridge-fast-b', '--seconds', '60', '--background', '--json')
    t.equal(bg.code, 0, bg.stderr)
    const started = JSON.parse(bg.stdout) as { clientPid: number, serverPid: number }
    t.ok(pidAlive(started.clientPid) && pidAlive(started.serverPid), 'client and server run')
    const stop = await lab(dir, 'traffic', '--stop')
    t.equal(stop.code, 0)
    t.match(stop.stdout, /stopped 2 background traffic/)
    t.notOk(pidAlive(started.clientPid) || pidAlive(started.serverPid), 'both are gone')
  })

  await t.test('pod del releases its host-local reservation and removes its netns', async (t) => {
    const pod = (await status(dir)).pods.find((p) => p.name === 'capped-1')
    const ip = firstIp(pod ?? { interfaces: [] })
    const held = () => hostLocalAllocations(join(dir, 'ipam')).filter((a) => a.ip === ip)
    t.equal(held().length, 1, `host-local holds ${ip}`)
    const r = await lab(dir, 'pod', 'del', 'capped-1')
    t.equal(r.code, 0, r.stderr)
    t.same(held(), [], `${ip} is released`)
    t.notOk(netnsNames().includes(pod?.netns ?? ''), 'its netns is gone')
    t.notOk((await status(dir)).pods.some((p) => p.name === 'capped-1'))
    const again = await lab(dir, 'pod', 'del', 'capped-1')
    t.equal(again.code, 1)
    t.match(again.stderr, /no lab pod capped-1/)
  })

  await t.test('down leaves no nr netns or link, no host-local reservation and no process; twice is fine', async (t) => {
    last = await status(dir)
    t.ok(last.processes.length >= 10)
    const down = await lab(dir, 'down')
    t.equal(down.code, 0, down.stderr)
    assertLabClean(t, dir, last, BRIDGES)
    const twice = await lab(dir, 'down')
    t.equal(twice.code, 0)
    t.match(twice.stdout, /nothing to do/)
  })

  await t.test('down after a killed up cleans up what that up had made', async (t) => {
    const env = { ...process.env }
    delete env.NODE_EXTRA_CA_CERTS
    const child = spawn(process.execPath, [...LAB_ENTRY, 'up', '--dir', dir], { env, stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    const exited = new Promise<void>((resolve) => child.on('close', () => resolve()))
    // kill it once two probe pods are networked: stand-ins, iperf3 servers and netns exist, the agent does not yet
    await new Promise<void>((resolve) => {
      child.stdout.on('data', (c: Buffer) => {
        out += c.toString()
        if ((out.match(/probe pod /g) ?? []).length >= 2) resolve()
      })
      child.on('close', () => resolve())
    })
    child.kill('SIGKILL')
    await exited
    const partial = JSON.parse(readFileSync(join(dir, 'lab.json'), 'utf8')) as LabStatus
    t.ok(partial.pods.length >= 2, `the killed up had made ${partial.pods.length} pods`)
    t.ok(partial.processes.some((p) => pidAlive(p.pid)), 'its background processes outlived it')
    const down = await lab(dir, 'down')
    t.equal(down.code, 0, down.stderr)
    assertLabClean(t, dir, partial, BRIDGES)
  })
})
