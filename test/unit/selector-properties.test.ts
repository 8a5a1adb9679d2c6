// Property tests over random plugin sets (fast-check): a plugin's score depends on that
// plugin alone, so adding or removing another never changes the relative order of the rest.
import t from 'tap'
import fc from 'fast-check'
import { BUILTIN_PROFILES, rank } from '../../selector/index.js'
import type { BuiltinProfileName, Ranking } from '../../selector/index.js'
import type { KpiName, KpiReading } from '../../contract/kpis.js'
import { profile, rankInput } from '../support/selector-input.js'
import type { Readings } from '../support/selector-input.js'

const reading = (lo: number, hi: number): fc.Arbitrary<KpiReading | undefined> => fc.option(fc.record({
  value: fc.double({ min: lo, max: hi, noNaN: true }),
  ageMs: fc.integer({ min: 0, max: 3_600_000 }),
  samples: fc.integer({ min: 1, max: 30 }),
  stale: fc.boolean(),
  source: fc.constantFrom('probes', 'cadvisor', 'ipam', 'static'),
  spread: fc.double({ min: 0, max: hi / 10, noNaN: true }),
}), { freq: 3, nil: undefined })

const readings: fc.Arbitrary<Readings> = fc.record({
  capacityBps: reading(0, 100e9),
  capacityRxBps: reading(0, 100e9),
  capacityTxBps: reading(0, 100e9),
  rxBps: reading(0, 20e9),
  txBps: reading(0, 20e9),
  latencySeconds: reading(1e-5, 0.5),
  ipOccupancy: reading(0, 1),
  probeFailureRatio: reading(0, 1),
  costPerGiB: reading(0, 1),
}).map(o => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<Record<KpiName, KpiReading>>)

const profiles = fc.constantFrom(...(Object.keys(BUILTIN_PROFILES) as BuiltinProfileName[]))

/** The order of `names` in the ranking, ignoring pairs whose scores are equal within float noise. */
function consistent (a: Ranking, b: Ranking, names: readonly string[]): boolean {
  const score = (r: Ranking, n: string): number => r.plugins.find(p => p.plugin === n)?.score ?? Number.NaN
  for (const x of names) {
    for (const y of names) {
      const da = score(a, x) - score(a, y)
      const db = score(b, x) - score(b, y)
      if (Math.abs(da) > 1e-9 && Math.abs(db) > 1e-9 && Math.sign(da) !== Math.sign(db)) return false
    }
  }
  return true
}

t.test('adding or removing a plugin never changes the relative order of the others', async t => {
  fc.assert(fc.property(fc.array(readings, { minLength: 2, maxLength: 6 }), readings, fc.nat(), profiles, (set, extra, at, name) => {
    const names = set.map((_, i) => `p${i}`)
    const plugins: Record<string, Readings> = Object.fromEntries(set.map((rd, i) => [`p${i}`, rd]))
    const p = profile(name)
    const without = rank(rankInput(plugins, { profileName: name, profile: p }))
    const withNames = [...names]
    withNames.splice(at % (names.length + 1), 0, 'extra')
    const withIt = rank(rankInput({ ...plugins, extra }, { profileName: name, profile: p, names: withNames }))
    return consistent(without, withIt, names)
  }), { numRuns: 500 })
  t.pass('500 random sets')
})

t.test('scores stay in [−1, 1], bands ≥ 0, coverage in [0, 1], ranks follow eligibility then score', async t => {
  fc.assert(fc.property(fc.array(readings, { minLength: 1, maxLength: 8 }), profiles, (set, name) => {
    const plugins: Record<string, Readings> = Object.fromEntries(set.map((rd, i) => [`p${i}`, rd]))
    const x = rank(rankInput(plugins, { profileName: name, profile: profile(name) }))
    const ok = x.plugins.every(p => p.score >= -1 - 1e-12 && p.score <= 1 + 1e-12 && p.band >= 0 && p.coverage >= 0 && p.coverage <= 1 + 1e-12)
    const sorted = x.plugins.every((p, i) => {
      const q = x.plugins[i + 1]
      return q === undefined || (p.eligible && !q.eligible) || (p.eligible === q.eligible && p.score >= q.score)
    })
    return ok && sorted
  }), { numRuns: 500 })
  t.pass('500 random sets')
})
