import t from 'tap'
import { BUILTIN_PROFILES } from '../../selector/index.js'
import { KPI_NAMES } from '../../contract/kpis.js'
import { selectorOptions } from '../../agent/config/load-config.js'
import { configFrom } from '../support/agent-config.js'

const DEFAULT_SELECTOR_OPTIONS = selectorOptions(configFrom())

t.test('the five built-in profiles exist, are frozen and weigh only known KPIs', async t => {
  t.same(Object.keys(BUILTIN_PROFILES).sort(), ['balanced', 'cost', 'ip-conservative', 'latency', 'throughput'])
  t.ok(Object.isFrozen(BUILTIN_PROFILES))
  for (const [name, weights] of Object.entries(BUILTIN_PROFILES)) {
    t.ok(Object.isFrozen(weights), `${name} is frozen`)
    for (const k of Object.keys(weights)) t.ok((KPI_NAMES as readonly string[]).includes(k), `${name}.${k} is a KPI`)
    const sum = Object.values(weights).reduce((s, v) => s + v, 0)
    t.ok(Math.abs(sum - 1) < 1e-9, `${name} weights read as shares (sum ${sum})`)
    t.ok((weights.headroomBps ?? 0) > 0, `${name} weighs traffic room`)
  }
})

t.test('each specialised profile puts its largest weight on its own KPI', async t => {
  const top = (w: Record<string, number | undefined>): string => Object.entries(w).sort((a, b) => (b[1] ?? 0) - (a[1] ?? 0))[0]?.[0] ?? ''
  t.equal(top(BUILTIN_PROFILES.throughput), 'headroomBps')
  t.equal(top(BUILTIN_PROFILES.latency), 'latencySeconds')
  t.equal(top(BUILTIN_PROFILES['ip-conservative']), 'ipOccupancy')
  t.equal(top(BUILTIN_PROFILES.cost), 'costPerGiB')
})

t.test('the selector\'s options come from the agent config\'s defaults, as documented', async t => {
  t.same(DEFAULT_SELECTOR_OPTIONS, { tieBand: 0.05, maxOccupancy: 0.95, hysteresisMargin: 0.03, spreadWindowMs: 60_000 })
})
