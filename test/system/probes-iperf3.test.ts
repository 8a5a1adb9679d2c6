// The probes collector for real: probe pods attached by the real shim to real bridge
// networks (one shaped to 200 Mbit/s by the real bandwidth plugin), found through the
// Kubernetes API stand-in with @kubernetes/client-node informers, iperf3 servers in the
// peer pods' namespaces and sockperf servers in every probe pod's, iperf3, the RTT and the
// TCP_RR probes run by the agent inside the client pods'.
import t from 'tap'
import { spawn } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { join } from 'node:path'
import { startKubeApiStandIn } from '../../lab/stand-ins/kube-api-stand-in.js'
import { startKubeletStandIn } from '../../lab/stand-ins/kubelet-stand-in.js'
import type { LabPodSandbox } from '../../lab/stand-ins/kubelet-stand-in.js'
import type { KubeApiStandIn } from '../../lab/stand-ins/kube-api-stand-in.js'
import { AttachmentRecordsSource } from '../../collectors/attachment-records-source.js'
import type { KubeCache, PodObject } from '../../collectors/kube-watch.js'
import { createProbesCollector } from '../../collectors/probes/probes-collector.js'
import type { CollectorContext } from '../../collectors/types.js'
import type { KpiSample } from '../../contract/kpis.js'
import { createAgent } from '../../agent/agent.js'
import { collectOnceFor } from '../../cli/cmd-collect.js'
import { parseConfig } from '../../agent/config/load-config.js'
import { buildServer } from '../../agent/http/server.js'
import { Stage } from '../support/cni-harness.js'
import { createNetns, skipUnlessPlugins, skipUnlessRoot, tempDir } from '../support/netns.js'
import type { Netns, TestLike } from '../support/netns.js'
import { setTimeout as sleep } from 'node:timers/promises'
import { runPingProbe } from '../../collectors/probes/ping-probe.js'

const SHAPE_BPS = 200_000_000 // 200 Mbit/s
const LABEL = 'netrank.io/probe'
const NODE = 'nr-node'
const PORT = 5201
const RR_PORT = 11111

function iperf3Server (t: TestLike, ns: Netns): ChildProcess {
  // nsenter execs iperf3: the pid is iperf3's own, killed by pid at teardown
  const child = spawn('nsenter', [`--net=${ns.path}`, '--', 'iperf3', '-s', '-p', String(PORT)], { stdio: 'ignore' })
  t.teardown(() => { if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) process.kill(child.pid, 'SIGKILL') })
  return child
}

function sockperfServer (t: TestLike, ns: Netns): void {
  const child = spawn('nsenter', [`--net=${ns.path}`, '--', 'sockperf', 'server', '--tcp', '-p', String(RR_PORT)], { stdio: 'ignore' })
  t.teardown(() => { if (child.exitCode === null && child.pid !== undefined) process.kill(child.pid, 'SIGKILL') })
}

interface Ctx extends CollectorContext { samples: KpiSample[], errors: string[] }
function ctx (): Ctx {
  const c: Ctx = {
    node: NODE, now: Date.now, samples: [], errors: [],
    emit: (s) => { c.samples.push(...s); return 0 },
    reportSuccess: () => undefined,
    reportError: (_n, err) => { c.errors.push(err instanceof Error ? err.message : String(err)) },
  }
  return c
}

