// The decision suite: each defect the selection issue measured on the old selector, as a
// case with the outcome an operator expects. Snapshots are hand-built in the store's shape.
import t from 'tap'
import { BUILTIN_PROFILES, rank } from '../../selector/index.js'
import type { BuiltinProfileName } from '../../selector/index.js'
import { byName, net, order, profile, r, rankInput, stale } from '../support/selector-input.js'
import type { Readings } from '../support/selector-input.js'

const A = net(9.4e9, 2e9, 0.0002) // fast, busy, 0.2 ms
const B = net(0.94e9, 0.1e9, 0.0006) // 1 Gbit/s, quiet, 0.6 ms
const C = net(40e9, 0, 0.003) // huge, idle, 3 ms
const PROFILES = Object.keys(BUILTIN_PROFILES) as BuiltinProfileName[]

t.test('missing data never wins: an unprobed network without pods ranks last under every profile', async t => {
  for (const name of PROFILES) {
    const with3 = rank(rankInput({ A, B, U: {} }, { profileName: name, profile: profile(name) }))
    t.equal(order(with3).at(-1), 'U', `${name}: U last (${with3.plugins.map(p => `${p.plugin} ${p.score.toFixed(3)}`).join(', ')})`)
    const U = byName(with3, 'U')
    t.equal(U.coverage, 0, `${name}: U's score is all priors`)
    t.ok(U.reasons.some(x => /^latency: latencySeconds missing: prior 60 s$/.test(x)), `${name}: the prior is named`)
    const with2 = rank(rankInput({ A, B }, { profileName: name, profile: profile(name) }))
    t.same(order(with3).filter(p => p !== 'U'), order(with2), `${name}: A and B keep their order when U joins`)
    t.equal(byName(with3, 'A').score, byName(with2, 'A').score, `${name}: A's score does not depend on U`)
  }
})

t.test('losing a measurement never raises a score, and never lifts a network past another', async t => {
  const full: Readings = { ...net(2e9, 2.4e9, 0.0008), ipOccupancy: r(0.5), probeFailureRatio: r(0.2), costPerGiB: r(0.05) }
  const other: Readings = { ...net(1e9, 1e8, 0.0003), ipOccupancy: r(0.2), probeFailureRatio: r(0), costPerGiB: r(0.01) }
  const before = byName(rank(rankInput({ x: full, y: other })), 'x').score
  for (const kpi of Object.keys(full) as Array<keyof Readings>) {
    const gone = { ...full }
    delete gone[kpi]
    const stalled = { ...full, [kpi]: stale(full[kpi]?.value ?? 0) }
    for (const [how, readings] of [['missing', gone], ['stale', stalled]] as const) {
      const after = byName(rank(rankInput({ x: readings, y: other })), 'x').score
      t.ok(after <= before + 1e-12, `${kpi} ${how}: ${after.toFixed(4)} ≤ ${before.toFixed(4)} (oversubscribed 120 %, half-full pool, 20 % failures)`)
    }
  }
  // x alone measures probe health and cost: losing them takes the criteria out for everyone, and x stays behind y
  const onlyX: Readings = { ...net(1e9, 5e8, 0.001), probeFailureRatio: r(0.3), costPerGiB: r(0.08) }
  const y: Readings = net(1e9, 1e8, 0.0003)
  t.same(order(rank(rankInput({ x: onlyX, y }))), ['y', 'x'])
  for (const kpi of ['probeFailureRatio', 'costPerGiB'] as const) {
    const gone = { ...onlyX }
    delete gone[kpi]
    t.same(order(rank(rankInput({ x: gone, y }))), ['y', 'x'], `x without ${kpi}: still behind y`)
  }
})

t.test('no rank reversal: an unrelated network joining or leaving does not reorder two others', async t => {
  for (const name of PROFILES) {
    const p = profile(name)
    const two = order(rank(rankInput({ A, B }, { profileName: name, profile: p })))
    const three = order(rank(rankInput({ A, B, C }, { profileName: name, profile: p }))).filter(x => x !== 'C')
    t.same(three, two, `${name}: ${two.join(' > ')} with and without C`)
  }
})

