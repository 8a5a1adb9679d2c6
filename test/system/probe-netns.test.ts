// Real network namespaces: runInNetns, the TCP-connect RTT probe and the kubelet
// stand-in's counters, read back through the same streaming parser the agent uses.
import { execFileSync, spawn } from 'node:child_process'
import t from 'tap'
import { runInNetns } from '../../collectors/netns-exec.js'
import { runTcpRttProbe } from '../../collectors/probes/tcp-rtt-probe.js'
import { parseNetworkSeries } from '../../collectors/traffic/prom-text-network.js'
import { podCountersFromRecords } from '../../collectors/traffic/pod-network-counters.js'
import { parseIpLinkStats, renderCadvisorNetworkMetrics, startKubeletStandIn } from '../../lab/stand-ins/kubelet-stand-in.js'
import { createNetns, skipUnlessRoot, uniqueName } from '../support/netns.js'
import type { Netns, TestLike } from '../support/netns.js'
import { setTimeout as sleep } from 'node:timers/promises'

/** Two netns joined by a veth pair: a = 10.251.0.1, b = 10.251.0.2 (no host route). */
function veths (t: TestLike): { a: Netns, b: Netns } {
  const a = createNetns('nrpa')
  t.teardown(() => a.remove())
  const b = createNetns('nrpb')
  t.teardown(() => b.remove())
  const va = uniqueName('nrva')
  const vb = uniqueName('nrvb')
  execFileSync('ip', ['link', 'add', va, 'type', 'veth', 'peer', 'name', vb])
  execFileSync('ip', ['link', 'set', va, 'netns', a.name])
  execFileSync('ip', ['link', 'set', vb, 'netns', b.name])
  execFileSync('ip', ['-n', a.name, 'addr', 'add', '10.251.0.1/24', 'dev', va])
  execFileSync('ip', ['-n', b.name, 'addr', 'add', '10.251.0.2/24', 'dev', vb])
  execFileSync('ip', ['-n', a.name, 'link', 'set', va, 'up'])
  execFileSync('ip', ['-n', b.name, 'link', 'set', vb, 'up'])
  return { a, b }
}

/** A TCP listener inside the netns (iperf3 -s, as on a probe pod), killed on teardown. */
async function iperf3Server (t: TestLike, ns: Netns, bind: string): Promise<void> {
  const child = spawn('nsenter', [`--net=${ns.path}`, '--', 'iperf3', '-s', '-B', bind, '-p', '5201'], { stdio: 'ignore' })
  t.teardown(() => { child.kill('SIGKILL') })
  for (let i = 0; i < 50; i++) {
    const r = await runInNetns({ netnsPath: ns.path, argv: ['ss', '-Hltn', 'sport = :5201'], timeoutMs: 2000 })
    if (r.stdout.includes('5201')) return
    await sleep(50)
  }
  throw new Error('iperf3 server did not start listening')
}

t.test('runInNetns runs the program inside the namespace, not in the host', async (t) => {
  if (skipUnlessRoot(t)) return
  const { a } = veths(t)
  const r = await runInNetns({ netnsPath: a.path, argv: ['ip', '-j', 'addr', 'show'], timeoutMs: 5000 })
  t.equal(r.code, 0)
  t.match(r.stdout, /10\.251\.0\.1/)
  t.notOk(execFileSync('ip', ['-j', 'addr', 'show'], { encoding: 'utf8' }).includes('10.251.0.1'), 'the address is not in the host namespace')
})

t.test('runInNetns kills a program at the hard timeout', async (t) => {
  if (skipUnlessRoot(t)) return
  const ns = createNetns('nrpt')
  t.teardown(() => ns.remove())
  const r = await runInNetns({ netnsPath: ns.path, argv: ['sleep', '30'], timeoutMs: 200 })
  t.equal(r.timedOut, true)
  t.equal(r.signal, 'SIGKILL')
  t.ok(r.durationMs < 10_000, 'it did not wait for the program')
})

t.test('aborting runInNetns kills the program at once (the agent stops without waiting for a probe)', async (t) => {
  if (skipUnlessRoot(t)) return
  const ns = createNetns('nrpk')
  t.teardown(() => ns.remove())
  const stop = new AbortController()
  const running = runInNetns({ netnsPath: ns.path, argv: ['sleep', '30'], timeoutMs: 60_000, signal: stop.signal })
  setTimeout(() => stop.abort(), 100)
  const r = await running
  t.equal(r.aborted, true)
  t.equal(r.timedOut, false)
  t.equal(r.signal, 'SIGKILL')
  const already = await runInNetns({ netnsPath: ns.path, argv: ['sleep', '30'], timeoutMs: 60_000, signal: AbortSignal.abort() })
  t.equal(already.aborted, true, 'an already aborted signal kills the program as soon as it starts')
})

t.test('runInNetns caps captured output and says so', async (t) => {
  if (skipUnlessRoot(t)) return
  const ns = createNetns('nrpo')
  t.teardown(() => ns.remove())
  const r = await runInNetns({ netnsPath: ns.path, argv: ['head', '-c', '100000', '/dev/zero'], timeoutMs: 5000, maxOutputBytes: 1000 })
  t.equal(r.stdout.length, 1000)
  t.equal(r.truncated, true)
})

t.test('runInNetns rejects an empty argv, a relative netns path and a netns that does not exist', async (t) => {
  await t.rejects(runInNetns({ netnsPath: '/var/run/netns/x', argv: [], timeoutMs: 100 }), /argv is empty/)
  await t.rejects(runInNetns({ netnsPath: 'nrx', argv: ['true'], timeoutMs: 100 }), /must be absolute/)
  if (skipUnlessRoot(t)) return
  const r = await runInNetns({ netnsPath: '/var/run/netns/nr-does-not-exist', argv: ['true'], timeoutMs: 2000 })
  t.not(r.code, 0)
  t.match(r.stderr, /nr-does-not-exist/)
})

