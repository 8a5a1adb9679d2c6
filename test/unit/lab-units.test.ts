// The lab's pure parts, no root needed: names of kernel objects, the confs it writes, the
// agent config, kubelet's CNI_ARGS, the state file and its lock, the process identity check.
import t from 'tap'
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { parse as parseYaml } from 'yaml'
import { labMain } from '../../lab/cli-lab-main.js'
import { kubeletCniArgs, resultInterfaces, shimEnv } from '../../lab/lab-cni.js'
import { agentConfig, networkConf, pluginStdin, shapeBurstBits, shimConflist } from '../../lab/lab-confs.js'
import { LAB_DEFAULTS } from '../../lab/lab-defaults.js'
import { bandwidthIfbName } from '../../lab/lab-kernel.js'
import { claimOwner, currentOwner, mayOwn, releaseOwner } from '../../lab/lab-owner.js'
import { labLayout } from '../../lab/lab-paths.js'
import { describeCniError } from '../../lab/lab-pods.js'
import { isAlive, isRunning, spawnDetached, startTicksOf, stopProcess } from '../../lab/lab-process.js'
import { labDir, readState, STATE_FORMAT, updateState, withStateLock, writeState } from '../../lab/lab-state.js'
import type { LabPod, LabState } from '../../lab/lab-state.js'
import { tempDir } from '../support/netns.js'
import { setTimeout as sleep } from 'node:timers/promises'

function stateIn (dir: string): LabState {
  return {
    format: STATE_FORMAT,
    dir,
    createdAt: new Date().toISOString(),
    phase: 'up',
    repoRoot: '/repo',
    networks: LAB_DEFAULTS.networks.map((n) => ({ ...n })),
    paths: labLayout(dir, '/repo/dist/bin/netrank-cni'),
    bridges: LAB_DEFAULTS.networks.map((n) => n.bridge),
    processes: [],
    pods: [],
  }
}

const pod: LabPod = {
  name: 'web-1', namespace: 'shop', uid: '1f0c-uid', containerId: 'abc123', netns: 'nr-web-1-0000', netnsPath: '/var/run/netns/nr-web-1-0000',
  annotations: {}, labels: {}, phase: 'ready', interfaces: [],
}

function io (env: NodeJS.ProcessEnv = {}): { stdout: string[], stderr: string[], io: Parameters<typeof labMain>[1] } {
  const stdout: string[] = []
  const stderr: string[] = []
  return { stdout, stderr, io: { stdout: { write: (s: string) => stdout.push(s) }, stderr: { write: (s: string) => stderr.push(s) }, env } }
}

t.test('the bandwidth ifb name is bwp plus 12 hex of sha512(network + container id), 15 characters', async (t) => {
  const n = bandwidthIfbName('bridge-capped', 'abc')
  t.match(n, /^bwp[0-9a-f]{12}$/)
  t.equal(n.length, 15)
  t.not(n, bandwidthIfbName('bridge-capped', 'abd'))
})

