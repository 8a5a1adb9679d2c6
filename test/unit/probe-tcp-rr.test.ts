// TCP_RR response time: sockperf's ping-pong over one kept-open TCP connection (real
// captures, test/fixtures/sockperf/ORIGIN.md), the prober's loopback floor measured in the
// same run and kept out of the figure; sockperf's errors (which exit 0) are failed runs with
// its words; a missing sockperf is said once and stops the kind, never a network failure.
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { parseSockperfOutput, runTcpRrProbe } from '../../collectors/probes/tcp-rr-probe.js'
import type { TcpRrProbeResult } from '../../collectors/probes/tcp-rr-probe.js'
import { createProbesCollector } from '../../collectors/probes/probes-collector.js'
import type { KpiSample } from '../../contract/kpis.js'
import type { TestLike } from '../support/netns.js'
import { PAIR_SETTINGS } from '../support/probe-pair.js'

const FIXTURES = new URL('../fixtures/sockperf/', import.meta.url)
const fixture = (f: string): string => readFileSync(new URL(f, FIXTURES), 'utf8')

t.test('sockperf ping-pong output: observations and round-trip percentiles in seconds; its ERROR lines', async t => {
  const peer = parseSockperfOutput(fixture('sockperf3.7_tcp_ping-pong_mps1000_veth-netns.txt'))
  t.same(peer, { observations: 547, p50Seconds: 97.445e-6, p99Seconds: 2913.007e-6 })
  const lo = parseSockperfOutput(fixture('sockperf3.7_tcp_ping-pong_mps1000_loopback.txt'))
  t.equal(lo.p50Seconds, 105.724e-6)
  t.same(parseSockperfOutput(fixture('sockperf3.7_tcp_ping-pong_refused.txt')), { error: 'Can`t connect socket (errno=111 Connection refused)' })
  t.same(parseSockperfOutput(fixture('sockperf3.7_tcp_ping-pong_no-route.txt')), { error: 'Can`t connect socket (errno=113 No route to host)' })
  t.same(parseSockperfOutput('garbage\n{"not":"sockperf"}'), {}, 'garbage: nothing')
  t.same(parseSockperfOutput(''), {})
})