t.test('the TCP RTT probe measures connects from one namespace to a server in another', async (t) => {
  if (skipUnlessRoot(t)) return
  const { a, b } = veths(t)
  await iperf3Server(t, a, '10.251.0.1')
  const r = await runTcpRttProbe({ netnsPath: b.path, host: '10.251.0.1', port: 5201, count: 5, connectTimeoutMs: 1000 })
  t.equal(r.ok, true, r.error ?? 'probe ok')
  t.equal(r.rttSeconds.length, 5)
  t.equal(r.failures, 0)
  t.ok(r.rttSeconds.every((s) => s > 0 && s < 1), 'each RTT is positive and below the timeout')
  t.ok(r.medianSeconds !== undefined && r.medianSeconds > 0)
  t.ok(r.spreadSeconds !== undefined && r.spreadSeconds >= 0)
})

t.test('the TCP RTT probe reports a refused port as a failure, not as a latency', async (t) => {
  if (skipUnlessRoot(t)) return
  const { b } = veths(t)
  const r = await runTcpRttProbe({ netnsPath: b.path, host: '10.251.0.1', port: 5999, count: 3, connectTimeoutMs: 500 })
  t.equal(r.ok, false)
  t.same(r.rttSeconds, [])
  t.equal(r.failures, 3)
  t.match(r.error, /ECONNREFUSED/)
})

t.test('the TCP RTT probe reports an unreachable peer as timeouts', async (t) => {
  if (skipUnlessRoot(t)) return
  const { b } = veths(t)
  // 10.251.0.9 is on the link but nobody answers ARP: the connect never completes
  const r = await runTcpRttProbe({ netnsPath: b.path, host: '10.251.0.9', port: 5201, count: 2, connectTimeoutMs: 300 })
  t.equal(r.ok, false)
  t.equal(r.failures, 2)
})

t.test('parseIpLinkStats reads stats64 per interface and leaves out lo', async (t) => {
  const json = JSON.stringify([
    { ifname: 'lo', stats64: { rx: { bytes: 5 }, tx: { bytes: 5 } } },
    { ifname: 'eth0', stats64: { rx: { bytes: 1000, packets: 10, errors: 1, dropped: 2 }, tx: { bytes: 2000, packets: 20, errors: 0, dropped: 3 } } },
    { ifname: 'net1' }, // no stats: skipped
  ])
  t.same(parseIpLinkStats(json), [{
    interface: 'eth0', rxBytes: 1000, rxPackets: 10, rxErrors: 1, rxDropped: 2, txBytes: 2000, txPackets: 20, txErrors: 0, txDropped: 3,
  }])
})

t.test('the kubelet stand-in page parses like a real kubelet page: sandbox series with the pod labels', async (t) => {
  const sandbox = { namespace: 'ns1', pod: 'p"1', uid: '1111-2222', containerId: 'abc123', netnsPath: '/nonexistent' }
  const counters = [{ interface: 'eth0', rxBytes: 123, rxPackets: 1, rxErrors: 0, rxDropped: 0, txBytes: 456, txPackets: 2, txErrors: 0, txDropped: 0 }]
  const page = renderCadvisorNetworkMetrics([{ sandbox, counters }], 1_700_000_000_000)
  const { records } = await parseNetworkSeries(page)
  const pods = podCountersFromRecords(records, 1_700_000_000_000)
  t.equal(pods.length, 1)
  t.match(pods[0], { namespace: 'ns1', pod: 'p"1', interface: 'eth0', rxBytes: 123, txBytes: 456 })
})

t.test('the kubelet stand-in serves the real counters of a namespace, which grow with real traffic', async (t) => {
  if (skipUnlessRoot(t)) return
  const { a, b } = veths(t)
  await iperf3Server(t, a, '10.251.0.1')
  const token = 'nr-test-token'
  const kubelet = await startKubeletStandIn({
    token,
    pods: () => [{ namespace: 'lab', pod: 'client', uid: 'uid-b', containerId: 'cid-b', netnsPath: b.path }],
  })
  t.teardown(() => kubelet.close())
  const scrape = async (): Promise<{ rx: number, tx: number }> => {
    const res = await fetch(`${kubelet.url}/metrics/cadvisor`, { headers: { authorization: `Bearer ${token}` } })
    t.equal(res.status, 200)
    const { records } = await parseNetworkSeries(await res.text())
    const eth = podCountersFromRecords(records, Date.now()).filter((c) => c.pod === 'client')
    t.equal(eth.length, 1, 'one interface besides lo')
    return { rx: eth[0]?.rxBytes ?? 0, tx: eth[0]?.txBytes ?? 0 }
  }
  const before = await scrape()
  const run = await runInNetns({ netnsPath: b.path, argv: ['iperf3', '-c', '10.251.0.1', '-n', '2M', '-J'], timeoutMs: 20_000 })
  t.equal(run.code, 0, run.stderr)
  const after = await scrape()
  t.ok(after.tx - before.tx >= 2 * 1024 * 1024, `transmit grew by at least the 2 MiB sent (${after.tx - before.tx})`)
  t.ok(after.rx > before.rx, 'receive grew (ACKs)')
  t.equal(kubelet.scrapes, 2)
  const denied = await fetch(`${kubelet.url}/metrics/cadvisor`)
  t.equal(denied.status, 401, 'no token, no metrics')
  const other = await fetch(`${kubelet.url}/stats/summary`, { headers: { authorization: `Bearer ${token}` } })
  t.equal(other.status, 404)
})
