import t from 'tap'
import { createStaticCollector } from '../../collectors/static-collector.js'
import type { CollectorContext } from '../../collectors/types.js'
import type { KpiSample } from '../../contract/kpis.js'

function context (reject = 0) {
  const emitted: KpiSample[][] = []
  const successes: number[] = []
  const errors: string[] = []
  let now = 1_000
  const ctx: CollectorContext = {
    node: 'n1',
    emit: (s) => { emitted.push(s); return reject },
    reportSuccess: (_c, at) => { successes.push(at) },
    reportError: (_c, err) => { errors.push((err as Error).message) },
    now: () => now,
  }
  return { ctx, emitted, successes, errors, tick: (ms: number) => { now += ms } }
}

t.test('the static collector emits every configured value with source static, stamped now', async t => {
  const c = createStaticCollector({ kpis: [{ plugin: 'a', kpi: 'capacityBps', value: 1e9 }, { plugin: 'b', kpi: 'ipCapacity', value: 14 }], intervalMs: 1000 })
  const { ctx, emitted, successes } = context()
  await c.collectOnce(ctx)
  t.equal(c.name, 'static')
  t.same(emitted, [[
    { plugin: 'a', kpi: 'capacityBps', value: 1e9, atMs: 1000, source: 'static' },
    { plugin: 'b', kpi: 'ipCapacity', value: 14, atMs: 1000, source: 'static' },
  ]])
  t.same(successes, [1000])
})

t.test('plugins\' costPerGiB become static KPIs, unless a static entry sets that cost explicitly', async t => {
  const c = createStaticCollector({
    kpis: [{ plugin: 'a', kpi: 'costPerGiB', value: 9 }],
    catalog: [{ name: 'a', costPerGiB: 1 }, { name: 'b', costPerGiB: 2 }, { name: 'c' }],
    intervalMs: 1000,
  })
  const { ctx, emitted } = context()
  await c.collectOnce(ctx)
  t.same(emitted[0]?.map((s) => [s.plugin, s.kpi, s.value]), [['a', 'costPerGiB', 9], ['b', 'costPerGiB', 2]])
})

t.test('values the store rejects are reported as a collector error, not a success', async t => {
  const c = createStaticCollector({ kpis: [{ plugin: 'a', kpi: 'rxBps', value: 1 }], intervalMs: 1000 })
  const { ctx, successes, errors } = context(1)
  await c.collectOnce(ctx)
  t.same(successes, [])
  t.match(errors, [/1 of 1 static KPI value\(s\) were rejected/])
})

t.test('start emits at once and every interval until stop', async t => {
  const c = createStaticCollector({ kpis: [{ plugin: 'a', kpi: 'rxBps', value: 1 }], intervalMs: 100 })
  const intervals: Array<{ fn: () => void, ms: number }> = []
  const clock = t.capture(globalThis, 'setInterval', ((fn: () => void, ms: number) => {
    intervals.push({ fn, ms })
    return { unref () {} } as unknown as NodeJS.Timeout
  }) as unknown as typeof setInterval)
  const cleared = t.capture(globalThis, 'clearInterval', (() => undefined) as typeof clearInterval)
  const { ctx, emitted, tick } = context()
  c.start(ctx)
  c.start(ctx) // a second start does not double the timer
  await new Promise((resolve) => setImmediate(resolve))
  t.equal(emitted.length, 1, 'one cycle at start')
  t.equal(intervals.length, 1)
  t.equal(intervals[0]?.ms, 100)
  tick(100)
  intervals[0]?.fn()
  await new Promise((resolve) => setImmediate(resolve))
  t.equal(emitted.length, 2)
  t.equal(emitted[1]?.[0]?.atMs, 1100)
  await c.stop()
  t.equal(cleared.args().length, 1, 'the timer is cleared')
  t.equal(clock.args().length, 1)
})
