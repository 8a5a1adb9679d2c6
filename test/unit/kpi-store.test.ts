import t from 'tap'
import { mean, median, medianAbsoluteDeviation } from 'simple-statistics'
import { KpiStore } from '../../store/kpi-store.js'
import type { KpiStoreOptions } from '../../store/kpi-store.js'
import { KPI_NAMES } from '../../contract/kpis.js'
import type { KpiName, KpiSample } from '../../contract/kpis.js'
import { configFrom, defaultStaleAfterMs } from '../support/agent-config.js'

const T0 = 1_700_000_000_000 // ms since the epoch
const opts = (o: Partial<KpiStoreOptions> = {}): KpiStoreOptions => ({ windowMs: 60_000, maxSamplesPerSeries: 256, staleAfterMs: 30_000, ...o })
/** a complete staleness map: `ms` for every KPI, then the overrides */
const staleMap = (ms: number, over: Partial<Record<KpiName, number>> = {}): Record<KpiName, number> => ({ ...Object.fromEntries(KPI_NAMES.map((k) => [k, ms])) as Record<KpiName, number>, ...over })
const s = (kpi: KpiName, value: number, atMs = T0, plugin = 'bridge', source = 'probes'): KpiSample => ({ plugin, kpi, value, atMs, source })

t.test('each KPI is aggregated over the window as the store documents', async t => {
  const store = new KpiStore(opts())
  const rx = [1e6, 3e6, 2e6, 10e6]
  const cap = [9e8, 1e9, 1.1e9, 2e8] // one bad probe run
  const lat = [0.0001, 0.0002, 0.00015, 0.05]
  const used = [10, 12, 11, 13]
  store.ingest(rx.map((v, i) => s('rxBps', v, T0 + i * 1000, 'bridge', 'cadvisor')))
  store.ingest(cap.map((v, i) => s('capacityBps', v, T0 + i * 1000)))
  store.ingest(lat.map((v, i) => s('latencySeconds', v, T0 + i * 1000)))
  store.ingest(used.map((v, i) => s('ipUsed', v, T0 + i * 1000, 'bridge', 'ipam')))
  const r = store.snapshot(T0 + 5000).plugins.bridge ?? {}
  t.equal(r.rxBps?.value, mean(rx), 'rxBps: mean')
  t.equal(r.rxBps?.samples, 4)
  t.equal(r.rxBps?.source, 'cadvisor')
  t.equal(r.capacityBps?.value, median(cap), 'capacityBps: median, the bad run does not drag it')
  t.equal(r.capacityBps?.spread, medianAbsoluteDeviation(cap), 'capacityBps: spread is the MAD')
  t.equal(r.latencySeconds?.value, median(lat), 'latencySeconds: median')
  t.equal(r.latencySeconds?.spread, medianAbsoluteDeviation(lat))
  t.equal(r.ipUsed?.value, 13, 'ipUsed: newest value')
  t.equal(r.ipUsed?.samples, 1)
  t.equal(r.ipUsed?.spread, undefined)
  t.equal(r.rxBps?.ageMs, 2000, 'age is the newest sample\'s')
})

t.test('samples out of the window drop out of the value; with none left the newest alone remains, stale', async t => {
  const store = new KpiStore(opts({ windowMs: 10_000, staleAfterMs: 20_000 }))
  store.ingest([s('latencySeconds', 0.9, T0), s('latencySeconds', 0.1, T0 + 15_000), s('latencySeconds', 0.3, T0 + 16_000)])
  const a = store.snapshot(T0 + 16_000).plugins.bridge?.latencySeconds
  t.equal(a?.value, 0.2, 'the sample 16 s old is outside the 10 s window')
  t.equal(a?.samples, 2)
  const b = store.snapshot(T0 + 40_000).plugins.bridge?.latencySeconds
  t.equal(b?.value, 0.3, 'nothing inside the window: the newest sample stands alone')
  t.equal(b?.samples, 1)
  t.equal(b?.stale, true)
  t.equal(b?.ageMs, 24_000)
})

