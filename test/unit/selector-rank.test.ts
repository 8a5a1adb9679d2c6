// rank(): the score as Σ weight × criterion value, eligibility, the explanation an operator
// reads, and the checks on its input. The decision-level cases (missing data, reversal,
// scale, saturation) are selector-decisions.test.ts; bursts are selector-bursts.test.ts.
import t from 'tap'
import { rank, valueFunctions as vf } from '../../selector/index.js'
import type { Profile, RankInput } from '../../selector/index.js'
import { byName, net, NOW, options, order, profile, r, rankInput, stale } from '../support/selector-input.js'
import type { Readings } from '../support/selector-input.js'

const close = (a: number, b: number, eps = 1e-9): boolean => Math.abs(a - b) <= eps
const TARGETS = { latencySeconds: 0.001, capacityBps: 1e9, costPerGiB: 0.01 }
const only = (weights: Profile['weights'], demand = { rxBps: 0, txBps: 0 }): Profile => ({ weights, targets: TARGETS, demand })

t.test('the score is Σ weight × the absolute value functions, weights shared out over the criteria present', async t => {
  const got = rank(rankInput({ a: net(2e9, 5e8, 0.0005, { ipOccupancy: r(0.3) }) }, {
    profile: only({ utilisation: 2, latency: 1, occupancy: 1, cost: 4 }, { rxBps: 1e8, txBps: 0 }),
  }))
  const a = byName(got, 'a')
  t.same(got.absent, ['cost'], 'nobody has a cost: cost is left out for everyone')
  t.same(Object.keys(a.criteria), ['utilisation', 'latency', 'occupancy'])
  t.ok(close(a.criteria.utilisation?.weight ?? 0, 0.5) && close(a.criteria.latency?.weight ?? 0, 0.25), 'weights 2:1:1 shared out to 1')
  const rho = (5e8 + 1e8) / 2e9 // rx: measured + the pod's demand, over rx capacity; tx is 5e8/2e9
  t.ok(close(a.criteria.utilisation?.value ?? 0, rho), `ρ of the tighter direction is ${rho}`)
  t.ok(close(a.criteria.utilisation?.score ?? 0, vf.utilisationValue(rho)))
  t.ok(close(a.criteria.latency?.score ?? 0, vf.latencyValue(0.0005, 0.001)))
  t.ok(close(a.criteria.occupancy?.score ?? 0, vf.occupancyValue(0.3, options().maxOccupancy)))
  const expected = 0.5 * vf.utilisationValue(rho) + 0.25 * vf.latencyValue(0.0005, 0.001) + 0.25 * vf.occupancyValue(0.3, options().maxOccupancy)
  t.ok(close(a.score, expected), `score ${a.score} = ${expected}`)
  t.same(a.predicted, { rxUtilisation: 0.3, txUtilisation: 0.25, headroomBps: 2e9 - 6e8 })
  t.equal(a.coverage, 1, 'every weighed input measured and fresh')
  t.equal(a.band, 0, 'readings without spread over 5 samples: no band')
})

t.test('a reading\'s spread becomes the score\'s band; one sample gets the configured single-sample uncertainty', async t => {
  const lat = (o: Partial<Parameters<typeof r>[1]>): Readings => ({ latencySeconds: r(0.001, o) })
  const p = only({ latency: 1 })
  const band = (x: Readings): number => byName(rank(rankInput({ x }, { profile: p })), 'x').band
  t.equal(band(lat({ samples: 5, spread: 0 })), 0)
  const narrow = band(lat({ samples: 9, spread: 0.0001 }))
  const wide = band(lat({ samples: 9, spread: 0.0004 }))
  const fewer = band(lat({ samples: 2, spread: 0.0004 }))
  t.ok(narrow > 0 && wide > narrow && fewer > wide, `bands grow with spread and with fewer samples: ${narrow}, ${wide}, ${fewer}`)
  const single = band(lat({ samples: 1, spread: undefined }))
  const tenPct = Math.abs(vf.latencyValue(0.0011, 0.001) - vf.latencyValue(0.0009, 0.001)) / 2
  t.ok(single > 0 && close(single, tenPct, 0.002), `one sample: ±10 % of the value (${single} ≈ ${tenPct})`)
})

