import t from 'tap'
import { BUILTIN_PROFILES, rank } from '../../selector/index.js'
import type { ProfileWeights, RankedPlugin, RankInput } from '../../selector/index.js'
import type { KpiName, KpiReading } from '../../contract/kpis.js'
import { selectorOptions } from '../../agent/config/load-config.js'
import { configFrom } from '../support/agent-config.js'

const DEFAULT_SELECTOR_OPTIONS = selectorOptions(configFrom())

const NOW = 1_700_000_000_000 // ms since the epoch
type Readings = Partial<Record<KpiName, KpiReading>>
const r = (value: number, o: Partial<KpiReading> = {}): KpiReading => ({ value, ageMs: 2000, samples: 5, stale: false, source: 'test', ...o })
const stale = (value: number, ageMs: number): KpiReading => r(value, { ageMs, stale: true })

function input (plugins: Record<string, Readings>, o: Partial<RankInput> & { names?: string[] } = {}): RankInput {
  const names = o.names ?? Object.keys(plugins)
  return {
    snapshot: { atMs: NOW, plugins },
    catalog: names.map(name => ({ name })),
    profileName: 'balanced',
    weights: BUILTIN_PROFILES.balanced,
    options: DEFAULT_SELECTOR_OPTIONS,
    ...o,
  }
}
const order = (plugins: RankedPlugin[]): string[] => plugins.map(p => p.plugin)
const byName = (plugins: RankedPlugin[], name: string): RankedPlugin => {
  const p = plugins.find(x => x.plugin === name)
  if (p === undefined) throw new Error(`no ${name} in ranking`)
  return p
}
const close = (a: number, b: number): boolean => Math.abs(a - b) < 1e-9

t.test('scores are the weighted sum of normalised KPIs, and ranks follow them', async t => {
  const w: ProfileWeights = { capacityBps: 3, latencySeconds: 1 } // need not sum to 1
  const got = rank(input({
    slow: { capacityBps: r(5e8), latencySeconds: r(0.001) },
    fast: { capacityBps: r(1e9), latencySeconds: r(0.002) },
  }, { weights: w, profileName: 'mine' }))
  t.same(order(got.plugins), ['fast', 'slow'])
  t.same(got.plugins.map(p => p.rank), [1, 2])
  const fast = byName(got.plugins, 'fast')
  const slow = byName(got.plugins, 'slow')
  // latency 1 vs 2 ms with the 0.5 ms resolution: 1 − (2 − 1) / (2 + 0.5) = 0.6
  t.ok(close(fast.score, 0.75 * 1 + 0.25 * 0.6), `fast ${fast.score} = 0.75·1 + 0.25·0.6`)
  t.ok(close(slow.score, 0.75 * 0.5 + 0.25 * 1), `slow ${slow.score} = 0.75·0.5 + 0.25·1`)
  t.same(fast.effectiveWeights, { capacityBps: 0.75, latencySeconds: 0.25 })
  t.ok(close(fast.contributions.capacityBps ?? -1, 0.75))
  t.ok(close(fast.contributions.latencySeconds ?? -1, 0.15))
  t.equal(got.profile, 'mine')
  t.equal(got.generatedAtMs, NOW)
})

t.test('built-in profiles pick the network that suits them', async t => {
  const plugins = {
    wide: { headroomBps: r(9e9), capacityBps: r(1e10), latencySeconds: r(0.002), ipOccupancy: r(0.5), costPerGiB: r(0.05) },
    quick: { headroomBps: r(1e9), capacityBps: r(2e9), latencySeconds: r(0.0002), ipOccupancy: r(0.6), costPerGiB: r(0.04) },
    roomy: { headroomBps: r(2e9), capacityBps: r(3e9), latencySeconds: r(0.001), ipOccupancy: r(0.05), costPerGiB: r(0.05) },
    cheap: { headroomBps: r(1e9), capacityBps: r(2e9), latencySeconds: r(0.001), ipOccupancy: r(0.6), costPerGiB: r(0.001) },
  }
  const cases: Array<[keyof typeof BUILTIN_PROFILES, string]> = [
    ['throughput', 'wide'], ['latency', 'quick'], ['ip-conservative', 'roomy'], ['cost', 'cheap'],
  ]
  for (const [profile, want] of cases) {
    const got = rank(input(plugins, { profileName: profile, weights: BUILTIN_PROFILES[profile] }))
    t.equal(got.plugins[0]?.plugin, want, `${profile} → ${want}`)
  }
})