t.test('staleness is per KPI', async t => {
  const cases: Array<{ name: string, staleAfterMs: KpiStoreOptions['staleAfterMs'], kpi: KpiName, ageMs: number, stale: boolean }> = [
    { name: 'a number applies to all KPIs (at the limit)', staleAfterMs: 30_000, kpi: 'rxBps', ageMs: 30_000, stale: false },
    { name: 'a number applies to all KPIs (past it)', staleAfterMs: 30_000, kpi: 'capacityBps', ageMs: 30_001, stale: true },
    { name: 'a map sets each KPI', staleAfterMs: staleMap(1_000, { capacityBps: 600_000 }), kpi: 'capacityBps', ageMs: 300_000, stale: false },
    { name: 'a map sets each KPI (past it)', staleAfterMs: staleMap(900_000, { rxBps: 5_000 }), kpi: 'rxBps', ageMs: 5_001, stale: true },
    { name: 'the other KPIs keep their own (past it)', staleAfterMs: staleMap(900_000, { rxBps: 5_000 }), kpi: 'latencySeconds', ageMs: 900_001, stale: true },
    { name: 'the other KPIs keep their own (fresh)', staleAfterMs: staleMap(900_000, { rxBps: 5_000 }), kpi: 'latencySeconds', ageMs: 899_999, stale: false },
  ]
  for (const c of cases) {
    const store = new KpiStore(opts({ windowMs: 3_600_000, staleAfterMs: c.staleAfterMs }))
    store.ingest([s(c.kpi, 1, T0)])
    const r = store.snapshot(T0 + c.ageMs).plugins.bridge?.[c.kpi]
    t.equal(r?.stale, c.stale, c.name)
    t.equal(r?.ageMs, c.ageMs)
  }
})

t.test('static values never go stale and override measured samples of the same KPI', async t => {
  const store = new KpiStore(opts({ staleAfterMs: 1000 }))
  store.ingest([s('costPerGiB', 0.02, T0, 'bridge', 'static'), s('capacityBps', 5e9, T0, 'bridge', 'static')])
  store.ingest([s('capacityBps', 1e9, T0 + 1000), s('capacityBps', 1.2e9, T0 + 2000)])
  const r = store.snapshot(T0 + 86_400_000).plugins.bridge ?? {}
  t.equal(r.costPerGiB?.stale, false, 'a day later still fresh')
  t.equal(r.costPerGiB?.source, 'static')
  t.equal(r.costPerGiB?.ageMs, 86_400_000)
  t.equal(r.capacityBps?.value, 5e9, 'the operator override wins')
  t.equal(r.capacityBps?.stale, false)
})