t.test('every lab network is a bridge with host-local in the lab dataDir, shaped by the bandwidth plugin at its own rate', async (t) => {
  const byName = Object.fromEntries(LAB_DEFAULTS.networks.map((n) => [n.name, networkConf(n, '/lab/ipam')]))
  t.same(Object.keys(byName), ['bridge-fast', 'bridge-wide', 'bridge-capped', 'bridge-small'], 'the twins first: catalog order is the tie-break order')
  const cases = [
    { name: 'bridge-fast', subnet: '10.66.1.0/24', rate: 1_000_000_000, burst: 10_000_000 },
    { name: 'bridge-wide', subnet: '10.66.4.0/24', rate: 1_000_000_000, burst: 10_000_000 },
    { name: 'bridge-capped', subnet: '10.66.2.0/24', rate: 200_000_000, burst: 2_000_000 },
    { name: 'bridge-small', subnet: '10.66.3.0/28', rate: 500_000_000, burst: 5_000_000 },
  ]
  for (const c of cases) {
    const conf = byName[c.name]
    const plugins = conf?.plugins as Array<Record<string, unknown>>
    const bridge = plugins[0] as { type: string, bridge: string, ipam: { type: string, dataDir: string, ranges: unknown } }
    t.equal(conf?.name, c.name)
    t.equal(bridge.type, 'bridge', c.name)
    t.match(bridge.bridge, /^nrbr-/, `${c.name}: kernel objects carry the nr prefix`)
    t.equal(bridge.ipam.type, 'host-local')
    t.equal(bridge.ipam.dataDir, '/lab/ipam')
    t.same(bridge.ipam.ranges, [[{ subnet: c.subnet }]], `${c.name}: ${c.subnet}`)
    t.equal(plugins.length, 2, `${c.name}: bridge then bandwidth`)
    t.same(plugins[1], { type: 'bandwidth', ingressRate: c.rate, ingressBurst: c.burst, egressRate: c.rate, egressBurst: c.burst }, `${c.name}: ${c.rate / 1e6} Mbit/s, a ${c.burst / 1e6} Mbit bucket`)
  }
  t.equal(shapeBurstBits(100_000_000), 2_000_000, 'the bucket is never under 2 Mbit')
  t.equal(new Set(LAB_DEFAULTS.networks.map((n) => n.bridge)).size, 4, 'four distinct bridges')
})

t.test('the shim conf points at the lab dirs and the agent, and a runtime passes its one plugin flattened', async (t) => {
  const s = stateIn('/lab')
  const conflist = shimConflist(s, 'http://127.0.0.1:1234')
  const stdin = pluginStdin(conflist)
  t.match(stdin, {
    cniVersion: '1.0.0', name: 'netrank', type: 'netrank-cni', confDir: '/lab/net.d', stateDir: '/lab/state',
    kubeconfig: '/lab/kube/kubeconfig.json', defaultPlugins: ['bridge-fast'], selector: { url: 'http://127.0.0.1:1234', timeoutMs: 300 },
    logFile: '/lab/log/cni.log',
  })
  t.notOk('plugins' in stdin)
  t.throws(() => pluginStdin({ cniVersion: '1.0.0', name: 'x', plugins: [] }), /exactly one plugin/)
  t.throws(() => pluginStdin({ cniVersion: '1.0.0', name: 'x' }), /exactly one plugin/)
})

t.test('the agent config has the collectors sections with the lab intervals and the lab paths', async (t) => {
  const s = stateIn('/lab')
  const c = agentConfig(s, { port: 4321, kubeletUrl: 'http://127.0.0.1:99', kubeconfig: '/lab/kube/kubeconfig.json' })
  t.match(c, {
    node: 'lab-node',
    listen: { host: '127.0.0.1', port: 4321 },
    plugins: [{ name: 'bridge-fast' }, { name: 'bridge-wide' }, { name: 'bridge-capped' }, { name: 'bridge-small' }],
    cni: { confDir: '/lab/net.d', stateDir: '/lab/state', hostLocalDataDir: '/lab/ipam' },
    kubernetes: { kubeconfig: '/lab/kube/kubeconfig.json' },
    collectors: {
      cadvisor: { enabled: true, source: 'cri', criSocket: '/lab/containerd/containerd.sock', url: 'http://127.0.0.1:99', intervalMs: 2000, windowMs: 4000 },
      probes: { enabled: true, podLabel: 'netrank.io/probe', port: 5201, iperf3: { intervalMs: 17500, jitterRatio: 0.143, durationSeconds: 2, omitSeconds: 1 }, rtt: { intervalMs: 3000 } },
      ipam: { enabled: true, intervalMs: 2000, whereabouts: false },
    },
    selector: { windowMs: 10000 },
    audit: { dir: '/lab/audit' },
    policy: { enabled: true },
  })
  t.same(parseYaml(JSON.stringify(c)), c, 'plain data: it survives YAML')
})

