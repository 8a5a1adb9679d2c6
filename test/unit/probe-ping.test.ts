// The idle RTT from the kernel's ICMP echo: iputils ping's output parsed (real captures,
// test/fixtures/ping/ORIGIN.md), p50/p99 published with source probes:icmp, and TCP connect
// only where ping cannot run or gets no reply — said in the run and the KPI's source.
import { readFileSync } from 'node:fs'
import t from 'tap'
import { parsePingOutput, runPingProbe } from '../../collectors/probes/ping-probe.js'
import type { PingProbeResult } from '../../collectors/probes/ping-probe.js'
import { createProbesCollector } from '../../collectors/probes/probes-collector.js'
import { PAIR_SETTINGS } from '../support/probe-pair.js'
import type { TcpRttProbeResult } from '../../collectors/probes/tcp-rtt-probe.js'
import type { KpiSample } from '../../contract/kpis.js'

const fixture = (f: string): string => readFileSync(new URL(`../fixtures/ping/${f}`, import.meta.url), 'utf8')

t.test('iputils ping output: every reply\'s time, the summary counts', async t => {
  const ok = parsePingOutput(fixture('ok-20.txt'))
  t.equal(ok.rttSeconds.length, 20)
  t.equal(ok.rttSeconds[0], 0.000110, 'the first reply: time=0.110 ms')
  t.same([ok.transmitted, ok.received], [20, 20])
  const lost = parsePingOutput(fixture('all-lost.txt'))
  t.same(lost, { rttSeconds: [], transmitted: 3, received: 0 })
  t.same(parsePingOutput('garbage\n{"not":"ping"}\n'), { rttSeconds: [] }, 'garbage: no value, no summary')
  t.same(parsePingOutput(''), { rttSeconds: [] })
})

t.test('a missing ping binary is named as such; nothing is measured', async t => {
  const r = await runPingProbe({ netnsPath: '/proc/self/ns/net', host: '127.0.0.1', count: 2, intervalMs: 10, ping: '/nonexistent/ping' })
  t.equal(r.ok, false)
  t.equal(r.missingBinary, true)
  t.match(r.error, /^cannot run \/nonexistent\/ping: /)
  t.same(r.rttSeconds, [])
})

t.test('ping on loopback in the agent\'s own netns: real kernel RTTs, p50 ≤ p99', { skip: process.getuid?.() !== 0 ? 'nsenter needs root' : false }, async t => {
  const r = await runPingProbe({ netnsPath: '/proc/self/ns/net', host: '127.0.0.1', count: 5, intervalMs: 10 })
  t.equal(r.ok, true, r.error ?? '')
  t.same([r.transmitted, r.received], [5, 5])
  t.ok((r.p50Seconds ?? 1) > 0 && (r.p50Seconds ?? 1) <= (r.p99Seconds ?? 0) && (r.p99Seconds ?? 1) < 0.01, `p50 ${r.p50Seconds} ≤ p99 ${r.p99Seconds} < 10 ms`)
})

async function rttRun (ping: () => PingProbeResult, tcp: () => TcpRttProbeResult) {
  const samples: KpiSample[] = []
  const errors: string[] = []
  let tcpCalls = 0
  const c = createProbesCollector({
    ...PAIR_SETTINGS,
    runners: { ping: async () => ping(), rtt: async () => { tcpCalls++; return tcp() }, iperf3: async () => ({ result: 'error', bytes: 0, missingBinary: false, durationMs: 1, error: 'unused' }) },
  })
  await c.collectOnce({ node: 'n1', now: () => 1000, emit: (s) => { samples.push(...s); return 0 }, reportSuccess: () => undefined, reportError: (_n, e) => { errors.push((e as Error).message) } })
  return { samples, errors, tcpCalls, run: c.report().runs.find((r) => r.kind === 'rtt') }
}
const tcpOk = (): TcpRttProbeResult => ({ ok: true, rttSeconds: [0.0011, 0.0012, 0.0010], medianSeconds: 0.0011, spreadSeconds: 0.0001, failures: 0 })
const kpi = (s: KpiSample[], k: string): KpiSample | undefined => s.find((x) => x.kpi === k)

t.test('ICMP answers: p50 and p99 with source probes:icmp, TCP connect not run', async t => {
  const x = await rttRun(() => ({ ok: true, rttSeconds: [0.0001, 0.0002, 0.0009], p50Seconds: 0.0002, p99Seconds: 0.000886, transmitted: 3, received: 3, missingBinary: false }), tcpOk)
  t.same([kpi(x.samples, 'latencySeconds')?.value, kpi(x.samples, 'latencySeconds')?.source], [0.0002, 'probes:icmp'])
  t.same([kpi(x.samples, 'latencyP99Seconds')?.value, kpi(x.samples, 'latencyP99Seconds')?.source], [0.000886, 'probes:icmp'])
  t.equal(x.tcpCalls, 0)
  t.equal(x.run?.rttMethod, 'icmp')
  t.same(x.errors, [])
})

t.test('no echo reply (ICMP filtered): TCP connect stands in, and the run and the source say so', async t => {
  const x = await rttRun(() => ({ ok: false, rttSeconds: [], transmitted: 20, received: 0, missingBinary: false, error: 'no echo reply from 10.0.0.3: 20 sent, 0 received' }), tcpOk)
  t.equal(x.tcpCalls, 1)
  t.same([kpi(x.samples, 'latencySeconds')?.value, kpi(x.samples, 'latencySeconds')?.source], [0.0011, 'probes:tcp-connect'])
  t.equal(kpi(x.samples, 'latencyP99Seconds'), undefined, 'no p99 from 3 connects')
  t.match(x.run, { result: 'ok', rttMethod: 'tcp-connect', error: 'icmp: no echo reply from 10.0.0.3: 20 sent, 0 received' })
})

t.test('ping not installed: one collector error naming the fix, then TCP connect', async t => {
  const x = await rttRun(() => ({ ok: false, rttSeconds: [], transmitted: 0, received: 0, missingBinary: true, error: 'cannot run ping: nsenter: failed to execute ping: No such file or directory' }), tcpOk)
  t.equal(x.tcpCalls, 1)
  t.match(x.errors, [/idle RTT falls back to TCP connect \(install iputils-ping\)$/])
  t.equal(kpi(x.samples, 'latencySeconds')?.source, 'probes:tcp-connect')
})

t.test('unreachable peer: both fail, a counted failure, no fake value', async t => {
  const x = await rttRun(() => ({ ok: false, rttSeconds: [], transmitted: 20, received: 0, missingBinary: false, error: 'no echo reply' }), () => ({ ok: false, rttSeconds: [], failures: 3, error: 'connect EHOSTUNREACH' }))
  t.equal(kpi(x.samples, 'latencySeconds'), undefined)
  t.equal(kpi(x.samples, 'probeFailureRatio')?.value, 1, 'every run failed')
  t.match(x.run, { result: 'error', error: 'icmp: no echo reply; connect EHOSTUNREACH' })
})