t.test('a full IP pool is ineligible at maxOccupancy and not just below; it ranks last with score 0', async t => {
  const cases: Array<{ occ: number, maxOccupancy: number, eligible: boolean, reason?: RegExp }> = [
    { occ: 0.95, maxOccupancy: 0.95, eligible: false, reason: /^ip pool 95% full \(≥ maxOccupancy 95%\)$/ },
    { occ: 1, maxOccupancy: 0.95, eligible: false, reason: /^ip pool 100% full \(≥ maxOccupancy 95%\)$/ },
    { occ: 0.949, maxOccupancy: 0.95, eligible: true },
    { occ: 0.8, maxOccupancy: 0.8, eligible: false, reason: /^ip pool 80% full \(≥ maxOccupancy 80%\)$/ },
    { occ: 0.7999, maxOccupancy: 0.8, eligible: true },
  ]
  for (const c of cases) {
    const got = rank(rankInput({
      best: { latencySeconds: r(0.0001), ipOccupancy: r(c.occ) },
      worse: { latencySeconds: r(0.01), ipOccupancy: r(0.1) },
    }, { profile: only({ latency: 1 }), options: options({ maxOccupancy: c.maxOccupancy }) }))
    const best = byName(got, 'best')
    t.equal(best.eligible, c.eligible, `occupancy ${c.occ} vs max ${c.maxOccupancy}`)
    if (c.reason !== undefined) {
      t.ok(best.reasons.some(x => c.reason?.test(x) === true), `reason: ${best.reasons.join('; ')}`)
      t.same(order(got), ['worse', 'best'], 'the full pool ranks last')
      t.equal(best.score, 0)
      t.equal(best.band, 0)
    } else {
      t.same(order(got), ['best', 'worse'])
    }
  }
})