t.test('bad samples are rejected with a reason, counted per kind, and never stored', async t => {
  const cases: Array<{ sample: KpiSample, why: RegExp, kind: string }> = [
    { sample: s('rxBps', Number.NaN), why: /rxBps NaN is not a finite number/, kind: 'not-finite' },
    { sample: s('capacityBps', Infinity), why: /capacityBps Infinity is not a finite number/, kind: 'not-finite' },
    { sample: s('txBps', -5), why: /txBps -5 is negative/, kind: 'negative' },
    { sample: s('latencySeconds', -0.001), why: /latencySeconds -0.001 is negative/, kind: 'negative' },
    { sample: s('ipOccupancy', 1.2), why: /ipOccupancy 1.2 is outside 0–1/, kind: 'out-of-range' },
    { sample: s('probeFailureRatio', 1.0001), why: /probeFailureRatio 1.0001 is outside 0–1/, kind: 'out-of-range' },
    { sample: s('capacityBps', 2e13), why: /capacityBps 20000000000000 bit\/s is beyond .*10 Tbit\/s/, kind: 'absurd' },
    { sample: s('headroomBps', -2e13), why: /headroomBps -20000000000000 bit\/s is beyond/, kind: 'absurd' },
    { sample: s('latencySeconds', 61), why: /latencySeconds 61 s is beyond 60 s/, kind: 'absurd' },
    { sample: s('ipUsed', 3.5), why: /ipUsed 3.5 is not a whole number/, kind: 'not-integer' },
    { sample: s('costPerGiB', 1e12), why: /costPerGiB 1000000000000 is beyond/, kind: 'absurd' },
    { sample: { ...s('rxBps', 1), kpi: 'rxBytes' as KpiName }, why: /unknown KPI "rxBytes"; known: rxBps/, kind: 'malformed' },
    { sample: { ...s('rxBps', 1), plugin: '' }, why: /plugin "" is not a CNI network name/, kind: 'malformed' },
    { sample: { ...s('rxBps', 1), plugin: '__proto__' }, why: /plugin "__proto__" is not a CNI network name/, kind: 'malformed' },
    { sample: { ...s('rxBps', 1), plugin: 'a/b' }, why: /plugin "a\/b" is not a CNI network name/, kind: 'malformed' },
    { sample: { ...s('rxBps', 1), atMs: Number.NaN }, why: /atMs must be finite/, kind: 'malformed' },
    { sample: { ...s('rxBps', 1), source: '' }, why: /source must be a non-empty string/, kind: 'malformed' },
  ]
  const store = new KpiStore(opts())
  for (const c of cases) {
    const before = store.rejectedByKind[c.kind as keyof typeof store.rejectedByKind]
    const res = store.ingest([c.sample])
    t.equal(res.accepted, 0, `${c.why.source}: not accepted`)
    t.equal(res.rejected.length, 1)
    t.match(res.rejected[0]?.why, c.why)
    t.equal(res.rejected[0]?.sample, c.sample, 'the rejected sample is handed back')
    t.equal(store.rejectedByKind[c.kind as keyof typeof store.rejectedByKind], before + 1, `counted as ${c.kind}`)
  }
  t.equal(store.rejectedTotal, cases.length)
  t.same(store.snapshot(T0).plugins, {}, 'nothing was stored')
})

t.test('valid edge values are accepted: negative headroom, ratios 0 and 1, huge IPv6 pools', async t => {
  const store = new KpiStore(opts())
  const res = store.ingest([s('headroomBps', -1e9), s('ipOccupancy', 1), s('probeFailureRatio', 0), s('ipCapacity', 2 ** 64), s('latencySeconds', 60)])
  t.equal(res.accepted, 5)
  t.equal(store.rejectedTotal, 0)
  t.equal(store.snapshot(T0).plugins.bridge?.headroomBps?.value, -1e9)
})

t.test('a mixed batch keeps the good samples and reports the bad ones', async t => {
  const store = new KpiStore(opts())
  const res = store.ingest([s('rxBps', 1), s('rxBps', -1), s('txBps', 2)])
  t.equal(res.accepted, 2)
  t.equal(res.rejected.length, 1)
  t.equal(store.snapshot(T0).plugins.bridge?.usageBps?.value, 2, 'usage is the busier direction, max(1, 2)')
})

