import t from 'tap'
import { valueFunctions as v } from '../../selector/index.js'

const close = (a: number, b: number): boolean => Math.abs(a - b) < 1e-12

t.test('utilisation: 1 idle, 0 full, below 0 oversubscribed, bounded by −1, strictly falling', async t => {
  const cases: Array<[number, number]> = [[0, 1], [0.25, 0.75], [1, 0], [2, -0.5], [4, -0.75], [Infinity, -1], [Number.NaN, -1]]
  for (const [rho, want] of cases) t.ok(close(v.utilisationValue(rho), want), `ρ ${rho} → ${want} (got ${v.utilisationValue(rho)})`)
  let prev = Infinity
  for (let rho = 0; rho < 10; rho += 0.05) {
    const x = v.utilisationValue(rho)
    t.ok(x < prev, `falls at ρ ${rho.toFixed(2)}`)
    prev = x
  }
})

t.test('latency, capacity and cost are 0.5 at their target and move the right way', async t => {
  t.equal(v.latencyValue(0.001, 0.001), 0.5)
  t.ok(v.latencyValue(0.0002, 0.001) > v.latencyValue(0.0006, 0.001))
  t.equal(v.latencyValue(0, 0.001), 1)
  t.equal(v.capacityValue(1e9, 1e9), 0.5)
  t.ok(v.capacityValue(40e9, 1e9) > v.capacityValue(9.4e9, 1e9))
  t.equal(v.capacityValue(0, 1e9), 0)
  t.equal(v.capacityValue(-5, 1e9), 0, 'a negative input counts as none')
  t.equal(v.costValue(0.01, 0.01), 0.5)
  t.equal(v.costValue(0, 0.01), 1)
  t.equal(v.probeHealthValue(0.25), 0.75)
  t.equal(v.probeHealthValue(2), 0, 'clamped')
})

t.test('occupancy: a convex penalty that reaches 0 at maxOccupancy', async t => {
  const f = (x: number): number => v.occupancyValue(x, 0.95)
  t.equal(f(0), 1)
  t.equal(f(0.95), 0)
  t.equal(f(1), 0, 'beyond the max: 0')
  const early = f(0) - f(0.1)
  const late = f(0.4) - f(0.5)
  t.ok(late > 8.9 * early && late < 9.1 * early, `40 % → 50 % costs 9× what 0 % → 10 % does (${late.toFixed(4)} vs ${early.toFixed(4)})`)
})