t.test('a pool with no free address in one range set is ineligible even when it is mostly empty as a whole (dual-stack: IPv4 full, IPv6 empty)', async t => {
  // 254 of a /24 used next to a /64: ipOccupancy ~0, but the next ADD needs an IPv4 address too
  const dual = rank(rankInput({
    dual: { latencySeconds: r(0.0001), ipOccupancy: r(254 / 2 ** 64), ipFree: r(0) },
    other: { latencySeconds: r(0.01), ipOccupancy: r(0.5), ipFree: r(100) },
  }, { profile: only({ latency: 1 }) }))
  const d = byName(dual, 'dual')
  t.equal(d.eligible, false, 'ipFree 0 excludes it')
  t.match(d.reasons.join('; '), /no free address left in one of the ip pool's range sets \(ipFree 0; the pool as a whole is 0% full\)/)
  t.same(order(dual), ['other', 'dual'])
  t.equal(byName(dual, 'other').eligible, true, 'ipFree 100 does not')
  // ipFree alone (no occupancy reading), fresh 0: ineligible; stale 0: only the occupancy rules apply
  const alone = rank(rankInput({ a: { latencySeconds: r(0.001), ipFree: r(0) }, b: { latencySeconds: r(0.001), ipFree: stale(0, 600_000) } }, { profile: only({ latency: 1 }) }))
  t.equal(byName(alone, 'a').eligible, false)
  t.equal(byName(alone, 'b').eligible, true, 'a stale ipFree 0 does not exclude')
})

t.test('a stale occupancy does not exclude a plugin; it is said, and the occupancy prior applies', async t => {
  const got = rank(rankInput({ a: { ipOccupancy: stale(0.3, 600_000), latencySeconds: r(0.001) } }, { profile: only({ latency: 1, occupancy: 1 }) }))
  const a = byName(got, 'a')
  t.equal(a.eligible, true)
  t.ok(a.reasons.includes('ipOccupancy stale (600 s old): pool fullness unknown'), a.reasons.join('; '))
  t.equal(a.criteria.occupancy?.score, 0, 'the prior (a full pool) scores 0: a stale 30 % is not trusted')
  t.match(a.criteria.occupancy?.prior, /^ipOccupancy stale \(600 s old\): prior 100%$/)
  t.equal(a.coverage, 0.5)
})

t.test('equal scores keep catalog order, whatever the snapshot\'s key order', async t => {
  const same = net(1e9, 0, 0.001)
  for (const names of [['a', 'b', 'c'], ['c', 'a', 'b'], ['b', 'c', 'a']]) {
    const got = rank(rankInput({ a: same, b: same, c: same }, { names }))
    t.same(order(got), names, `catalog ${names.join(',')}`)
    t.same(got.plugins.map(p => p.rank), [1, 2, 3])
  }
})

t.test('the catalog\'s costPerGiB is used when no cost was measured or set; a static KPI wins over it', async t => {
  const base = rankInput({ a: { latencySeconds: r(0.001) }, b: { latencySeconds: r(0.001), costPerGiB: r(0.5, { source: 'static' }) } }, { profile: only({ cost: 1, latency: 1 }) })
  const got = rank({ ...base, catalog: [{ name: 'a', costPerGiB: 0.1 }, { name: 'b', costPerGiB: 0.01 }] })
  t.equal(byName(got, 'a').kpis.costPerGiB?.value, 0.1, 'a: from the catalog')
  t.equal(byName(got, 'b').kpis.costPerGiB?.value, 0.5, 'b: the snapshot wins over the catalog')
  t.ok(close(byName(got, 'a').criteria.cost?.score ?? 0, vf.costValue(0.1, 0.01)))
  t.same(order(got), ['a', 'b'])
})

t.test('every ranked plugin carries its explanation: KPIs with age and samples, criteria, priors, prediction, score line', async t => {
  const got = rank(rankInput({
    a: { latencySeconds: r(0.0005, { ageMs: 1500, samples: 7 }), rxBps: r(1e6, { ageMs: 250, samples: 12 }), txBps: r(2e6, { ageMs: 250, samples: 12 }), capacityBps: stale(1e9, 3_600_000) },
  }, { profile: only({ latency: 1, capacity: 1 }) }))
  t.same(got.plugins[0], {
    plugin: 'a',
    rank: 1,
    score: 0.5 * vf.latencyValue(0.0005, 0.001),
    band: 0,
    coverage: 0.5,
    eligible: true,
    predicted: {},
    reasons: [
      'capacity: capacityBps stale (3600 s old): prior 0 bit/s',
      `score ${(0.5 * vf.latencyValue(0.0005, 0.001)).toFixed(3)} ± 0, coverage 50%`,
    ],
    kpis: {
      rxBps: { value: 1e6, ageSeconds: 0.25, samples: 12, stale: false },
      txBps: { value: 2e6, ageSeconds: 0.25, samples: 12, stale: false },
      capacityBps: { value: 1e9, ageSeconds: 3600, samples: 5, stale: true },
      latencySeconds: { value: 0.0005, ageSeconds: 1.5, samples: 7, stale: false },
    },
    criteria: {
      latency: { score: vf.latencyValue(0.0005, 0.001), weight: 0.5, band: 0, value: 0.0005 },
      capacity: { score: 0, weight: 0.5, band: 0, value: 0, prior: 'capacityBps stale (3600 s old): prior 0 bit/s' },
    },
  })
})

t.test('the explanation names the traffic as predicted utilisation per direction, with this pod and recent placements', async t => {
  const got = rank(rankInput({
    busy: { ...net(9.56e8, 0, 0.0005), rxBps: r(1.45e9), txBps: r(2e7) },
    idle: net(9.56e8, 2e6, 0.0005),
    unprobed: { rxBps: r(3e5), txBps: r(3e5), latencySeconds: r(0.0005) },
  }, {
    demand: { rxBps: 5e7, txBps: 1e7, source: 'annotation' },
    recent: [{ plugin: 'idle', atMs: NOW - 150_000, rxBps: 1e8, txBps: 1e8 }, { plugin: 'idle', atMs: NOW - 400_000, rxBps: 1e9, txBps: 1e9 }],
  }))
  t.same(got.demand, { rxBps: 5e7, txBps: 1e7, source: 'annotation' })
  const reasons = (n: string): string => byName(got, n).reasons.join(' | ')
  t.ok(byName(got, 'busy').reasons.includes('predicted utilisation rx 156.9% / tx 3.1% with this pod\'s rx 50 Mbit/s / tx 10 Mbit/s: headroom −544 Mbit/s'), reasons('busy'))
  // rx: 2 measured + 50 phantom (100 Mbit/s placed 150 s into a 300 s window counts half; the one 400 s ago is gone) + 50 of this pod
  t.ok(byName(got, 'idle').reasons.includes('predicted utilisation rx 10.7% / tx 6.5% with this pod\'s rx 50 Mbit/s / tx 10 Mbit/s, phantom 50 Mbit/s of 1 recent placement: headroom 854 Mbit/s'), reasons('idle'))
  t.match(reasons('unprobed'), /utilisation: capacity missing: prior 0 bit\/s/)
  t.same(byName(got, 'unprobed').predicted, {}, 'no capacity: nothing to predict')
  t.equal(byName(got, 'unprobed').criteria.utilisation?.value, undefined, 'and no ρ (JSON has no Infinity)')
  t.same(order(got), ['idle', 'busy', 'unprobed'])
})

t.test('a profile whose criteria nobody measures has nothing to score: said once', async t => {
  const got = rank(rankInput({ a: { latencySeconds: r(0.001) }, b: {} }, { profile: only({ cost: 1 }), profileName: 'cheap' }))
  t.same(got.absent, ['cost'])
  t.same(got.notes, [
    'cost left out of profile "cheap" for every network: no network has a cost (catalog costPerGiB or a static KPI)',
    'profile "cheap" has nothing to score: every network is at the same (empty) score',
  ])
  t.same(got.plugins.map(p => [p.plugin, p.score, p.coverage]), [['a', 0, 0], ['b', 0, 0]], 'catalog order, no score')
  t.same(byName(got, 'a').reasons, [], 'no per-plugin noise')
})

t.test('rank does not change its input', async t => {
  const i = rankInput({ a: net(1e9, 1e8, 0.001) }, { catalog: [{ name: 'a', costPerGiB: 1 }], recent: [{ plugin: 'a', atMs: NOW - 1, rxBps: 1, txBps: 1 }] })
  const before = JSON.stringify(i)
  rank(i)
  t.equal(JSON.stringify(i), before)
})

t.test('bad input is refused with an error that names the field', async t => {
  const ok = rankInput({ a: { latencySeconds: r(0.001) } })
  const withProfile = (p: unknown): RankInput => ({ ...ok, profile: p as Profile })
  const withOptions = (o: Record<string, unknown>): RankInput => ({ ...ok, options: { ...ok.options, ...o } })
  const cases: Array<[string, RankInput, RegExp]> = [
    ['unknown criterion', withProfile({ ...ok.profile, weights: { latencyMs: 1 } }), /weights.latencyMs of profile "balanced" is not a criterion; known: utilisation, latency/],
    ['a KPI name is not a criterion', withProfile({ ...ok.profile, weights: { latencySeconds: 1 } }), /weights.latencySeconds of profile "balanced" is not a criterion/],
    ['negative weight', withProfile({ ...ok.profile, weights: { latency: -1 } }), /weights.latency of profile "balanced" must be a finite number ≥ 0, got -1/],
    ['NaN weight', withProfile({ ...ok.profile, weights: { latency: Number.NaN } }), /must be a finite number ≥ 0, got NaN/],
    ['no weight at all', withProfile({ ...ok.profile, weights: {} }), /profile "balanced" weighs no criterion/],
    ['all-zero weights', withProfile({ ...ok.profile, weights: { cost: 0 } }), /weighs no criterion/],
    ['profile not an object', withProfile('fast'), /profile "balanced" must be an object \{weights, targets, demand\}/],
    ['targets missing', withProfile({ weights: { latency: 1 }, demand: { rxBps: 0, txBps: 0 } }), /targets of profile "balanced" must be an object/],
    ['zero latency target', withProfile({ ...ok.profile, targets: { ...TARGETS, latencySeconds: 0 } }), /targets.latencySeconds of profile "balanced" must be a finite number > 0, got 0/],
    ['negative capacity target', withProfile({ ...ok.profile, targets: { ...TARGETS, capacityBps: -1 } }), /targets.capacityBps .* > 0, got -1/],
    ['profile demand negative', withProfile({ ...ok.profile, demand: { rxBps: -5, txBps: 0 } }), /demand of profile "balanced".rxBps must be a finite number ≥ 0, got -5/],
    ['pod demand infinite', { ...ok, demand: { rxBps: 0, txBps: Infinity, source: 'annotation' } }, /demand.txBps must be a finite number ≥ 0, got Infinity/],
    ['duplicate catalog entry', { ...ok, catalog: [{ name: 'a' }, { name: 'a' }] }, /catalog\[1\].name "a" appears twice/],
    ['nameless catalog entry', { ...ok, catalog: [{ name: '' }] }, /catalog\[0\].name must be a non-empty string/],
    ['catalog name libcni would refuse', { ...ok, catalog: [{ name: 'my net' }] }, /catalog\[0\].name "my net" is not a CNI network name/],
    ['negative catalog cost', { ...ok, catalog: [{ name: 'a', costPerGiB: -1 }] }, /catalog\[0\].costPerGiB must be a finite number ≥ 0/],
    ['tieBand out of range', withOptions({ tieBand: 2 }), /options.tieBand must be a number in \[0, 1\], got 2/],
    ['maxOccupancy 0', withOptions({ maxOccupancy: 0 }), /options.maxOccupancy must be a number in \(0, 1\], got 0/],
    ['NaN spread window', withOptions({ spreadWindowMs: Number.NaN }), /options.spreadWindowMs/],
    ['hysteresis 0 snapshots', withOptions({ hysteresisSnapshots: 0 }), /options.hysteresisSnapshots must be an integer ≥ 1, got 0/],
    ['fractional exploreEvery', withOptions({ exploreEvery: 2.5 }), /options.exploreEvery must be an integer ≥ 0, got 2.5/],
    ['uncertainty above 1', withOptions({ singleSampleUncertainty: 1.5 }), /options.singleSampleUncertainty must be a number in \[0, 1\]/],
    ['priors missing', withOptions({ priors: undefined }), /options.priors must be an object/],
    ['failure-ratio prior above 1', withOptions({ priors: { ...ok.options.priors, probeFailureRatio: 2 } }), /options.priors.probeFailureRatio must be a finite number in \[0, 1\], got 2/],
    ['negative latency prior', withOptions({ priors: { ...ok.options.priors, latencySeconds: -1 } }), /options.priors.latencySeconds must be a finite number in \[0, Infinity\], got -1/],
    ['NaN snapshot time', { ...ok, snapshot: { atMs: Number.NaN, plugins: {} } }, /snapshot.atMs must be finite/],
    ['NaN reading', { ...ok, snapshot: { atMs: NOW, plugins: { a: { rxBps: r(Number.NaN) } } } }, /snapshot.plugins.a.rxBps.value must be a finite number, got NaN/],
    ['negative age', { ...ok, snapshot: { atMs: NOW, plugins: { a: { rxBps: r(1, { ageMs: -1 }) } } } }, /snapshot.plugins.a.rxBps.ageMs must be a finite number ≥ 0/],
    ['unknown KPI in snapshot', { ...ok, snapshot: { atMs: NOW, plugins: { a: { rxBytes: r(1) } as Readings } } }, /snapshot.plugins.a.rxBytes is not a KPI/],
    ['empty profile name', { ...ok, profileName: '' }, /profileName must be a non-empty string/],
  ]
  for (const [name, bad, msg] of cases) t.throws(() => rank(bad), { message: msg }, name)
})

t.test('a plugin named like an Object property is just a plugin', async t => {
  const got = rank(rankInput({ a: net(1e9, 0, 0.001) }, { names: ['constructor', 'a'] }))
  t.same(order(got), ['a', 'constructor'])
  t.equal(byName(got, 'constructor').coverage, 0, 'it has no readings: all priors')
})

t.test('an empty catalog gives an empty ranking', async t => {
  t.same(rank(rankInput({ a: { rxBps: r(1) } }, { names: [] })).plugins, [])
})

t.test('the agent\'s own profiles resolve through the config: balanced weighs six criteria', async t => {
  t.same(Object.keys(profile('balanced').weights).sort(), ['capacity', 'cost', 'latency', 'occupancy', 'probeHealth', 'utilisation'])
})