t.test('derived KPIs: usage, headroom and occupancy come from their inputs', async t => {
  const store = new KpiStore(opts({ staleAfterMs: staleMap(100_000, { rxBps: 10_000, txBps: 10_000 }) }))
  store.ingest([s('rxBps', 100e6, T0), s('txBps', 50e6, T0 + 2000), s('capacityBps', 1e9, T0 + 1000)])
  store.ingest([s('ipUsed', 50, T0 + 3000), s('ipCapacity', 200, T0 + 4000)])
  const r = store.snapshot(T0 + 5000).plugins.bridge ?? {}
  t.equal(r.usageBps?.value, 100e6, 'usage = the busier direction, max(rx, tx): never summed')
  t.equal(r.usageBps?.ageMs, 5000, 'age of a derived reading is its oldest input\'s')
  t.equal(r.usageBps?.source, 'derived')
  t.equal(r.headroomBps?.value, 900e6, 'headroom = capacity − usage of the busier direction')
  t.equal(r.headroomBps?.ageMs, 5000)
  t.equal(r.headroomBps?.stale, false)
  t.equal(r.ipOccupancy?.value, 0.25, 'occupancy = used / capacity')
  t.equal(r.ipOccupancy?.ageMs, 2000)

  const later = store.snapshot(T0 + 12_000).plugins.bridge ?? {}
  t.equal(later.rxBps?.stale, true, 'rx is 12 s old, past 10 s')
  t.equal(later.usageBps?.stale, true, 'a derived reading is stale when an input is')
  t.equal(later.headroomBps?.stale, true, 'and so is what derives from it')
  t.equal(later.capacityBps?.stale, false)
})

t.test('per-direction capacity: capacityBps is the smaller direction, headroom the tighter one', async t => {
  const store = new KpiStore(opts())
  // a 480 Mbit/s flow into this node's pods, 20 out; 900 Mbit/s measured in, 400 out
  store.ingest([s('rxBps', 480e6), s('txBps', 20e6), s('capacityRxBps', 900e6), s('capacityTxBps', 400e6)])
  const r = store.snapshot(T0).plugins.bridge ?? {}
  t.equal(r.usageBps?.value, 480e6)
  t.equal(r.capacityBps?.value, 400e6, 'one-direction capacity: the smaller of the two')
  t.equal(r.capacityBps?.source, 'derived')
  t.equal(r.headroomBps?.value, 380e6, 'min(900 − 480, 400 − 20): rx is the tighter direction, not cap − usage (−80)')

  const one = new KpiStore(opts())
  one.ingest([s('rxBps', 100e6), s('txBps', 300e6), s('capacityBps', 1e9), s('capacityRxBps', 200e6)])
  const o = one.snapshot(T0).plugins.bridge ?? {}
  t.equal(o.capacityBps?.value, 1e9, 'a measured capacityBps is kept when only one direction has its own')
  t.equal(o.headroomBps?.value, 100e6, 'tx has no own capacity and uses capacityBps (1000 − 300); rx (200 − 100) is the tighter direction')
})

t.test('derived KPIs need all their inputs', async t => {
  const store = new KpiStore(opts())
  store.ingest([s('rxBps', 1e6), s('capacityBps', 1e9), s('ipUsed', 5), s('ipCapacity', 0)])
  const r = store.snapshot(T0).plugins.bridge ?? {}
  t.equal(r.usageBps, undefined, 'no tx: no usage')
  t.equal(r.headroomBps, undefined, 'no usage: no headroom')
  t.equal(r.ipOccupancy, undefined, 'capacity 0: no occupancy')
})

t.test('a fresh direct measurement wins over a derived value; a stale one loses to a fresh derived one', async t => {
  const store = new KpiStore(opts({ staleAfterMs: 10_000 }))
  store.ingest([s('ipOccupancy', 0.9, T0), s('ipUsed', 10, T0 + 20_000), s('ipCapacity', 100, T0 + 20_000)])
  t.equal(store.snapshot(T0 + 5000).plugins.bridge?.ipOccupancy?.value, 0.9, 'direct and fresh')
  const r = store.snapshot(T0 + 21_000).plugins.bridge?.ipOccupancy
  t.equal(r?.value, 0.1, 'direct is stale: derived')
  t.equal(r?.stale, false)
})

