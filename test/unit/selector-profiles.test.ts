import t from 'tap'
import { BUILTIN_PROFILES, CRITERIA, DEFAULT_DEMAND, DEFAULT_TARGETS } from '../../selector/index.js'
import { options, profile } from '../support/selector-input.js'

t.test('the five built-in profiles exist, are frozen and weigh only known criteria', async t => {
  t.same(Object.keys(BUILTIN_PROFILES).sort(), ['balanced', 'cost', 'ip-conservative', 'latency', 'throughput'])
  t.ok(Object.isFrozen(BUILTIN_PROFILES))
  for (const [name, weights] of Object.entries(BUILTIN_PROFILES)) {
    t.ok(Object.isFrozen(weights), `${name} is frozen`)
    for (const k of Object.keys(weights)) t.ok((CRITERIA as readonly string[]).includes(k), `${name}.${k} is a criterion`)
    const sum = Object.values(weights).reduce((s, v) => s + v, 0)
    t.ok(Math.abs(sum - 1) < 1e-9, `${name} weights read as shares (sum ${sum})`)
    t.ok((weights.utilisation ?? 0) > 0, `${name} weighs room for the pod's traffic`)
  }
})

t.test('each specialised profile puts its largest weight on its own criterion', async t => {
  const top = (w: Record<string, number | undefined>): string => Object.entries(w).sort((a, b) => (b[1] ?? 0) - (a[1] ?? 0))[0]?.[0] ?? ''
  t.equal(top(BUILTIN_PROFILES.throughput), 'utilisation')
  t.equal(top(BUILTIN_PROFILES.latency), 'latency')
  t.equal(top(BUILTIN_PROFILES['ip-conservative']), 'occupancy')
  t.equal(top(BUILTIN_PROFILES.cost), 'cost')
})

t.test('the selector\'s options and a profile come from the agent config\'s defaults, as documented', async t => {
  t.same(options(), {
    tieBand: 0.02,
    maxOccupancy: 0.95,
    hysteresisSnapshots: 3,
    spreadWindowMs: 300_000,
    exploreEvery: 20,
    singleSampleUncertainty: 0.1,
    priors: { latencySeconds: 60, capacityBps: 0, probeFailureRatio: 1, ipOccupancy: 1, costFactor: 10 },
  })
  const p = profile('latency')
  t.same(p.weights, BUILTIN_PROFILES.latency)
  t.same(p.targets, DEFAULT_TARGETS, 'targets: 1 ms, 1 Gbit/s, 0.01 per GiB')
  t.same(p.demand, DEFAULT_DEMAND, 'the default demand: 10 Mbit/s each way')
  t.same(DEFAULT_DEMAND, { rxBps: 10e6, txBps: 10e6 })
})

t.test('operator profiles: criterion weights with targets and a demand, or the old KPI-keyed weights as aliases', async t => {
  const sel = {
    targets: { latencySeconds: 0.002 },
    expectedBandwidth: '20M',
    profiles: {
      bulk: { weights: { utilisation: 0.5, capacity: 0.5 }, targets: { capacityBps: 10e9 }, expectedBandwidth: '{"rx":"1G","tx":"100M"}' },
      old: { headroomBps: 0.5, usageBps: 0.1, latencySeconds: 0.3, capacityBps: 0.1 },
    },
  }
  const bulk = profile('bulk', sel)
  t.same(bulk.weights, { utilisation: 0.5, capacity: 0.5 })
  t.same(bulk.targets, { latencySeconds: 0.002, capacityBps: 10e9, costPerGiB: 0.01 }, 'its own capacity target over the global latency target')
  t.same(bulk.demand, { rxBps: 1e9, txBps: 1e8 }, 'per-direction demand')
  const old = profile('old', sel)
  t.same(old.weights, { utilisation: 0.6, latency: 0.3, capacity: 0.1 }, 'headroomBps and usageBps both feed utilisation')
  t.same(old.demand, { rxBps: 20e6, txBps: 20e6 }, 'the global expectedBandwidth')
  t.same(profile('balanced', sel).targets.latencySeconds, 0.002, 'built-ins take the global targets too')
})