t.test('CNI_ARGS are kubelet\'s, and the shim env has no NODE_EXTRA_CA_CERTS', async (t) => {
  t.equal(kubeletCniArgs(pod), 'IgnoreUnknown=1;K8S_POD_NAMESPACE=shop;K8S_POD_NAME=web-1;K8S_POD_INFRA_CONTAINER_ID=abc123;K8S_POD_UID=1f0c-uid')
  const saved = process.env.NODE_EXTRA_CA_CERTS
  process.env.NODE_EXTRA_CA_CERTS = '/etc/ssl/extra.pem'
  t.teardown(() => { if (saved === undefined) delete process.env.NODE_EXTRA_CA_CERTS; else process.env.NODE_EXTRA_CA_CERTS = saved })
  const env = shimEnv(stateIn('/lab'), 'ADD', pod)
  t.match(env, { CNI_COMMAND: 'ADD', CNI_CONTAINERID: 'abc123', CNI_NETNS: pod.netnsPath, CNI_IFNAME: 'eth0', CNI_PATH: '/lab/bin' })
  t.notOk('NODE_EXTRA_CA_CERTS' in env)
})

t.test('resultInterfaces keeps the sandbox interfaces with their own IPs only', async (t) => {
  const result = {
    interfaces: [{ name: 'nrbr-fast', mac: 'aa' }, { name: 'veth1', mac: 'bb' }, { name: 'eth0', mac: 'cc', sandbox: '/var/run/netns/x' }],
    ips: [{ address: '10.66.1.7/24', interface: 2, gateway: '10.66.1.1' }, { address: '10.66.1.1/24', interface: 0 }],
  }
  t.same(resultInterfaces(result, () => 'bridge-fast'), [{ network: 'bridge-fast', ifname: 'eth0', ips: ['10.66.1.7/24'], mac: 'cc' }])
  t.same(resultInterfaces({}, () => 'x'), [])
})

t.test('the lab dir comes from --dir, then NETRANK_LAB_DIR, then /run/netrank-lab', async (t) => {
  t.equal(labDir('/a/b', { NETRANK_LAB_DIR: '/c' }), '/a/b')
  t.equal(labDir(undefined, { NETRANK_LAB_DIR: '/c' }), '/c')
  t.equal(labDir(undefined, {}), '/run/netrank-lab')
  t.throws(() => labDir('', {}), /empty/)
})

t.test('the state file round-trips, and a file that is not a lab state is refused with the way out', async (t) => {
  const dir = tempDir(t, 'nr-labstate')
  t.equal(readState(dir), undefined)
  const s = stateIn(dir)
  writeState(s)
  t.same(readState(dir), s)
  writeFileSync(join(dir, 'lab.json'), '{"format":"something-else"}')
  t.throws(() => readState(dir), /not a netrank.io\/lab-state\/v1 file/)
  writeFileSync(join(dir, 'lab.json'), '{oops')
  t.throws(() => readState(dir), /not JSON.*lab down/)
})

t.test('state updates under the lock keep every pod, and a dead holder\'s lock is taken over', async (t) => {
  const dir = tempDir(t, 'nr-lablock')
  writeState(stateIn(dir))
  // a lock left by a process that is gone (pid 2^22 + 1 is above the default pid_max)
  writeFileSync(join(dir, 'lab.lock'), String(4_194_305))
  const names = Array.from({ length: 20 }, (_, i) => `p${i}`)
  await Promise.all(names.map(async (n) => { updateState(dir, (s) => { s.pods.push({ ...pod, name: n, containerId: n }) }) }))
  t.same(readState(dir)?.pods.map((p) => p.name).sort(), [...names].sort())
  t.notOk(existsSync(join(dir, 'lab.lock')), 'the lock is released')
  t.throws(() => withStateLock(dir, () => { throw new Error('inner') }), /inner/)
  t.notOk(existsSync(join(dir, 'lab.lock')), 'released after a throw too')
})