t.test('memory is bounded by the window, not by uptime', async t => {
  const store = new KpiStore(opts({ windowMs: 3_600_000, maxSamplesPerSeries: 64 }))
  const kpis: KpiName[] = ['rxBps', 'latencySeconds']
  for (let i = 0; i < 100_000; i++) {
    const kpi = kpis[i % 2] as KpiName
    store.ingest([s(kpi, i % 1000, T0 + i * 10_000, `p${i % 3}`)]) // ~11.5 days of 10 s samples
  }
  for (const p of ['p0', 'p1', 'p2']) {
    for (const kpi of kpis) t.ok(store.seriesLength(p, kpi) <= 64, `${p}/${kpi} holds ${store.seriesLength(p, kpi)} ≤ 64`)
  }
  const timeBound = new KpiStore(opts({ windowMs: 60_000, maxSamplesPerSeries: 10_000 }))
  for (let i = 0; i < 10_000; i++) timeBound.ingest([s('rxBps', 1, T0 + i * 1000)])
  t.equal(timeBound.seriesLength('bridge', 'rxBps'), 61, 'only the last 60 s (61 samples at 1 s) stay')
})

t.test('out-of-order samples are kept in time order', async t => {
  const store = new KpiStore(opts({ windowMs: 10_000 }))
  store.ingest([s('ipUsed', 3, T0 + 3000), s('ipUsed', 1, T0 + 1000), s('ipUsed', 2, T0 + 2000)])
  t.equal(store.snapshot(T0 + 3000).plugins.bridge?.ipUsed?.value, 3, 'newest by time, not by arrival')
})

t.test('retain forgets plugins that left the catalog', async t => {
  const store = new KpiStore(opts())
  store.ingest([s('rxBps', 1, T0, 'a'), s('rxBps', 1, T0, 'b'), s('rxBps', 1, T0, 'c')])
  store.retain(['a', 'c'])
  t.same(Object.keys(store.snapshot(T0).plugins), ['a', 'c'])
})

t.test('bad options are refused with a clear error', async t => {
  const cases: Array<[Partial<KpiStoreOptions>, RegExp]> = [
    [{ windowMs: 0 }, /windowMs must be a finite number > 0/],
    [{ windowMs: Infinity }, /windowMs/],
    [{ maxSamplesPerSeries: 0 }, /maxSamplesPerSeries must be an integer ≥ 1/],
    [{ maxSamplesPerSeries: 2.5 }, /maxSamplesPerSeries/],
    [{ staleAfterMs: -1 }, /staleAfterMs must be ≥ 0/],
    [{ staleAfterMs: { rxBytes: 10 } as unknown as KpiStoreOptions['staleAfterMs'] }, /staleAfterMs.rxBytes is not a KPI/],
    [{ staleAfterMs: staleMap(1, { rxBps: -5 }) }, /staleAfterMs.rxBps must be ≥ 0/],
    [{ staleAfterMs: { rxBps: 5 } as unknown as KpiStoreOptions['staleAfterMs'] }, /names no staleness for txBps, usageBps/],
  ]
  for (const [o, msg] of cases) t.throws(() => new KpiStore(opts(o)), { message: msg }, msg.source)
  const store = new KpiStore(opts())
  t.throws(() => store.ingest('x' as unknown as KpiSample[]), { name: 'TypeError', message: /samples must be an array/ })
  t.throws(() => store.snapshot(Number.NaN), { name: 'RangeError', message: /nowMs must be finite/ })
})

t.test('the agent config\'s defaults make a working store', async t => {
  const { windowMs, maxSamplesPerSeries, staleAfterMs } = configFrom().selector
  t.same(staleAfterMs, defaultStaleAfterMs())
  const store = new KpiStore({ windowMs, maxSamplesPerSeries, staleAfterMs })
  store.ingest([s('rxBps', 1, T0)])
  t.equal(store.snapshot(T0 + staleAfterMs.rxBps).plugins.bridge?.rxBps?.stale, false, 'at the limit: fresh')
  t.equal(store.snapshot(T0 + staleAfterMs.rxBps + 1).plugins.bridge?.rxBps?.stale, true, 'past it: stale')
})