t.test('operator profiles are plain weight maps', async t => {
  const plugins = { a: { costPerGiB: r(0.01), latencySeconds: r(0.01) }, b: { costPerGiB: r(0.1), latencySeconds: r(0.001) } }
  t.same(order(rank(input(plugins, { profileName: 'penny', weights: { costPerGiB: 1 } })).plugins), ['a', 'b'])
  t.same(order(rank(input(plugins, { profileName: 'snappy', weights: { latencySeconds: 1 } })).plugins), ['b', 'a'])
  const zeroed = rank(input(plugins, { profileName: 'mixed', weights: { latencySeconds: 1, costPerGiB: 0 } }))
  t.same(byName(zeroed.plugins, 'a').effectiveWeights, { latencySeconds: 1 }, 'a zero weight is no weight')
})

t.test('headroom is scored when every eligible plugin with usage has it; otherwise usage for all, said in reasons', async t => {
  const cases: Array<{ name: string, plugins: Record<string, Readings>, kpi: KpiName, first: string }> = [
    {
      name: 'headroom known everywhere: the fast busy network beats the slow idle one',
      plugins: {
        slowIdle: { usageBps: r(1e7), headroomBps: r(9e7) },
        fastBusy: { usageBps: r(5e8), headroomBps: r(9.5e9) },
      },
      kpi: 'headroomBps',
      first: 'fastBusy',
    },
    {
      name: 'one network has usage but no headroom: usage is scored for all',
      plugins: {
        slowIdle: { usageBps: r(1e7), headroomBps: r(9e7) },
        fastBusy: { usageBps: r(5e8) },
      },
      kpi: 'usageBps',
      first: 'slowIdle',
    },
    {
      name: 'a stale headroom counts as none',
      plugins: {
        slowIdle: { usageBps: r(1e7), headroomBps: r(9e7) },
        fastBusy: { usageBps: r(5e8), headroomBps: stale(9.5e9, 3_600_000) },
      },
      kpi: 'usageBps',
      first: 'slowIdle',
    },
    {
      name: 'an ineligible network without headroom does not force usage on the others',
      plugins: {
        slowIdle: { usageBps: r(1e7), headroomBps: r(9e7) },
        fastBusy: { usageBps: r(5e8), headroomBps: r(9.5e9) },
        full: { usageBps: r(1), ipOccupancy: r(1) },
      },
      kpi: 'headroomBps',
      first: 'fastBusy',
    },
  ]
  for (const c of cases) {
    const got = rank(input(c.plugins, { weights: { headroomBps: 1 } }))
    t.equal(got.plugins[0]?.plugin, c.first, c.name)
    const scored = got.plugins.filter(p => p.eligible)
    for (const p of scored) {
      t.same(Object.keys(p.effectiveWeights), [c.kpi], `${c.name}: ${p.plugin} scored by ${c.kpi}`)
      const said = p.reasons.some(x => /traffic scored by usageBps, not headroomBps: no fresh headroom .* for fastBusy/.test(x))
      t.equal(said, c.kpi === 'usageBps', `${c.name}: ${p.plugin}'s reasons ${c.kpi === 'usageBps' ? 'say' : 'do not say'} so`)
    }
  }
})