t.test('a recorded process is known by pid and start time: a stopped one is no longer running', async (t) => {
  const dir = tempDir(t, 'nr-labproc')
  const p = spawnDetached('sleeper', ['sleep', '30'], join(dir, 'log', 'sleeper.log'))
  t.teardown(() => { try { process.kill(p.pid, 'SIGKILL') } catch { /* stopped */ } })
  t.ok(isRunning(p))
  t.ok(isAlive(p.pid))
  t.equal(startTicksOf(p.pid), p.startTicks)
  t.notOk(isRunning({ pid: p.pid, startTicks: p.startTicks + 1 }), 'same pid, other start time: another process')
  t.equal(await stopProcess({ pid: p.pid, startTicks: p.startTicks + 1 }), false, 'never signals a pid that was reused')
  t.ok(isRunning(p))
  t.equal(await stopProcess(p), true)
  t.notOk(isRunning(p))
  t.equal(await stopProcess(p), false, 'stopping twice is fine')
  t.throws(() => spawnDetached('nothing', [], join(dir, 'x.log')), /empty command/)
})

t.test('a process that ignores SIGTERM is killed after the grace period', async (t) => {
  const dir = tempDir(t, 'nr-labproc2')
  const p = spawnDetached('stubborn', ['sh', '-c', 'trap "" TERM; sleep 30'], join(dir, 'stubborn.log'))
  t.teardown(() => { try { process.kill(p.pid, 'SIGKILL') } catch { /* stopped */ } })
  await sleep(100) // let sh install its trap
  t.equal(await stopProcess(p, 200), true)
  t.notOk(isRunning(p))
})

t.test('one lab per machine: a live claim by another dir is refused, a stale one taken over', async (t) => {
  const base = tempDir(t, 'nr-labowner')
  const file = join(base, 'owner.json')
  const a = join(base, 'a')
  const b = join(base, 'b')
  t.equal(currentOwner(file), undefined)
  claimOwner(a, file)
  t.equal(currentOwner(file), undefined, 'a claim without a state is stale')
  writeState(stateIn(a))
  t.equal(currentOwner(file), a)
  t.throws(() => claimOwner(b, file), /another lab is up on this machine in .*\/a/)
  t.ok(mayOwn(a, file))
  t.notOk(mayOwn(b, file))
  releaseOwner(b, file)
  t.ok(existsSync(file), 'another dir cannot release a live claim')
  releaseOwner(a, file)
  t.notOk(existsSync(file))
  claimOwner(b, file)
  t.match(JSON.parse(readFileSync(file, 'utf8')), { dir: b })
})

t.test('the lab CLI explains its usage errors with exit code 2', async (t) => {
  const cases: Array<[string[], RegExp]> = [
    [[], /needs a subcommand/],
    [['fly'], /unknown lab subcommand 'fly'/],
    [['pod'], /needs 'add' or 'del'/],
    [['pod', 'add'], /needs the pod NAME/],
    [['pod', 'add', 'x', '--annotation', 'novalue'], /is not KEY=VALUE/],
    [['traffic', '--from', 'a'], /needs --from POD and --to POD/],
    [['traffic', '--from', 'a', '--to', 'b', '--seconds', 'ten'], /--seconds must be a positive integer/],
    [['status', 'extra'], /unexpected argument 'extra'/],
    [['up', '--bogus'], /Unknown option '--bogus'/],
    [['agent'], /lab agent needs 'stop' or 'start', got ''/],
    [['agent', 'restart'], /lab agent needs 'stop' or 'start', got 'restart'/],
    [['agent', 'stop', 'now'], /unexpected argument 'now'/],
    [['demo', 'now'], /unexpected argument 'now'/],
  ]
  for (const [argv, re] of cases) {
    const o = io({ NETRANK_LAB_DIR: '/nonexistent/netrank-lab' })
    t.equal(await labMain(argv, o.io), 2, argv.join(' '))
    t.match(o.stderr.join(''), re, argv.join(' '))
    t.match(o.stderr.join(''), /Usage: netrank lab/)
  }
})