t.test('real probes', async t => {
  if (skipUnlessRoot(t) || skipUnlessPlugins(t)) return
  const k: KubeApiStandIn = await startKubeApiStandIn({ dir: tempDir(t, 'nr-kube') })
  t.teardown(() => k.close())
  const s = new Stage(t)
  s.addBridgeNetwork('nr-fast')
  s.addBridgeNetwork('nr-capped', {
    extraPlugins: [{ type: 'bandwidth', ingressRate: SHAPE_BPS, ingressBurst: 2_000_000, egressRate: SHAPE_BPS, egressBurst: 2_000_000 }],
  })
  const netnsOf = new Map<string, Netns>()
  const sandboxes: LabPodSandbox[] = []
  const servers = new Map<string, ChildProcess>()
  for (const net of ['nr-fast', 'nr-capped']) {
    for (const side of ['a', 'b']) {
      const name = `probe-${net.slice(3)}-${side}`
      k.putPod({ apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'netrank-probes', uid: `uid-${name}`, labels: { [LABEL]: net }, annotations: { cni: net } }, spec: { nodeName: NODE } })
      const ns = createNetns('nrp')
      t.teardown(() => ns.remove())
      const containerId = `nrctr${process.pid}${name}`
      const args = { K8S_POD_NAMESPACE: 'netrank-probes', K8S_POD_NAME: name, K8S_POD_INFRA_CONTAINER_ID: containerId, K8S_POD_UID: `uid-${name}` }
      const r = await s.run('ADD', { containerId, netns: ns.path, args, conf: { kubeconfig: k.kubeconfigPath } })
      t.equal(r.code, 0, `ADD ${name}: ${r.code === 0 ? '' : r.stdout + r.stderr}`)
      // DEL before the netns goes (teardowns run last-in first-out)
      t.teardown(async () => { await s.run('DEL', { containerId, netns: ns.path, args, conf: { kubeconfig: k.kubeconfigPath } }) })
      netnsOf.set(name, ns)
      sandboxes.push({ namespace: 'netrank-probes', pod: name, uid: `uid-${name}`, containerId, netnsPath: ns.path })
      if (side === 'b') servers.set(net, iperf3Server(t, ns))
      sockperfServer(t, ns) // the peer's transactions, and each client's own loopback floor
    }
  }
  await sleep(300) // iperf3 servers listening

  const adir = tempDir(t, 'nr-probes')
  const raw = {
    node: NODE,
    plugins: [{ name: 'nr-capped' }, { name: 'nr-fast' }],
    cni: { confDir: s.confDir, stateDir: s.stateDir, hostLocalDataDir: s.dataDir },
    kubernetes: { kubeconfig: k.kubeconfigPath },
    collectors: {
      probes: {
        enabled: true, podLabel: LABEL, port: PORT,
        iperf3: { intervalMs: 60_000, durationSeconds: 2, omitSeconds: 1, timeoutMs: 15_000, jitterRatio: 0.2 },
        rtt: { intervalMs: 10_000, count: 5, connectTimeoutMs: 1000 },
        samples: 5,
      },
    },
    audit: { dir: join(adir, 'audit') },
  }

  t.test('through the agent: the shaped network is measured at 200 Mbit/s ±10 %, the unshaped one well above, and ranks below it', async t => {
    const agent = await createAgent(parseConfig(raw, { baseDir: adir }))
    const app = await buildServer({ agent, logger: false })
    t.teardown(async () => { await app.close(); await agent.close() })
    await agent.runCollectorsOnce()
    const rank = (await app.inject({ method: 'GET', url: '/v1/rank?profile=throughput' })).json() as {
      plugins: Array<{ plugin: string, rank: number, kpis: Record<string, { value: number } | undefined>, criteria: Record<string, { score: number, weight: number } | undefined> }>
    }
    const capped = rank.plugins.find((p) => p.plugin === 'nr-capped')
    const fast = rank.plugins.find((p) => p.plugin === 'nr-fast')
    const cappedBps = capped?.kpis.capacityBps?.value ?? 0
    const fastBps = fast?.kpis.capacityBps?.value ?? 0
    t.comment(`measured: nr-capped ${(cappedBps / 1e6).toFixed(1)} Mbit/s, nr-fast ${(fastBps / 1e6).toFixed(1)} Mbit/s`)
    t.ok(cappedBps >= SHAPE_BPS * 0.9 && cappedBps <= SHAPE_BPS * 1.1, `nr-capped ${(cappedBps / 1e6).toFixed(1)} Mbit/s within ±10 % of 200`)
    t.ok(fastBps > SHAPE_BPS * 2, `nr-fast ${(fastBps / 1e6).toFixed(1)} Mbit/s is well above the shaped one`)
    t.equal(fast?.rank, 1, 'unshaped first under the throughput profile (although listed second in the catalog)')
    t.ok((capped?.rank ?? 0) > (fast?.rank ?? 0), 'the shaped network ranks below')
    t.ok(capped?.criteria.capacity !== undefined && capped.criteria.utilisation !== undefined, '/rank explains the score with the capacity and utilisation criteria')
    const lat = capped?.kpis.latencySeconds?.value ?? 0
    t.ok(lat > 0 && lat < 0.1, `RTT measured (${(lat * 1e6).toFixed(0)} µs)`)
    t.equal(capped?.kpis.probeFailureRatio?.value, 0, 'no failed runs')
    const response = fast?.kpis.responseTimeSeconds?.value
    t.ok(response !== undefined && response >= 0 && response < 0.01, `TCP_RR measured (${((response ?? NaN) * 1e6).toFixed(1)} µs)`)
    const metrics = (await app.inject({ method: 'GET', url: '/metrics' })).body
    t.match(metrics, /^netrank_probe_runs_total\{node="nr-node",plugin="nr-capped",result="ok"\} 3$/m, 'one iperf3, one RTT and one TCP_RR run, result="ok"')
    const thr = /^netrank_probe_throughput_bytes_per_second\{node="nr-node",plugin="nr-capped"\} (\S+)$/m.exec(metrics)
    t.ok(thr !== null && Math.abs(Number(thr[1]) - cappedBps / 8) < 1, 'the throughput gauge is the KPI in bytes/s')
    t.match(metrics, /^netrank_probe_rtt_seconds_count\{node="nr-node",plugin="nr-fast"\} 20$/m, 'every echo reply\'s RTT observed (rtt.pingCount 20)')
    t.equal(capped?.kpis.latencyP99Seconds !== undefined, true, 'the ICMP run gives the p99 too')
    t.match(metrics, /^netrank_collector_last_success_timestamp_seconds\{collector="probes"\} \d/m)
  })

  t.test('iperf3 missing is a collector error and a failed run; a silent peer is a timeout; the budget skips runs', async t => {
    const records = new AttachmentRecordsSource({ stateDir: s.stateDir })
    const pods: PodObject[] = ['fast-a', 'fast-b'].map((n) => ({ metadata: { namespace: 'netrank-probes', name: `probe-${n}`, labels: { [LABEL]: 'nr-fast' } }, spec: { nodeName: NODE } }))
    const cache: KubeCache<PodObject> = { list: () => pods, synced: true, lastError: undefined, start: async () => {}, stop: async () => {} }
    const runs: string[] = []
    const common = {
      node: NODE, plugins: ['nr-fast'], podLabel: LABEL, port: PORT,
      iperf3: { intervalMs: 60_000, durationSeconds: 1, omitSeconds: 0, timeoutMs: 10_000, jitterRatio: 0 },
      rtt: { intervalMs: 10_000, count: 2, connectTimeoutMs: 1000 },
      samples: 5, records, probePods: async () => cache,
      hooks: { probeRun: (plugin: string, result: string) => { runs.push(`${plugin}:${result}`) } },
    }
    const missing = createProbesCollector({ ...common, budget: { maxBytes: 1e12, windowMs: 3_600_000 }, iperf3Binary: '/nonexistent/iperf3' })
    const x = ctx()
    await missing.collectOnce(x)
    t.match(x.errors.join('\n'), /cannot run \/nonexistent\/iperf3/)
    t.same(runs, ['nr-fast:ok', 'nr-fast:error'], 'RTT ok, iperf3 error')
    t.same(x.samples.filter((smp) => smp.kpi === 'probeFailureRatio').map((smp) => smp.value), [0, 0.5])
    t.notOk(x.samples.some((smp) => smp.kpi === 'capacityBps'), 'no throughput without iperf3')

    // a peer that accepts the connection and then says nothing: iperf3 waits for its control
    // protocol until the hard timeout kills it
    const silent = spawn('nsenter', [`--net=${netnsOf.get('probe-fast-b')?.path ?? ''}`, '--', process.execPath, '-e', "require('node:net').createServer(() => {}).listen(5202, () => console.log('listening'))"], { stdio: ['ignore', 'pipe', 'ignore'] })
    t.teardown(() => { if (silent.exitCode === null && silent.pid !== undefined) process.kill(silent.pid, 'SIGKILL') })
    // wait until it listens (a loaded machine starts node slowly; the ICMP probe no longer waits on the port)
    await Promise.race([new Promise<void>((resolve) => silent.stdout?.once('data', () => resolve())), sleep(15_000)])
    runs.length = 0
    const stuck = createProbesCollector({ ...common, port: 5202, iperf3: { ...common.iperf3, timeoutMs: 1500 }, budget: { maxBytes: 1e12, windowMs: 3_600_000 } })
    const z = ctx()
    await stuck.collectOnce(z)
    t.same(runs, ['nr-fast:ok', 'nr-fast:timeout'], 'connects succeed, iperf3 is killed at its timeout')
    t.match(stuck.report().runs[1], { kind: 'iperf3', result: 'timeout', error: 'iperf3 killed after 1500 ms' })
    t.same(z.errors, [], 'a stuck peer is a failed probe, not a collector error')

    runs.length = 0
    // a window of one interval and 4 MiB: the first run is sized to 4 MiB / 1.1, after it less
    // than a minimal run (1 MiB) is left
    const tight = createProbesCollector({ ...common, budget: { maxBytes: 4 * 1_048_576, windowMs: 60_000 } })
    const y = ctx()
    await tight.collectOnce(y)
    await tight.collectOnce(y)
    t.same(runs, ['nr-fast:ok', 'nr-fast:ok', 'nr-fast:ok', 'nr-fast:skipped-budget'], 'the first run spends the budget, the next is skipped')
    const rep = tight.report()
    t.ok(rep.budget.spentBytes > 3 * 1_048_576, `the run's real bytes are accounted (${rep.budget.spentBytes})`)
    t.equal(rep.plugins[0]?.probeFailureRatio, 0, 'a budget skip is not a failure')
    t.match(rep.runs.at(-1), { kind: 'iperf3', result: 'skipped-budget', error: /bytes of nr-fast's share .* spent in the last 60000 ms/ })
  })

  t.test('netrank collect probes --once gives the per-probe results', async t => {
    const out = await collectOnceFor(parseConfig({ ...raw, plugins: [{ name: 'nr-capped' }], collectors: { probes: { ...raw.collectors.probes, rtt: { count: 2 }, iperf3: { ...raw.collectors.probes.iperf3, durationSeconds: 1, omitSeconds: 0 } } } }, { baseDir: adir }), 'probes')
    t.same(out.errors, [])
    t.same(out.probes?.runs.map((r) => [r.plugin, r.kind, r.result, r.client, r.server?.replace(/ .*/, '')]), [
      ['nr-capped', 'rtt', 'ok', 'netrank-probes/probe-capped-a', 'netrank-probes/probe-capped-b'],
      ['nr-capped', 'iperf3', 'ok', 'netrank-probes/probe-capped-a', 'netrank-probes/probe-capped-b'],
      ['nr-capped', 'tcp-rr', 'ok', 'netrank-probes/probe-capped-a', 'netrank-probes/probe-capped-b'],
    ])
    const thr = out.probes?.runs[1]?.throughputBps ?? 0
    t.ok(thr > SHAPE_BPS * 0.8 && thr < SHAPE_BPS * 1.1, `the shaped run (${(thr / 1e6).toFixed(1)} Mbit/s)`)
    // TCP_RR: the network's share of a transaction, the prober's loopback floor kept out. Ground
    // truth: the kernel's ICMP RTT between the same two pods, measured right after. (The TCP-connect
    // probe run by a Node process read 2.5× the kernel's RTT on a bridge like this one.)
    const rr = out.probes?.runs[2]
    const serverIp = /^\S+ (\S+):\d+$/.exec(rr?.server ?? '')?.[1] ?? ''
    t.match(rr?.server, new RegExp(`:${RR_PORT}$`), 'the peer\'s sockperf server')
    const ping = await runPingProbe({ netnsPath: netnsOf.get('probe-capped-a')?.path ?? '', host: serverIp, count: 20, intervalMs: 20 })
    const response = rr?.responseSeconds ?? NaN
    t.comment(`nr-capped TCP_RR: peer p50 ${((rr?.rttSeconds ?? NaN) * 1e6).toFixed(1)} µs, loopback floor ${((rr?.floorSeconds ?? NaN) * 1e6).toFixed(1)} µs → ${(response * 1e6).toFixed(1)} µs; ping p50 ${((ping.p50Seconds ?? NaN) * 1e6).toFixed(1)} µs`)
    t.ok(ping.ok, `ping between the probe pods: ${ping.error ?? 'ok'}`)
    t.ok((rr?.floorSeconds ?? 0) > 0 && (rr?.rttSeconds ?? 0) > 0, 'floor and peer were both measured')
    t.equal(response, Math.max(0, (rr?.rttSeconds ?? 0) - (rr?.floorSeconds ?? 0)), 'the figure is peer p50 − floor p50')
    t.ok(response >= 0 && response <= 2 * (ping.p50Seconds ?? 0), `the network's share (${(response * 1e6).toFixed(1)} µs) is within 2× of the kernel's RTT`)
  })

  t.test('end to end: cadvisor, probes and ipam in one agent; /rank explains with their KPIs and /metrics carries them', async t => {
    const kubelet = await startKubeletStandIn({ pods: () => sandboxes })
    t.teardown(() => kubelet.close())
    const edir = tempDir(t, 'nr-e2e')
    const agent = await createAgent(parseConfig({
      ...raw,
      collectors: {
        probes: { ...raw.collectors.probes, rtt: { count: 2 }, iperf3: { ...raw.collectors.probes.iperf3, durationSeconds: 1, omitSeconds: 0 } },
        cadvisor: { enabled: true, source: 'kubelet-metrics', url: kubelet.url, intervalMs: 1000, windowMs: 60_000 },
        ipam: { enabled: true, intervalMs: 1000 },
      },
      audit: { dir: join(edir, 'audit') },
    }, { baseDir: edir }))
    const app = await buildServer({ agent, logger: false })
    t.teardown(async () => { await app.close(); await agent.close() })
    await agent.runCollectorsOnce() // the probes' traffic falls between this cadvisor scrape…
    await agent.runCollectorsOnce() // …and this one
    const rank = (await app.inject({ method: 'GET', url: '/rank' })).json() as { plugins: Array<{ plugin: string, kpis: Record<string, { value: number } | undefined> }> }
    for (const p of rank.plugins) {
      const names = Object.keys(p.kpis).sort()
      t.same(names, ['capacityBps', 'capacityRxBps', 'capacityTxBps', 'headroomBps', 'ipCapacity', 'ipFree', 'ipOccupancy', 'ipSubnets', 'ipUsed', 'latencyP99Seconds', 'latencySeconds', 'loadedLatencySeconds', 'probeFailureRatio', 'responseTimeSeconds', 'rxBps', 'txBps', 'usageBps'], `${p.plugin}: every measured KPI is explained (the second round's iperf3 run was -R: capacityRxBps)`)
      t.equal(p.kpis.ipUsed?.value, 2, `${p.plugin}: its two probe pods hold two addresses`)
      // the probe pods' own iperf3 traffic is measurement, not load: the cadvisor collector
      // leaves pods carrying the probe label out, as it does hostNetwork pods
      t.equal(p.kpis.txBps?.value, 0, `${p.plugin}: the probe traffic is not counted as load (${p.kpis.txBps?.value})`)
      t.equal(p.kpis.rxBps?.value, 0, `${p.plugin}: nor as receive rate`)
    }
    const metrics = (await app.inject({ method: 'GET', url: '/metrics' })).body
    for (const family of ['netrank_plugin_receive_bytes_per_second', 'netrank_plugin_transmit_bytes_per_second', 'netrank_probe_throughput_bytes_per_second', 'netrank_ipam_allocated_ips', 'netrank_ipam_capacity_ips']) {
      t.match(metrics, new RegExp(`^${family}\\{node="nr-node",plugin="nr-capped"\\} [0-9.e+]+$`, 'm'), family)
    }
    for (const collector of ['cadvisor', 'probes', 'ipam']) {
      t.match(metrics, new RegExp(`^netrank_collector_last_success_timestamp_seconds\\{collector="${collector}"\\} \\d`, 'm'), `${collector} reports success`)
    }
    // every collector's error counter exists from the start at 0; none may have moved
    t.notMatch(metrics, /^netrank_collector_errors_total\{[^}]*\} [1-9]/m, 'no collector error')
    t.match(metrics, /^netrank_collector_errors_total\{collector="probes"\} 0$/m)
    t.match(metrics, /^netrank_cni_add_duration_seconds_count 4$/m, 'the four probe pods\' ADDs')
  })

  // Last: it kills nr-fast's iperf3 server. The agent's own loops at a 10 s iperf3 interval
  // under the DEFAULT budget (2 GiB/h: sized by bytes on this unshaped veth), then the server
  // dies and capacity ages as the wall clock does, turning stale exactly past staleAfterMs.
  t.test('the loops: an unshaped veth is measured every interval under the default budget; with its server killed, capacity ages and turns stale on schedule', async t => {
    const STALE_MS = 20_000
    const INTERVAL_MS = 10_000
    const config = parseConfig({
      ...raw,
      collectors: { probes: { ...raw.collectors.probes, iperf3: { ...raw.collectors.probes.iperf3, intervalMs: INTERVAL_MS, timeoutMs: 8_000, jitterRatio: 0.2 }, tcpRr: { enabled: false } } },
      selector: { staleAfterMs: { capacityBps: STALE_MS, capacityTxBps: STALE_MS, capacityRxBps: STALE_MS } },
    }, { baseDir: adir })
    t.equal(config.collectors.probes.budget.maxBytes, 2 * 1024 ** 3, 'the default budget')
    const agent = await createAgent(config)
    const app = await buildServer({ agent, logger: false })
    t.teardown(async () => { await app.close(); await agent.close() })
    agent.startCollectors()
    type Reading = { value: number, ageSeconds: number, samples: number, stale: boolean }
    const fastKpis = async (): Promise<Record<string, Reading | undefined>> =>
      ((await app.inject({ method: 'GET', url: '/rank' })).json() as { plugins: Array<{ plugin: string, kpis: Record<string, Reading | undefined> }> }).plugins.find((p) => p.plugin === 'nr-fast')?.kpis ?? {}
    const WATCH_MS = 4.5 * INTERVAL_MS
    await sleep(WATCH_MS)
    const k = await fastKpis()
    const runs = (k.capacityTxBps?.samples ?? 0) + (k.capacityRxBps?.samples ?? 0)
    const metrics = (await app.inject({ method: 'GET', url: '/metrics' })).body
    t.comment(`nr-fast in ${WATCH_MS / 1000} s: ${runs} iperf3 runs (tx ${k.capacityTxBps?.samples ?? 0}, rx ${k.capacityRxBps?.samples ?? 0}), capacity ${((k.capacityBps?.value ?? 0) / 1e9).toFixed(1)} Gbit/s`)
    // the first run at start, each next one 8–12 s after the previous ended: at least 4 in 45 s
    t.ok(runs >= 4, `measured every interval: ${runs} runs in ${WATCH_MS / 1000} s`)
    t.match(metrics, /^netrank_probe_runs_total\{node="nr-node",plugin="nr-fast",result="skipped-budget"\} 0$/m, 'never skipped by the budget')
    // The magnitude is not this test's: its byte-sized runs of a few MiB read 4.6 Gbit/s idle and
    // 0.38–0.8 Gbit/s with the rest of the suite beside it (two CI failures). That the unshaped
    // veth measures well above the shaped one is asserted by the dedicated runs above; here: a
    // real, positive capacity on every interval.
    t.ok((k.capacityBps?.value ?? 0) > 0, `a capacity was measured (${((k.capacityBps?.value ?? 0) / 1e6).toFixed(0)} Mbit/s)`)

    const server = servers.get('nr-fast')
    if (server?.pid !== undefined) process.kill(server.pid, 'SIGKILL')
    if (server !== undefined && server.exitCode === null && server.signalCode === null) await new Promise((resolve) => server.once('exit', resolve))
    // the run in flight when the server died may still land: watch from the first failure on
    const seen: Array<{ atMs: number, ageMs: number, stale: boolean }> = []
    const failed = /^netrank_probe_runs_total\{node="nr-node",plugin="nr-fast",result="(?:error|timeout)"\} (\d+)$/gm
    const failedRuns = async (): Promise<number> => [...(await app.inject({ method: 'GET', url: '/metrics' })).body.matchAll(failed)].reduce((n, m) => n + Number(m[1]), 0)
    const deadline = Date.now() + STALE_MS + 3 * INTERVAL_MS
    while (Date.now() < deadline) {
      const c = (await fastKpis()).capacityBps
      if (c !== undefined) seen.push({ atMs: Date.now(), ageMs: c.ageSeconds * 1000, stale: c.stale })
      // until stale AND a run against the dead server happened: under load the last good run may
      // be old enough at the kill to turn stale before the next run is due (CI: 18.9 s old at the kill)
      if (c?.stale === true && seen.filter((x) => x.stale).length >= 3 && await failedRuns() >= 1) break
      await sleep(500)
    }
    const after = seen.filter((x, i) => i > 0 && x.ageMs >= (seen[i - 1]?.ageMs ?? 0))
    const first = seen[0]
    const last = seen.at(-1)
    t.comment(`after the kill: ${seen.length} looks, age ${((first?.ageMs ?? 0) / 1000).toFixed(1)} → ${((last?.ageMs ?? 0) / 1000).toFixed(1)} s, stale from ${((seen.find((x) => x.stale)?.ageMs ?? NaN) / 1000).toFixed(1)} s`)
    t.ok(seen.every((x) => x.stale === (x.ageMs > STALE_MS)), 'stale exactly when older than staleAfterMs, at every look')
    t.ok(last?.stale === true, 'it turned stale')
    // no new capacity after the kill: the age grows with the wall clock (one run in flight at the kill may reset it once)
    const resets = seen.filter((x, i) => i > 0 && x.ageMs < (seen[i - 1]?.ageMs ?? 0)).length
    t.ok(resets <= 1, `no capacity measured after the kill (age went back ${resets}×)`)
    const grew = (last?.ageMs ?? 0) - (after[0]?.ageMs ?? 0)
    const wall = (last?.atMs ?? 0) - (after[0]?.atMs ?? 0)
    t.ok(Math.abs(grew - wall) <= 1_000, `the age grew as the wall clock did (${grew} ms in ${wall} ms)`)
    const failures = await failedRuns()
    t.ok(failures >= 1, `the runs against the dead server failed (${failures}), and said so`)
    t.ok(((await fastKpis()).probeFailureRatio?.value ?? 0) > 0, 'probeFailureRatio rose')
  })
})