t.test('a full IP pool is never ranked above others, at maxOccupancy and not just below', async t => {
  const cases: Array<{ occ: number, maxOccupancy: number, eligible: boolean, reason?: RegExp }> = [
    { occ: 0.95, maxOccupancy: 0.95, eligible: false, reason: /^ip pool 95% full \(≥ maxOccupancy 95%\)$/ },
    { occ: 1, maxOccupancy: 0.95, eligible: false, reason: /^ip pool 100% full \(≥ maxOccupancy 95%\)$/ },
    { occ: 0.949, maxOccupancy: 0.95, eligible: true },
    { occ: 0.8, maxOccupancy: 0.8, eligible: false, reason: /^ip pool 80% full \(≥ maxOccupancy 80%\)$/ },
    { occ: 0.7999, maxOccupancy: 0.8, eligible: true },
  ]
  for (const c of cases) {
    const got = rank(input({
      best: { latencySeconds: r(0.0001), ipOccupancy: r(c.occ) },
      worse: { latencySeconds: r(0.01), ipOccupancy: r(0.5) },
    }, { options: { ...DEFAULT_SELECTOR_OPTIONS, maxOccupancy: c.maxOccupancy } }))
    const best = byName(got.plugins, 'best')
    t.equal(best.eligible, c.eligible, `occupancy ${c.occ} vs max ${c.maxOccupancy}`)
    if (c.reason !== undefined) {
      t.ok(best.reasons.some(x => c.reason?.test(x) === true), `reason: ${best.reasons.join('; ')}`)
      t.same(order(got.plugins), ['worse', 'best'], 'the full pool ranks last')
      t.equal(best.score, 0)
      t.same(best.contributions, {})
    } else {
      t.same(order(got.plugins), ['best', 'worse'])
    }
  }
})

t.test('a full pool does not take part in normalising the others', async t => {
  const got = rank(input({
    full: { capacityBps: r(1e10), ipOccupancy: r(0.99) },
    a: { capacityBps: r(1e9) },
    b: { capacityBps: r(5e8) },
  }, { weights: { capacityBps: 1 } }))
  t.equal(byName(got.plugins, 'a').score, 1, 'a is the best of the eligible, not a tenth of the full one')
})

t.test('a stale occupancy does not exclude a plugin but is said', async t => {
  const got = rank(input({ a: { ipOccupancy: stale(0.99, 600_000), latencySeconds: r(0.001) } }))
  const a = byName(got.plugins, 'a')
  t.equal(a.eligible, true)
  t.ok(a.reasons.includes('ipOccupancy stale (600 s old): pool fullness unknown'), a.reasons.join('; '))
})

t.test('plugins without fresh KPIs rank after every plugin with data, before the ineligible', async t => {
  const got = rank(input({
    blind: {},
    allStale: { latencySeconds: stale(0.0001, 900_000), capacityBps: stale(1e10, 900_000) },
    full: { ipOccupancy: r(0.99), latencySeconds: r(0.0001) },
    poor: { latencySeconds: r(0.5), capacityBps: r(1e6), probeFailureRatio: r(0.9) },
    staticOnly: { costPerGiB: r(0.5, { source: 'static', ageMs: 86_400_000 }) },
    unweighted: { ipUsed: r(5) },
  }, { names: ['blind', 'allStale', 'full', 'poor', 'staticOnly', 'unweighted', 'missing'] }))
  t.same(order(got.plugins), ['poor', 'staticOnly', 'blind', 'allStale', 'unweighted', 'missing', 'full'])
  for (const name of ['blind', 'allStale', 'missing']) {
    const p = byName(got.plugins, name)
    t.equal(p.eligible, true, `${name} is eligible`)
    t.same(p.reasons, ['no fresh KPI'], `${name}: no fresh KPI`)
    t.equal(p.score, 0)
  }
  t.same(byName(got.plugins, 'unweighted').reasons, ['no fresh KPI that profile "balanced" weighs (fresh: ipUsed)'])
  t.ok(byName(got.plugins, 'staticOnly').score > 0, 'static-only data counts as data')
})

t.test('stale and missing KPIs drop out and their weight is redistributed, visibly', async t => {
  const got = rank(input({
    full: { headroomBps: r(1e9), latencySeconds: r(0.001), ipOccupancy: r(0.1), capacityBps: r(2e9), probeFailureRatio: r(0), costPerGiB: r(0.01) },
    partial: { headroomBps: r(1e9), latencySeconds: stale(0.001, 95_000), ipOccupancy: r(0.1), capacityBps: r(2e9), probeFailureRatio: r(0) },
  }))
  const full = byName(got.plugins, 'full')
  const partial = byName(got.plugins, 'partial')
  t.same(full.effectiveWeights, BUILTIN_PROFILES.balanced, 'nothing missing: the profile\'s weights')
  t.same(full.reasons, [])
  const remaining = 1 - 0.25 - 0.1
  t.same(Object.keys(partial.effectiveWeights).sort(), ['capacityBps', 'headroomBps', 'ipOccupancy', 'probeFailureRatio'])
  t.ok(close(partial.effectiveWeights.headroomBps ?? -1, 0.3 / remaining), 'headroom\'s share grows in proportion')
  t.ok(close(partial.effectiveWeights.ipOccupancy ?? -1, 0.15 / remaining))
  t.ok(close(Object.values(partial.effectiveWeights).reduce((s, v) => s + v, 0), 1), 'effective weights sum to 1')
  t.ok(partial.reasons.includes('latencySeconds stale (95 s old): its weight 0.25 redistributed'), partial.reasons.join('; '))
  t.ok(partial.reasons.includes('costPerGiB missing: its weight 0.1 redistributed'), partial.reasons.join('; '))
  t.equal(partial.contributions.latencySeconds, undefined, 'a stale KPI contributes nothing')
  t.equal(partial.kpis.latencySeconds?.stale, true, 'but it is still shown')
  t.equal(partial.kpis.latencySeconds?.ageSeconds, 95)
})