t.test('status, pod and traffic on a dir without a lab say how to make one (exit 1)', async (t) => {
  const dir = tempDir(t, 'nr-labnone')
  for (const argv of [['status'], ['pod', 'del', 'x'], ['traffic', '--from', 'a', '--to', 'b'], ['agent', 'stop'], ['agent', 'start']]) {
    const o = io()
    t.equal(await labMain([...argv, '--dir', dir], o.io), 1, argv.join(' '))
    t.match(o.stderr.join(''), /no lab in .*: run `netrank lab up/)
  }
  const o = io()
  t.equal(await labMain(['down', '--dir', dir], o.io), 0, 'down with nothing there is fine')
  t.match(o.stdout.join(''), /nothing to do/)
  const help = io()
  t.equal(await labMain(['--help'], help.io), 0)
  t.match(help.stdout.join(''), /netrank lab up \[--dir D\]/)
  t.match(help.stdout.join(''), /netrank lab demo \[--dir D\] \[--once\]/)
  t.match(help.stdout.join(''), /netrank lab agent stop\|start/)
})

t.test('lab agent start refuses a lab that is not up, and stop with no agent running says so', async (t) => {
  const dir = tempDir(t, 'nr-labagent')
  const s = stateIn(dir)
  s.phase = 'starting'
  writeState(s)
  const start = io()
  t.equal(await labMain(['agent', 'start', '--dir', dir], start.io), 1)
  t.match(start.stderr.join(''), /the lab in .* is not up \(phase starting\)/)
  const stop = io()
  t.equal(await labMain(['agent', 'stop', '--dir', dir], stop.io), 0)
  t.match(stop.stdout.join(''), /the agent was not running/)
})

t.test('traffic options are checked before anything runs', async (t) => {
  const dir = tempDir(t, 'nr-labtraffic')
  writeState(stateIn(dir))
  const cases: Array<[string[], RegExp]> = [
    [['--from', 'a', '--to', 'a'], /same pod/],
    [['--from', 'a', '--to', 'b', '--seconds', '0'], /--seconds must be an integer 1–86400/],
    [['--from', 'a', '--to', 'b', '--parallel', '0'], /--parallel must be an integer 1–128/],
    [['--from', 'a', '--to', 'b'], /no lab pod named a/],
  ]
  for (const [argv, re] of cases) {
    const o = io()
    t.equal(await labMain(['traffic', ...argv, '--dir', dir], o.io), 1, argv.join(' '))
    t.match(o.stderr.join(''), re)
  }
})

t.test('a CNI error reads as code, stable name and message, without repeating the details', async (t) => {
  t.equal(describeCniError({ code: 103, msg: 'delegate network conf not found: no conf named x', details: 'NR_CNI_NETWORK_NOT_FOUND: no conf named x' }),
    'CNI error 103 (NR_CNI_NETWORK_NOT_FOUND): delegate network conf not found: no conf named x')
  t.equal(describeCniError({ code: 7, msg: 'bad conf', details: 'the bridge plugin said no' }), 'CNI error 7: bad conf (the bridge plugin said no)')
  t.equal(describeCniError({ code: 11, msg: 'try again later' }), 'CNI error 11: try again later')
})

t.test('down on a partial state with nothing running removes the lab files but keeps the logs', async (t) => {
  const dir = tempDir(t, 'nr-labdown')
  const s = stateIn(dir)
  s.phase = 'starting'
  s.bridges = [] // no kernel objects in this test: it runs without root, next to a real lab maybe
  s.pods = [{ ...pod, netns: 'nr-labunit-none', netnsPath: '/var/run/netns/nr-labunit-none', phase: 'adding' }]
  s.processes = [{ role: 'agent', pid: 4_194_305, startTicks: 1, argv: ['gone'] }] // a pid above pid_max: not running
  writeState(s)
  for (const f of ['net.d', 'ipam/bridge-fast', 'state/attachments', 'log']) mkdirSync(join(dir, f), { recursive: true })
  writeFileSync(join(dir, 'ipam', 'bridge-fast', '10.66.1.9'), 'abc123\r\neth0')
  writeFileSync(join(dir, 'log', 'agent.log'), 'kept\n')
  const o = io()
  t.equal(await labMain(['down', '--dir', dir], o.io), 0, o.stderr.join(''))
  t.same(readdirSync(dir), ['log'], 'only the logs are left')
  t.equal(readFileSync(join(dir, 'log', 'agent.log'), 'utf8'), 'kept\n')
  t.match(o.stdout.join(''), /removed the lab's files/)
  const again = io()
  t.equal(await labMain(['down', '--dir', dir], again.io), 0)
  t.match(again.stdout.join(''), /nothing to do/)
})
