// Capacity per direction (issue 11 item 5): with iperf3.bothDirections (the agent's default)
// every other run is `-R`, the server sends, and measures capacityRxBps; the others
// capacityTxBps (and capacityBps). A busy server's run is tried again in the same direction.
import t from 'tap'
import { createProbesCollector } from '../../collectors/probes/probes-collector.js'
import { iperf3Argv } from '../../collectors/probes/iperf3-probe.js'
import type { Iperf3ProbeOptions, Iperf3ProbeResult } from '../../collectors/probes/iperf3-probe.js'
import type { AttachmentRecordsSource, RecordedAttachment } from '../../collectors/attachment-records-source.js'
import type { KubeCache, PodObject } from '../../collectors/kube-watch.js'
import type { CollectorContext } from '../../collectors/types.js'
import { KpiStore } from '../../store/kpi-store.js'
import { parseConfig } from '../../agent/config/load-config.js'

const LABEL = 'netrank.io/probe'
const pods: PodObject[] = ['a', 'b'].map((n) => ({ metadata: { namespace: 'probes', name: `probe-${n}`, labels: { [LABEL]: 'net' } }, spec: { nodeName: 'n1' } }))
const cache: KubeCache<PodObject> = { list: () => pods, synced: true, lastError: undefined, start: async () => {}, stop: async () => {} }
const rec = (pod: string, ip: string): RecordedAttachment => ({ namespace: 'probes', pod, podUid: undefined, containerId: `c-${pod}`, network: 'net', ifname: 'eth0', netns: `/var/run/netns/${pod}`, ip, state: 'added' })
const records = { read: () => ({ atMs: 0, records: [], skipped: [], attachments: [rec('probe-a', '10.0.0.2'), rec('probe-b', '10.0.0.3')] }) } as unknown as AttachmentRecordsSource

t.test('the agent config turns both directions on by default', async (t) => {
  t.equal(parseConfig({ plugins: [{ name: 'net' }] }).collectors.probes.iperf3.bothDirections, true)
  t.ok(iperf3Argv({ netnsPath: '/x', host: '10.0.0.3', port: 5201, durationSeconds: 2, omitSeconds: 1, timeoutMs: 1000, reverse: true }).includes('-R'))
  t.notOk(iperf3Argv({ netnsPath: '/x', host: '10.0.0.3', port: 5201, durationSeconds: 2, omitSeconds: 1, timeoutMs: 1000 }).includes('-R'))
})

t.test('runs alternate -R; each direction its own KPI; a busy run keeps its direction', async (t) => {
  let nowMs = 1_700_000_000_000
  const config = parseConfig({ plugins: [{ name: 'net' }] })
  const store = new KpiStore({ windowMs: config.selector.windowMs, maxSamplesPerSeries: config.selector.maxSamplesPerSeries, staleAfterMs: config.selector.staleAfterMs })
  const ctx: CollectorContext = { node: 'n1', now: () => nowMs, emit: (s) => store.ingest(s).rejected.length, reportSuccess: () => undefined, reportError: (_n, e) => { throw e } }
  const seen: boolean[] = []
  const results: Array<'ok' | 'busy'> = ['ok', 'ok', 'busy', 'ok', 'ok']
  const c = createProbesCollector({
    node: 'n1', plugins: ['net'], podLabel: LABEL, port: 5201,
    iperf3: { intervalMs: 60_000, durationSeconds: 2, omitSeconds: 1, timeoutMs: 10_000, jitterRatio: 0, bothDirections: true },
    rtt: { intervalMs: 10_000, count: 5, connectTimeoutMs: 1000, method: 'tcp-connect' },
    budget: { maxBytes: 1e12, windowMs: 3_600_000 }, samples: 5,
    records, probePods: async () => cache,
    runners: {
      // the link is asymmetric: 400 Mbit/s into this node's pod, 900 Mbit/s out of it
      iperf3: async (o: Iperf3ProbeOptions): Promise<Iperf3ProbeResult> => {
        seen.push(o.reverse === true)
        const result = results[seen.length - 1] ?? 'ok'
        if (result === 'busy') return { result: 'busy', bytes: 0, missingBinary: false, durationMs: 5, error: 'the server is busy running a test. try again later' }
        return { result: 'ok', throughputBps: o.reverse === true ? 4e8 : 9e8, bytes: 1e8, missingBinary: false, durationMs: 2000 }
      },
      rtt: async () => ({ ok: true, rttSeconds: [0.0005], medianSeconds: 0.0005, spreadSeconds: 0, failures: 0 }),
    },
  })
  const runs = []
  for (let i = 0; i < results.length; i++) {
    await c.collectOnce(ctx)
    runs.push(...c.report().runs.filter((x) => x.kind === 'iperf3'))
    nowMs += 60_000
  }
  t.same(seen, [false, true, false, false, true], 'tx, rx, tx (busy), tx again, rx')
  t.same(runs.map((r) => `${r.direction ?? '?'} ${r.result}`), ['tx ok', 'rx ok', 'tx skipped-busy', 'tx ok', 'rx ok'])
  const k = store.snapshot(nowMs).plugins.net
  t.equal(k?.capacityRxBps?.value, 4e8, 'into the pod: the -R runs')
  t.equal(k?.capacityRxBps?.samples, 2)
  t.equal(k?.capacityTxBps?.value, 9e8, 'out of the pod: the plain runs')
  t.equal(k?.capacityBps?.value, 9e8)
  t.equal(k?.capacityTxBps?.source, 'probes:iperf3')
})
