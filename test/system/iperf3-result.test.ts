import t from 'tap'
import { spawn, spawnSync } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { parseIperf3Output } from '../../collectors/probes/iperf3-result.js'
import { setTimeout as sleep } from 'node:timers/promises'
import { freePort } from '../support/free-port.js'

const fx = (name: string): Buffer => readFileSync(new URL(`../fixtures/iperf3/${name}`, import.meta.url))

t.test('iperf 3.9 TCP from a pod: 1.70e9 bits/s received, mean RTT 2397 µs, 1572 retransmits, -O 3 omitted intervals', async t => {
  const r = parseIperf3Output(fx('iperf3.9_tcp_client_10s-omit3_k8s-pod-cross-cloud.json'))
  t.match(r, { ok: true, protocol: 'TCP', throughputFrom: 'sum_received', retransmits: 1572, partial: false, version: 'iperf 3.9' })
  t.equal(r.throughputBps, 1699429654.736899)
  t.equal(r.rttSeconds, 0.002397)
  t.equal(r.omittedIntervals, 2)
  t.equal(r.intervals, 10)
  t.equal(r.error, undefined)
})

t.test('iperf 3.6 control-socket error: no intervals, empty end, the error text', async t => {
  const r = parseIperf3Output(fx('iperf3.6_error_control-socket-closed_k8s-pod.json'))
  t.same(r, { ok: false, error: 'error - control socket has closed unexpectedly', version: 'iperf 3.6', omittedIntervals: 0, intervals: 0, partial: false })
})

t.test('interrupted iperf 3.6 run after ^C with CRLF: a partial result with its 11 intervals, sent rate since nothing was received', async t => {
  const raw = fx('iperf3.6_error_interrupted-partial-results_leading-caretC-CRLF_k8s-pod.txt')
  t.equal(raw.subarray(0, 2).toString(), '^C', 'the stray bytes are really there')
  t.throws(() => JSON.parse(raw.toString()), 'the file as stored is not JSON')
  const r = parseIperf3Output(raw)
  t.match(r, { ok: false, partial: true, error: 'interrupt - the client has terminated', intervals: 11, omittedIntervals: 0, protocol: 'TCP', throughputFrom: 'sum_sent' })
  t.equal(r.throughputBps, 160287232.32821622, 'end.sum_sent (sum_received has 0 bytes)')
  t.equal(r.rttSeconds, 0.130196, 'mean_rtt 130196 µs')
})

t.test('connection refused and auth failed (iperf 3.7) are errors without results', async t => {
  const refused = parseIperf3Output(fx('iperf3.7_error_connection-refused_openwisp.json'))
  t.same(refused, { ok: false, error: 'error - unable to connect to server: Connection refused', version: 'iperf 3.7', omittedIntervals: 0, intervals: 0, partial: false })
  const auth = parseIperf3Output(fx('iperf3.7_error_auth-failed_openwisp.json'))
  t.equal(auth.ok, false)
  t.equal(auth.error, 'error - test authorization failed')
  t.equal(auth.partial, false)
})

t.test('loopback TCP (iperf 3.9): ~44 Gbit/s and mean RTT 25 µs', async t => {
  const r = parseIperf3Output(fx('iperf3.9_tcp_client_loopback_openwisp.json'))
  t.equal(r.ok, true)
  t.equal(r.throughputBps, 44042139781.797935)
  t.equal(r.rttSeconds, 0.000025)
  t.equal(r.retransmits, 0)
})

t.test('a reverse run by bytes (iperf 3.12, -R -n): the client received, and no RTT (mean_rtt 0 is the receiver\'s lack of TCP_INFO)', async t => {
  const r = parseIperf3Output(fx('iperf3.12_tcp_client_reverse-n20MB_veth-netns.json'))
  t.match(r, { ok: true, protocol: 'TCP', throughputFrom: 'sum_received', version: 'iperf 3.12' })
  t.equal(r.throughputBps, 7970198618.908043)
  t.equal(r.rttSeconds, undefined, 'not a 0 s RTT')
})

t.test('UDP (iperf 3.9): end.sum with jitter and loss, no RTT', async t => {
  const r = parseIperf3Output(fx('iperf3.9_udp_client_loopback_openwisp.json'))
  t.match(r, { ok: true, protocol: 'UDP', throughputFrom: 'sum', lossRatio: 0, intervals: 10 })
  t.equal(r.throughputBps, 1048569.7085817485)
  t.equal(r.jitterSeconds, 0.011259258240784126 / 1000)
  t.equal(r.rttSeconds, undefined)
})

