import t from 'tap'
import { KPI_DIRECTION, KPI_RESOLUTION, normalise } from '../../selector/index.js'
import type { KpiName } from '../../contract/kpis.js'

const LAT_R = KPI_RESOLUTION.latencySeconds
const USE_R = KPI_RESOLUTION.usageBps
const OCC_R = KPI_RESOLUTION.ipOccupancy

const norm = (kpi: KpiName, values: Record<string, number>): Record<string, number> =>
  Object.fromEntries(normalise(kpi, new Map(Object.entries(values))))

t.test('normalisation follows each KPI\'s direction and keeps the scale of differences', async t => {
  const cases: Array<{ name: string, kpi: KpiName, values: Record<string, number>, want: Record<string, number> }> = [
    { name: 'higher capacity is better: v / max', kpi: 'capacityBps', values: { a: 1e9, b: 5e8 }, want: { a: 1, b: 0.5 } },
    { name: 'higher headroom is better; negative headroom scores 0', kpi: 'headroomBps', values: { a: 4e8, b: 1e8, c: -2e8 }, want: { a: 1, b: 0.25, c: 0 } },
    { name: 'every headroom ≤ 0: all score 0', kpi: 'headroomBps', values: { a: -1, b: 0 }, want: { a: 0, b: 0 } },
    { name: 'lower latency is better: 1 − (v − min) / (max + r)', kpi: 'latencySeconds', values: { a: 0.001, b: 0.002 }, want: { a: 1, b: 1 - 0.001 / (0.002 + LAT_R) } },
    { name: 'a 0.1% difference stays a 0.1% difference, not 1 vs 0', kpi: 'latencySeconds', values: { a: 100e-6, b: 100.1e-6 }, want: { a: 1, b: 1 - 0.1e-6 / (100.1e-6 + LAT_R) } },
    { name: 'tens of µs of RTT jitter between idle veths stay inside a tieBand', kpi: 'latencySeconds', values: { a: 50e-6, b: 80e-6 }, want: { a: 1, b: 1 - 30e-6 / (80e-6 + LAT_R) } },
    { name: 'lower usage is better; the busy network loses most of the score', kpi: 'usageBps', values: { a: 0, b: 5e8, c: 1e9 }, want: { a: 1, b: 1 - 5e8 / (1e9 + USE_R), c: 1 - 1e9 / (1e9 + USE_R) } },
    { name: 'a few kbit/s of ARP on an idle network is not a difference', kpi: 'usageBps', values: { a: 0, b: 2e3 }, want: { a: 1, b: 1 - 2e3 / (2e3 + USE_R) } },
    { name: 'lower occupancy is better', kpi: 'ipOccupancy', values: { a: 0.2, b: 0.8 }, want: { a: 1, b: 1 - 0.6 / (0.8 + OCC_R) } },
    { name: 'one more address used in a nearly empty /24 is not a difference', kpi: 'ipOccupancy', values: { a: 2 / 254, b: 3 / 254 }, want: { a: 1, b: 1 - (1 / 254) / (3 / 254 + OCC_R) } },
    { name: 'lower cost is better', kpi: 'costPerGiB', values: { a: 0.01, b: 0.04 }, want: { a: 1, b: 0.25 } },
    { name: 'lower probe failure is better; all 0 is a tie at 1', kpi: 'probeFailureRatio', values: { a: 0, b: 0 }, want: { a: 1, b: 1 } },
    { name: 'a single plugin with the value gets 1 (higher)', kpi: 'capacityBps', values: { a: 0 }, want: { a: 1 } },
    { name: 'a single plugin with the value gets 1 (lower)', kpi: 'latencySeconds', values: { a: 5 }, want: { a: 1 } },
    { name: 'no values, no scores', kpi: 'rxBps', values: {}, want: {} },
  ]
  for (const c of cases) {
    const got = norm(c.kpi, c.values)
    t.same(Object.keys(got).sort(), Object.keys(c.want).sort(), c.name)
    for (const [k, v] of Object.entries(c.want)) t.ok(Math.abs((got[k] ?? Number.NaN) - v) < 1e-12, `${c.name}: ${k} = ${got[k]} ≈ ${v}`)
  }
})

t.test('scores stay within 0–1 even for values a store would never hand out', async t => {
  const got = norm('latencySeconds', { a: -1, b: 1 })
  for (const v of Object.values(got)) t.ok(v >= 0 && v <= 1, `${v} in 0–1`)
})

t.test('only capacity, headroom and pool size are higher-is-better', async t => {
  const higher = Object.entries(KPI_DIRECTION).filter(([, d]) => d === 'higher').map(([k]) => k).sort()
  t.same(higher, ['capacityBps', 'headroomBps', 'ipCapacity'])
  t.ok(Object.isFrozen(KPI_DIRECTION))
})

t.test('near-equal idle values score within a tieBand of each other, far-apart values do not', async t => {
  const idle = norm('latencySeconds', { a: 50e-6, b: 80e-6 })
  t.ok(1 - (idle.b ?? 0) < 0.06, `50 vs 80 µs: ${idle.b}`)
  const far = norm('latencySeconds', { a: 0.001, b: 0.005 })
  t.ok((far.b ?? 1) < 0.4, `1 vs 5 ms: ${far.b}`)
  const arp = norm('usageBps', { a: 0, b: 2e3 })
  t.ok((arp.b ?? 0) > 0.99, `0 vs 2 kbit/s: ${arp.b}`)
  t.ok(Object.isFrozen(KPI_RESOLUTION))
})