// A stand-in for the sockperf binary (the runner's `sockperf` option): prints a real capture
// chosen by the -i it was given, and records its argv. runInNetns enters /proc/self/ns/net,
// which needs root, so these cases skip without it.
function fakeSockperf (t: TestLike, byHost: Record<string, string>): { bin: string, calls: () => string[] } {
  const dir = mkdtempSync(join(tmpdir(), 'nr-sockperf-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const log = join(dir, 'calls')
  const cases = Object.entries(byHost).map(([host, f]) => `  ${host}) cat '${new URL(f, FIXTURES).pathname}' ;;`).join('\n')
  writeFileSync(join(dir, 'sockperf'), `#!/bin/sh\necho "$*" >> '${log}'\nhost=''\nprev=''\nfor a in "$@"; do [ "$prev" = "-i" ] && host="$a"; prev="$a"; done\ncase "$host" in\n${cases}\n  *) echo 'unexpected host' >&2; exit 3 ;;\nesac\n`)
  chmodSync(join(dir, 'sockperf'), 0o755)
  return { bin: join(dir, 'sockperf'), calls: () => { try { return readFileSync(log, 'utf8').trim().split('\n') } catch { return [] } } }
}

const asRoot = { skip: process.getuid?.() !== 0 ? 'nsenter needs root' : false }

t.test('a run: the floor over loopback first, then the peer; the figure is peer p50 − floor p50, never below 0', asRoot, async t => {
  // the real capture pair: the peer (97.4 µs) was no slower than the loopback floor (105.7 µs): 0, not −8 µs
  const same = fakeSockperf(t, { '127.0.0.1': 'sockperf3.7_tcp_ping-pong_mps1000_loopback.txt', '10.0.0.3': 'sockperf3.7_tcp_ping-pong_mps1000_veth-netns.txt' })
  const r = await runTcpRrProbe({ netnsPath: '/proc/self/ns/net', host: '10.0.0.3', port: 11111, seconds: 1, ratePerSecond: 1000, sockperf: same.bin })
  t.same(r, { ok: true, responseSeconds: 0, peerP50Seconds: 97.445e-6, floorP50Seconds: 105.724e-6, peerP99Seconds: 2913.007e-6, observations: 547, missingBinary: false })
  t.same(same.calls(), ['ping-pong --tcp -i 127.0.0.1 -p 11111 -t 1 --mps=1000 --full-rtt', 'ping-pong --tcp -i 10.0.0.3 -p 11111 -t 1 --mps=1000 --full-rtt'], 'floor, then peer, one kept-open connection each, paced')
  // swapped: a peer slower than the floor by 8.279 µs reads exactly that
  const slower = fakeSockperf(t, { '127.0.0.1': 'sockperf3.7_tcp_ping-pong_mps1000_veth-netns.txt', '10.0.0.3': 'sockperf3.7_tcp_ping-pong_mps1000_loopback.txt' })
  const s = await runTcpRrProbe({ netnsPath: '/proc/self/ns/net', host: '10.0.0.3', port: 11111, seconds: 1, ratePerSecond: 1000, sockperf: slower.bin })
  t.ok(s.ok && Math.abs((s.responseSeconds ?? 0) - 8.279e-6) < 1e-12, `the network's share: ${s.responseSeconds}`)
})

t.test('bad input: a refused peer, a refused floor, garbage, a missing sockperf — failed runs that say why', asRoot, async t => {
  const refused = fakeSockperf(t, { '127.0.0.1': 'sockperf3.7_tcp_ping-pong_mps1000_loopback.txt', '10.0.0.3': 'sockperf3.7_tcp_ping-pong_refused.txt' })
  const a = await runTcpRrProbe({ netnsPath: '/proc/self/ns/net', host: '10.0.0.3', port: 11111, seconds: 1, ratePerSecond: 1000, sockperf: refused.bin })
  t.same([a.ok, a.responseSeconds, a.missingBinary, a.error], [false, undefined, false, 'sockperf to 10.0.0.3:11111: Can`t connect socket (errno=111 Connection refused)'])
  const noFloor = fakeSockperf(t, { '127.0.0.1': 'sockperf3.7_tcp_ping-pong_refused.txt' })
  const b = await runTcpRrProbe({ netnsPath: '/proc/self/ns/net', host: '10.0.0.3', port: 11111, seconds: 1, ratePerSecond: 1000, sockperf: noFloor.bin })
  t.equal(b.ok, false)
  t.match(b.error, /^the prober's floor \(the client pod's own sockperf server on loopback\) could not be measured: sockperf to 127\.0\.0\.1:11111: Can`t connect/)
  t.equal(noFloor.calls().length, 1, 'no peer run without a floor')
  const garbage = fakeSockperf(t, { '127.0.0.1': '../ping/ok-20.txt' })
  const c = await runTcpRrProbe({ netnsPath: '/proc/self/ns/net', host: '10.0.0.3', port: 11111, seconds: 1, ratePerSecond: 1000, sockperf: garbage.bin })
  t.match(c.error, /sockperf to 127\.0\.0\.1:11111 printed no percentiles \(exit 0\)/)
  const missing = await runTcpRrProbe({ netnsPath: '/proc/self/ns/net', host: '10.0.0.3', port: 11111, seconds: 1, ratePerSecond: 1000, sockperf: '/nonexistent/sockperf' })
  t.same([missing.ok, missing.missingBinary], [false, true])
  t.match(missing.error, /^cannot run \/nonexistent\/sockperf: /)
})

function collector (rr: () => TcpRrProbeResult, enabled = true) {
  const samples: KpiSample[] = []
  const errors: string[] = []
  let calls = 0
  const c = createProbesCollector({
    ...PAIR_SETTINGS,
    tcpRr: { enabled, intervalMs: 60_000, port: 11111, seconds: 1, ratePerSecond: 1000 },
    runners: {
      tcpRr: async (o) => { calls++; t.equal(o.host, '10.0.0.3'); t.equal(o.port, 11111); return rr() },
      ping: async () => ({ ok: false, rttSeconds: [], transmitted: 0, received: 0, missingBinary: false, error: 'unused' }),
      rtt: async () => ({ ok: false, rttSeconds: [], failures: 3, error: 'unused' }),
      iperf3: async () => ({ result: 'error', bytes: 0, missingBinary: false, durationMs: 1, error: 'unused' }),
    },
  })
  let now = 1000
  const ctx = { node: 'n1', now: () => now, emit: (s: KpiSample[]) => { samples.push(...s); return 0 }, reportSuccess: () => undefined, reportError: (_n: string, e: unknown) => { errors.push((e as Error).message) } }
  return { c, samples, errors, calls: () => calls, once: async () => { now += 60_000; await c.collectOnce(ctx) } }
}

t.test('the collector: responseTimeSeconds from a run, stamped with its time, source probes:tcp-rr; the run keeps peer and floor', async t => {
  const x = collector(() => ({ ok: true, responseSeconds: 42e-6, peerP50Seconds: 140e-6, peerP99Seconds: 300e-6, floorP50Seconds: 98e-6, observations: 550, missingBinary: false }))
  await x.once()
  const rr = x.samples.filter((s) => s.kpi === 'responseTimeSeconds')
  t.same(rr, [{ plugin: 'net', kpi: 'responseTimeSeconds', value: 42e-6, atMs: 61_000, source: 'probes:tcp-rr' }])
  const run = x.c.report().runs.find((r) => r.kind === 'tcp-rr')
  t.match(run, { result: 'ok', responseSeconds: 42e-6, rttSeconds: 140e-6, rttP99Seconds: 300e-6, floorSeconds: 98e-6, server: 'probes/probe-b 10.0.0.3:11111' })
  t.notOk(x.samples.some((s) => s.kpi === 'latencySeconds'), 'the TCP_RR figure is not the idle RTT')
})

t.test('a failed run is a counted failure with sockperf\'s words and no value; a missing sockperf is said once and the kind stops', async t => {
  const fail = collector(() => ({ ok: false, observations: 0, missingBinary: false, error: 'sockperf to 10.0.0.3:11111: Can`t connect socket (errno=111 Connection refused)' }))
  await fail.once()
  t.notOk(fail.samples.some((s) => s.kpi === 'responseTimeSeconds'), 'no value from a failed run')
  t.match(fail.c.report().runs.find((r) => r.kind === 'tcp-rr'), { result: 'error', error: /Connection refused/ })
  // ping and TCP connect fail too in this stand-in: 2 failures of 2 runs that are runs (iperf3's budget skip is not one)
  t.equal(fail.samples.filter((s) => s.kpi === 'probeFailureRatio').pop()?.value, 1)
  t.same(fail.errors, [], 'a network failure is no collector error')

  const missing = collector(() => ({ ok: false, observations: 0, missingBinary: true, error: 'cannot run sockperf: No such file or directory' }))
  await missing.once()
  await missing.once()
  t.equal(missing.calls(), 1, 'tried once, then no more TCP_RR runs')
  t.same(missing.errors, ['cannot run sockperf: No such file or directory: TCP_RR probes stop, no responseTimeSeconds (install sockperf)'])

  const off = collector(() => { throw new Error('must not run') }, false)
  await off.once()
  t.equal(off.calls(), 0, 'tcpRr.enabled false: never run')
})