t.test('a sense of scale: 12 Mbit/s on an idle 10 Gbit/s network is no difference; 0.1 % utilisation moves the score < 0.001', async t => {
  const ten = (use: number): Readings => net(10e9, use, 0.0002)
  const x = rank(rankInput({ busy: ten(12e6), idle: ten(0) }))
  const gap = byName(x, 'idle').score - byName(x, 'busy').score
  t.ok(gap > 0 && gap < 0.001, `gap ${gap.toExponential(2)}`)
})

t.test('the occupancy penalty is convex: 40 % → 50 % costs more than 0 % → 10 %', async t => {
  const at = (occ: number): Readings => ({ ...net(1e9, 0, 0.0002), ipOccupancy: r(occ) })
  const x = rank(rankInput({ o0: at(0), o10: at(0.1), o40: at(0.4), o50: at(0.5) }))
  const s = (n: string): number => byName(x, n).score
  const early = s('o0') - s('o10')
  const late = s('o40') - s('o50')
  t.ok(late > 5 * early, `late ${late.toFixed(4)} vs early ${early.toFixed(4)}`)
  t.same(order(x), ['o0', 'o10', 'o40', 'o50'])
})

t.test('the lab\'s saturated bridge-fast (1.52 Gbit/s on 956 Mbit/s) ranks below the idle 200 Mbit/s bridge-capped that fits the pod', async t => {
  const fast = net(956e6, 1.52e9, 0.0004)
  const capped = net(200e6, 0, 0.0004)
  for (const name of PROFILES) {
    const x = rank(rankInput({ 'bridge-fast': fast, 'bridge-capped': capped }, { profileName: name, profile: profile(name) }))
    t.same(order(x), ['bridge-capped', 'bridge-fast'], `${name}: ${x.plugins.map(p => `${p.plugin} ${p.score.toFixed(3)}`).join(', ')}`)
    const f = byName(x, 'bridge-fast')
    t.ok((f.predicted.rxUtilisation ?? 0) > 1.5, `predicted utilisation ${(f.predicted.rxUtilisation ?? 0).toFixed(2)} shown`)
    t.ok(f.reasons.some(y => /^predicted utilisation rx 160(\.\d)?% \/ tx 160(\.\d)?% with this pod's 10 Mbit\/s: headroom −574 Mbit\/s$/.test(y)), f.reasons.join(' | '))
  }
})

t.test('no noise lines: a criterion nobody measures or sets is absent from the profile, said once', async t => {
  const x = rank(rankInput({ A, B }))
  t.same(x.absent, ['occupancy', 'probeHealth', 'cost'])
  t.equal(x.notes.filter(n => /^cost left out of profile "balanced" for every network/.test(n)).length, 1)
  for (const p of x.plugins) {
    t.notOk(p.reasons.some(y => /cost|redistribut/.test(y)), `${p.plugin}: no per-plugin cost line`)
    t.same(Object.keys(p.criteria).sort(), ['capacity', 'latency', 'utilisation'])
  }
  const w = Object.values(byName(x, 'A').criteria).reduce((s, c) => s + c.weight, 0)
  t.ok(Math.abs(w - 1) < 1e-12, 'the present criteria share the whole weight')
  const costed = rank(rankInput({ A, B }, { catalog: [{ name: 'A', costPerGiB: 0.02 }, { name: 'B' }] }))
  t.notOk(costed.absent.includes('cost'), 'one network with a catalog cost makes cost present')
  t.ok(byName(costed, 'B').reasons.some(y => /^cost: costPerGiB missing: prior 0\.1\/GiB \(10× the reference\)$/.test(y)), 'and the other is scored at the prior, said')
})

t.test('a network without any KPI cannot outrank one that meets the targets, even with an optimistic prior band', async t => {
  const x = rank(rankInput({ U: {}, meets: net(1e9, 1e8, 0.0005) }))
  t.same(order(x), ['meets', 'U'])
  t.equal(byName(x, 'U').band, 0, 'a prior carries no band: it cannot tie its way in')
})
