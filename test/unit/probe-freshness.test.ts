// Honest freshness of the probe KPIs: each run emits only what it measured, stamped with
// its own time, so the store's age and sample count are those of real runs. Before, every
// run re-emitted the kept medians stamped "now": three hours after the only iperf3 run,
// capacity read age 0 s and 31 samples.
import t from 'tap'
import { createProbesCollector } from '../../collectors/probes/probes-collector.js'
import type { AttachmentRecordsSource, RecordedAttachment } from '../../collectors/attachment-records-source.js'
import type { KubeCache, PodObject } from '../../collectors/kube-watch.js'
import type { CollectorContext } from '../../collectors/types.js'
import type { Iperf3ProbeResult } from '../../collectors/probes/iperf3-probe.js'
import type { TcpRttProbeResult } from '../../collectors/probes/tcp-rtt-probe.js'
import { KpiStore } from '../../store/kpi-store.js'
import { parseConfig } from '../../agent/config/load-config.js'

const LABEL = 'netrank.io/probe'
const pods: PodObject[] = ['a', 'b'].map((n) => ({ metadata: { namespace: 'probes', name: `probe-${n}`, labels: { [LABEL]: 'net' } }, spec: { nodeName: 'n1' } }))
const cache: KubeCache<PodObject> = { list: () => pods, synced: true, lastError: undefined, start: async () => {}, stop: async () => {} }
const rec = (pod: string, ip: string): RecordedAttachment => ({ namespace: 'probes', pod, podUid: undefined, containerId: `c-${pod}`, network: 'net', ifname: 'eth0', netns: `/var/run/netns/${pod}`, ip, state: 'added' })
const records = { read: () => ({ atMs: 0, records: [], skipped: [], attachments: [rec('probe-a', '10.0.0.2'), rec('probe-b', '10.0.0.3')] }) } as unknown as AttachmentRecordsSource

function setup (o: { iperf3: () => Iperf3ProbeResult, rtt: () => TcpRttProbeResult, maxBytes?: number, budgetWindowMs?: number }) {
  let nowMs = 1_700_000_000_000
  const config = parseConfig({ plugins: [{ name: 'net' }] })
  const store = new KpiStore({ windowMs: config.selector.windowMs, maxSamplesPerSeries: config.selector.maxSamplesPerSeries, staleAfterMs: config.selector.staleAfterMs })
  const ctx: CollectorContext = { node: 'n1', now: () => nowMs, emit: (s) => store.ingest(s).rejected.length, reportSuccess: () => undefined, reportError: (_n, e) => { throw e } }
  const c = createProbesCollector({
    node: 'n1', plugins: ['net'], podLabel: LABEL, port: 5201,
    iperf3: { intervalMs: 60_000, durationSeconds: 3, omitSeconds: 0, timeoutMs: 10_000, jitterRatio: 0 },
    rtt: { intervalMs: 10_000, count: 5, connectTimeoutMs: 1000, method: 'tcp-connect' },
    budget: { maxBytes: o.maxBytes ?? 1e12, windowMs: o.budgetWindowMs ?? 3_600_000 }, samples: 31,
    records, probePods: async () => cache,
    runners: { iperf3: async () => o.iperf3(), rtt: async () => o.rtt() },
  })
  return { c, ctx, store, config, advance: (ms: number) => { nowMs += ms }, now: () => nowMs }
}

const okIperf3 = (): Iperf3ProbeResult => ({ result: 'ok', throughputBps: 9.4e8, rttSeconds: 0.0009, bytes: 352_500_000, missingBinary: false, durationMs: 3000 })
const okRtt = (): TcpRttProbeResult => ({ ok: true, rttSeconds: [0.0004, 0.0005, 0.0005, 0.0006, 0.0005], medianSeconds: 0.0005, spreadSeconds: 0.00005, failures: 0 })

t.test('one iperf3 run, then three hours of RTT runs and budget skips: capacity keeps its real age and one sample, and turns stale', async t => {
  // the first run (its fake runner ignores the bytes it was sized to) spends a 4-hour budget
  // to less than one minimal run: every later iperf3 run is skipped
  const x = setup({ iperf3: okIperf3, rtt: okRtt, maxBytes: 353_000_000, budgetWindowMs: 4 * 3_600_000 })
  await x.c.collectOnce(x.ctx)
  const first = x.store.snapshot(x.now()).plugins.net
  t.same([first?.capacityBps?.value, first?.capacityBps?.samples, first?.capacityBps?.ageMs, first?.capacityBps?.source], [9.4e8, 1, 0, 'probes:iperf3'])
  t.same([first?.capacityTxBps?.value, first?.loadedLatencySeconds?.value], [9.4e8, 0.0009], 'the forward run is the tx direction; its TCP_INFO mean RTT is the loaded latency')
  t.equal(first?.latencySeconds?.source, 'probes:tcp-connect', 'the source says how the idle RTT was measured')
  const staleAfter = x.config.selector.staleAfterMs.capacityBps
  let rounds = 0
  for (let elapsed = 0; elapsed < 3 * 3_600_000; elapsed += 10_000) {
    x.advance(10_000)
    await x.c.collectOnce(x.ctx)
    rounds++
    const cap = x.store.snapshot(x.now()).plugins.net?.capacityBps
    if (x.now() - 1_700_000_000_000 === staleAfter) t.equal(cap?.stale, false, `still fresh at exactly ${staleAfter} ms`)
    if (x.now() - 1_700_000_000_000 === staleAfter + 10_000) t.equal(cap?.stale, true, 'stale 10 s later')
  }
  const snap = x.store.snapshot(x.now()).plugins.net
  t.equal(snap?.capacityBps?.ageMs, 3 * 3_600_000, `after ${rounds} rounds capacity is 3 h old, as its only run`)
  t.equal(snap?.capacityBps?.samples, 1, 'one run, one sample')
  t.equal(snap?.capacityBps?.stale, true)
  t.equal(snap?.latencySeconds?.ageMs, 0, 'the RTT probe runs every round: fresh')
  t.equal(snap?.probeFailureRatio?.value, 0, 'budget skips are not failures')
  t.equal(x.c.report().runs.filter((r) => r.result === 'skipped-budget').length, 1, 'the last round\'s skip is reported')
})

t.test('samples count independent runs inside the store\'s window; the spread is theirs', async t => {
  const speeds = [9.0e8, 9.4e8, 9.2e8]
  let i = 0
  const x = setup({ iperf3: () => ({ ...okIperf3(), throughputBps: speeds[i++ % 3] }), rtt: okRtt })
  for (let k = 0; k < 3; k++) { await x.c.collectOnce(x.ctx); x.advance(60_000) }
  const cap = x.store.snapshot(x.now()).plugins.net?.capacityBps
  t.same([cap?.value, cap?.samples, cap?.ageMs], [9.2e8, 3, 60_000], 'median of three runs, three samples, the newest run\'s age')
  t.ok((cap?.spread ?? 0) > 0, 'the spread of the runs')
})

t.test('a failed run emits no value, only the failure ratio; nothing fake', async t => {
  const x = setup({
    iperf3: () => ({ result: 'error', bytes: 0, missingBinary: false, durationMs: 5, error: 'iperf3: error - unable to connect to server' }),
    rtt: () => ({ ok: false, rttSeconds: [], failures: 5, error: 'connect ECONNREFUSED' }),
  })
  await x.c.collectOnce(x.ctx)
  const snap = x.store.snapshot(x.now()).plugins.net ?? {}
  t.same(Object.keys(snap).sort(), ['probeFailureRatio'])
  t.equal(snap.probeFailureRatio?.value, 1)
})