t.test('UDP loss is lost/packets (made-up numbers on the real UDP file)', async t => {
  const doc = JSON.parse(fx('iperf3.9_udp_client_loopback_openwisp.json').toString())
  doc.end.sum.lost_packets = 4
  doc.end.sum.packets = 40
  t.equal(parseIperf3Output(JSON.stringify(doc)).lossRatio, 0.1)
})

t.test('without end sums the mean of the non-omitted intervals is the throughput (made from the real 3.9 file)', async t => {
  const doc = JSON.parse(fx('iperf3.9_tcp_client_10s-omit3_k8s-pod-cross-cloud.json').toString())
  doc.end = {}
  doc.error = 'interrupt - the client has terminated'
  const counted = (doc.intervals as Array<{ sum: { omitted: boolean, bits_per_second: number } }>).filter((i) => !i.sum.omitted).map((i) => i.sum.bits_per_second)
  const r = parseIperf3Output(JSON.stringify(doc))
  t.equal(r.throughputFrom, 'intervals')
  t.equal(r.throughputBps, counted.reduce((a, b) => a + b, 0) / counted.length)
  t.equal(r.partial, true)
  t.equal(r.ok, false)
})

t.test('iperf 3.6-style output without sender flags parses like 3.9 (flags removed from the real file)', async t => {
  const text = fx('iperf3.9_tcp_client_10s-omit3_k8s-pod-cross-cloud.json').toString().replace(/,\s*"sender":\s*true/g, '')
  t.notOk(text.includes('"sender": true'))
  const r = parseIperf3Output(text)
  t.equal(r.throughputBps, 1699429654.736899)
  t.equal(r.rttSeconds, 0.002397)
})

t.test('output that is empty, not JSON or truncated gives an error, never a throw', async t => {
  const cases: Array<[string, RegExp]> = [
    ['', /printed nothing/],
    ['iperf3: error - unable to connect', /no JSON object/],
    [fx('iperf3.9_tcp_client_loopback_openwisp.json').toString().slice(0, 2000), /not valid JSON/],
    ['{"start":{},"intervals":[],"end":{}}', /no throughput/],
    ['[1]', /no JSON object|not a JSON object|not valid JSON/],
  ]
  for (const [text, want] of cases) {
    const r = parseIperf3Output(text)
    t.equal(r.ok, false)
    t.match(r.error, want, JSON.stringify(text.slice(0, 30)))
  }
})

t.test('the installed iperf3 (Debian 3.12) on loopback: a real run and a real refusal parse', { skip: existsSync('/usr/bin/iperf3') ? false : 'iperf3 not installed' }, async t => {
  const port = await freePort()
  const server = spawn('/usr/bin/iperf3', ['-s', '-1', '-B', '127.0.0.1', '-p', String(port)], { stdio: 'ignore' })
  t.teardown(() => { if (server.exitCode === null) server.kill('SIGKILL') })
  // The server needs a moment to listen; retry the client until it connects (bounded).
  let out = ''
  for (let attempt = 0; attempt < 20; attempt++) {
    const r = spawnSync('/usr/bin/iperf3', ['-c', '127.0.0.1', '-p', String(port), '-t', '1', '-O', '1', '-J'], { encoding: 'utf8', timeout: 15_000 })
    out = r.stdout
    if (!out.includes('Connection refused')) break
    await sleep(100)
  }
  const r = parseIperf3Output(out)
  t.equal(r.ok, true, r.error ?? 'ok')
  t.equal(r.protocol, 'TCP')
  t.match(r.version, /^iperf 3\./)
  t.ok((r.throughputBps ?? 0) > 1e6, `throughput ${r.throughputBps} bit/s`)
  t.ok((r.rttSeconds ?? 0) > 0, 'mean_rtt present on Linux')
  t.ok(r.omittedIntervals >= 1, '-O 1 omitted an interval')
  const refused = spawnSync('/usr/bin/iperf3', ['-c', '127.0.0.1', '-p', String(await freePort()), '-t', '1', '-J'], { encoding: 'utf8', timeout: 15_000 })
  const e = parseIperf3Output(refused.stdout)
  t.equal(e.ok, false)
  t.match(e.error, /unable to connect to server: Connection refused/)
})