t.test('equal scores keep catalog order, whatever the snapshot\'s key order', async t => {
  const same = { latencySeconds: r(0.001), capacityBps: r(1e9) }
  const cases: string[][] = [['a', 'b', 'c'], ['c', 'a', 'b'], ['b', 'c', 'a']]
  for (const names of cases) {
    const got = rank(input({ a: same, b: same, c: same }, { names }))
    t.same(order(got.plugins), names, `catalog ${names.join(',')}`)
    t.same(got.plugins.map(p => p.rank), [1, 2, 3])
  }
})

t.test('the catalog\'s costPerGiB is used when no cost was measured or set', async t => {
  const base = input({ a: { latencySeconds: r(0.001) }, b: { latencySeconds: r(0.001), costPerGiB: r(0.5) } }, { weights: { costPerGiB: 1, latencySeconds: 1 } })
  const got = rank({ ...base, catalog: [{ name: 'a', costPerGiB: 0.1 }, { name: 'b', costPerGiB: 0.01 }] })
  t.equal(byName(got.plugins, 'a').kpis.costPerGiB?.value, 0.1, 'a: from the catalog')
  t.equal(byName(got.plugins, 'b').kpis.costPerGiB?.value, 0.5, 'b: the snapshot wins over the catalog')
  t.same(order(got.plugins), ['a', 'b'])
})

t.test('every ranked plugin carries its explanation: value, age, samples, contribution, reasons', async t => {
  const got = rank(input({
    a: { latencySeconds: r(0.0004, { ageMs: 1500, samples: 7 }), rxBps: r(1e6, { ageMs: 250, samples: 12 }), capacityBps: stale(1e9, 3_600_000) },
  }, { weights: { latencySeconds: 1, capacityBps: 1 } }))
  const a = got.plugins[0]
  t.same(a, {
    plugin: 'a',
    rank: 1,
    score: 1,
    eligible: true,
    reasons: ['capacityBps stale (3600 s old): its weight 0.5 redistributed'],
    kpis: {
      rxBps: { value: 1e6, ageSeconds: 0.25, samples: 12, stale: false },
      capacityBps: { value: 1e9, ageSeconds: 3600, samples: 5, stale: true },
      latencySeconds: { value: 0.0004, ageSeconds: 1.5, samples: 7, stale: false },
    },
    contributions: { latencySeconds: 1 },
    effectiveWeights: { latencySeconds: 1 },
  })
})

t.test('rank does not change its input', async t => {
  const i = input({ a: { latencySeconds: r(0.001) } }, { catalog: [{ name: 'a', costPerGiB: 1 }] })
  const before = JSON.stringify(i)
  rank(i)
  t.equal(JSON.stringify(i), before)
})

t.test('bad input is refused with an error that names the field', async t => {
  const ok = input({ a: { latencySeconds: r(0.001) } })
  const cases: Array<[string, RankInput, RegExp]> = [
    ['unknown KPI weight', { ...ok, weights: { latencyMs: 1 } as ProfileWeights }, /weights.latencyMs of profile "balanced" is not a KPI; known: rxBps/],
    ['negative weight', { ...ok, weights: { latencySeconds: -1 } }, /weights.latencySeconds of profile "balanced" must be a finite number ≥ 0, got -1/],
    ['NaN weight', { ...ok, weights: { latencySeconds: Number.NaN } }, /must be a finite number ≥ 0, got NaN/],
    ['no weight at all', { ...ok, weights: {} }, /profile "balanced" weighs no KPI/],
    ['all-zero weights', { ...ok, weights: { rxBps: 0 } }, /weighs no KPI/],
    ['duplicate catalog entry', { ...ok, catalog: [{ name: 'a' }, { name: 'a' }] }, /catalog\[1\].name "a" appears twice/],
    ['nameless catalog entry', { ...ok, catalog: [{ name: '' }] }, /catalog\[0\].name must be a non-empty string/],
    ['catalog name libcni would refuse', { ...ok, catalog: [{ name: 'my net' }] }, /catalog\[0\].name "my net" is not a CNI network name/],
    ['negative catalog cost', { ...ok, catalog: [{ name: 'a', costPerGiB: -1 }] }, /catalog\[0\].costPerGiB must be a finite number ≥ 0/],
    ['tieBand out of range', { ...ok, options: { ...ok.options, tieBand: 2 } }, /options.tieBand must be a number in \[0, 1\], got 2/],
    ['maxOccupancy 0', { ...ok, options: { ...ok.options, maxOccupancy: 0 } }, /options.maxOccupancy must be a number in \(0, 1\], got 0/],
    ['negative margin', { ...ok, options: { ...ok.options, hysteresisMargin: -0.1 } }, /options.hysteresisMargin/],
    ['NaN spread window', { ...ok, options: { ...ok.options, spreadWindowMs: Number.NaN } }, /options.spreadWindowMs/],
    ['NaN snapshot time', { ...ok, snapshot: { atMs: Number.NaN, plugins: {} } }, /snapshot.atMs must be finite/],
    ['NaN reading', { ...ok, snapshot: { atMs: NOW, plugins: { a: { rxBps: r(Number.NaN) } } } }, /snapshot.plugins.a.rxBps.value must be a finite number, got NaN/],
    ['negative age', { ...ok, snapshot: { atMs: NOW, plugins: { a: { rxBps: r(1, { ageMs: -1 }) } } } }, /snapshot.plugins.a.rxBps.ageMs must be a finite number ≥ 0/],
    ['unknown KPI in snapshot', { ...ok, snapshot: { atMs: NOW, plugins: { a: { rxBytes: r(1) } as Readings } } }, /snapshot.plugins.a.rxBytes is not a KPI/],
    ['empty profile name', { ...ok, profileName: '' }, /profileName must be a non-empty string/],
  ]
  for (const [name, bad, msg] of cases) t.throws(() => rank(bad), { message: msg }, name)
})

t.test('a plugin named like an Object property is just a plugin', async t => {
  const got = rank(input({ a: { latencySeconds: r(0.001) } }, { names: ['constructor', 'a'] }))
  t.same(order(got.plugins), ['a', 'constructor'])
  t.same(byName(got.plugins, 'constructor').reasons, ['no fresh KPI'])
})

t.test('an empty catalog gives an empty ranking', async t => {
  t.same(rank(input({ a: { rxBps: r(1) } }, { names: [] })).plugins, [])
})

t.test('the explanation names the traffic on each network: usage against capacity and the headroom left', async t => {
  const got = rank(input({
    busy: { usageBps: r(1.45e9), capacityBps: r(9.56e8), headroomBps: r(9.56e8 - 1.45e9), latencySeconds: r(0.0005) },
    idle: { usageBps: r(2e6), capacityBps: r(9.56e8), headroomBps: r(9.54e8), latencySeconds: r(0.0005) },
    unprobed: { usageBps: r(3e5), latencySeconds: r(0.0005) },
  }))
  t.ok(byName(got.plugins, 'busy').reasons.includes('traffic 1.45 Gbit/s of 956 Mbit/s capacity: headroom −494 Mbit/s (151.7% used)'), byName(got.plugins, 'busy').reasons.join(' | '))
  t.ok(byName(got.plugins, 'idle').reasons.includes('traffic 2 Mbit/s of 956 Mbit/s capacity: headroom 954 Mbit/s (0.2% used)'))
  t.ok(byName(got.plugins, 'unprobed').reasons.includes('traffic 300 kbit/s (capacity not measured)'))
})
