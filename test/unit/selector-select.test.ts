import t from 'tap'
import { rank, select } from '../../selector/index.js'
import type { LeaderState, SelectInput } from '../../selector/index.js'
import { NOW, net, options, r, selectInput } from '../support/selector-input.js'
import type { Readings } from '../support/selector-input.js'

// Two networks whose scores differ by a chosen amount: latency alone under a latency-only
// profile, static (exact) readings so no confidence band widens the tie.
const lat = (seconds: number): Readings => ({ latencySeconds: r(seconds, { source: 'static' }) })
const latencyOnly = { weights: { latency: 1 }, targets: { latencySeconds: 0.001, capacityBps: 1e9, costPerGiB: 0.01 }, demand: { rxBps: 0, txBps: 0 } }
// score = 0.001 / (0.001 + L): old 0.001 s → 0.5; new 0.0008 s → 0.556 (ahead by 0.056 > tieBand 0.02)
const plugins = { old: lat(0.001), new: lat(0.0008) }

function at (snapshotAtMs: number, previous: LeaderState | undefined, o: Partial<SelectInput> = {}): SelectInput {
  return selectInput(plugins, { snapshot: { atMs: snapshotAtMs, plugins }, profile: latencyOnly, ...(previous !== undefined ? { previous } : {}), ...o })
}

t.test('hysteresis: a challenger must lead by more than the tie on 3 consecutive snapshots before the leader changes', async t => {
  let state: LeaderState | undefined = { leader: 'old', leads: 0, snapshotAtMs: NOW - 1000 }
  const leaders: string[] = []
  for (let snap = 0; snap < 4; snap++) {
    // two requests per snapshot: the second on the same snapshot does not count again
    for (let k = 0; k < 2; k++) {
      const sel = select(at(NOW + snap * 1000, state))
      state = sel.leaderState
      leaders.push(sel.leader ?? '')
    }
  }
  t.same(leaders, ['old', 'old', 'old', 'old', 'new', 'new', 'new', 'new'], 'changes on the third snapshot, not the third request')
  const first = select(at(NOW, { leader: 'old', leads: 0, snapshotAtMs: NOW - 1000 }))
  t.match(first.because[0], /^old stays leader: new is ahead by 0\.056 \(> tie 0\.02\) on 1 of the 3 snapshots a change needs$/)
  t.same(first.leaderState, { leader: 'old', challenger: 'new', leads: 1, snapshotAtMs: NOW })
})

t.test('hysteresis: within the tie the leader stays and the challenger count resets', async t => {
  const close = { old: lat(0.001), new: lat(0.00097) } // 0.5 vs 0.508: within tieBand 0.02
  const sel = select(selectInput(close, { profile: latencyOnly, previous: { leader: 'old', challenger: 'new', leads: 2, snapshotAtMs: NOW - 1000 } }))
  t.equal(sel.leader, 'old')
  t.same(sel.leaderState, { leader: 'old', leads: 0, snapshotAtMs: NOW })
  t.match(sel.because[0], /^old stays leader: new is ahead by 0\.008, within the tie 0\.02$/)
})

t.test('hysteresis: a leader that is no longer eligible is replaced at once', async t => {
  const p = { old: { ...lat(0.0005), ipOccupancy: r(0.99) }, new: lat(0.001) }
  const sel = select(selectInput(p, { profile: latencyOnly, previous: { leader: 'old', leads: 0, snapshotAtMs: NOW - 1000 } }))
  t.equal(sel.plugin, 'new')
  t.match(sel.because[0], /^leader changes from old to new: old is no longer eligible or in the catalog$/)
})

t.test('the tie is statistical: wide confidence bands make two distant scores a tie', async t => {
  const noisy = (l: number): Readings => ({ latencySeconds: r(l, { samples: 2, spread: l * 0.5, source: 'probes' }) })
  const x = rank(selectInput({ a: noisy(0.0008), b: noisy(0.001) }, { profile: latencyOnly }))
  const [a, b] = x.plugins
  t.ok((a?.band ?? 0) + (b?.band ?? 0) > (a?.score ?? 0) - (b?.score ?? 0), `bands ${a?.band.toFixed(3)} + ${b?.band.toFixed(3)} cover the gap`)
  const picks = new Set<string>()
  for (let seed = 1; seed <= 20; seed++) picks.add(select(selectInput({ a: noisy(0.0008), b: noisy(0.001) }, { profile: latencyOnly, seed })).plugin ?? '')
  t.same([...picks].sort(), ['a', 'b'], 'indistinguishable networks share the pods')
  const exact = new Set<string>()
  for (let seed = 1; seed <= 20; seed++) exact.add(select(selectInput({ a: lat(0.0008), b: lat(0.001) }, { profile: latencyOnly, seed })).plugin ?? '')
  t.same([...exact], ['a'], 'exact readings 0.056 apart: the leader takes every pod')
})

t.test('exploration: at most one placement in exploreEvery goes to an under-measured network, named', async t => {
  const p = { measured: net(1e9, 1e8, 0.0003), fresh: { latencySeconds: r(0.0003) } }
  const got: string[] = []
  let since = 0
  for (let i = 0; i < 40; i++) {
    const sel = select(selectInput(p, { sinceExplore: since, seed: i }))
    got.push(sel.reason)
    since = sel.explored ? 0 : since + 1
    if (sel.reason === 'explore') {
      t.equal(sel.plugin, 'fresh')
      t.match(sel.because.at(-1), /^exploring fresh: coverage 35.7% \(under 50%\); one placement in 20 goes to an under-measured network until it is measured$/)
    }
  }
  t.equal(got.filter(x => x === 'explore').length, 2, '2 of 40')
  t.equal(got.indexOf('explore'), 19, 'the 20th placement')
  const never = select(selectInput(p, { sinceExplore: 1000, options: options({ exploreEvery: 0 }) }))
  t.equal(never.reason, 'smart', 'exploreEvery 0: never')
  const all = select(selectInput({ u1: {}, u2: {} }, { sinceExplore: 19 }))
  t.equal(all.reason, 'no-fresh-kpi', 'when nothing is measured there is nothing to explore against')
  t.equal(all.plugin, 'u1', 'priors alone: ranking (catalog) order')
  t.match(all.because.at(-1), /^no network has a fresh measurement that profile "balanced" weighs: every score is priors alone; u1 is first in ranking order$/)
  t.equal(all.explored, false)
})

t.test('no eligible plugin: no choice, said', async t => {
  const sel = select(selectInput({ a: { ipOccupancy: r(0.99) } }))
  t.equal(sel.plugin, undefined)
  t.equal(sel.reason, 'no-eligible-plugin')
  t.same(sel.because, ['no plugin is eligible: every IP pool is full'])
  t.equal(select(selectInput({}, { names: [] })).because[0], 'the catalog is empty')
})

t.test('select is pure and deterministic given the seed; the input is not changed', async t => {
  const i = selectInput({ a: net(1e9, 0, 0.0003), b: net(1e9, 0, 0.0003) }, { recent: [{ plugin: 'a', atMs: NOW - 10, rxBps: 1e6, txBps: 1e6 }], seed: 99 })
  const before = JSON.stringify(i)
  t.same(select(i), select(i))
  t.equal(JSON.stringify(i), before)
})

t.test('bad select input is refused with an error that names the field', async t => {
  const ok = selectInput({ a: net(1e9, 0, 0.0003) })
  const cases: Array<[string, SelectInput, RegExp]> = [
    ['recent not an array', { ...ok, recent: 'x' as unknown as SelectInput['recent'] }, /recent must be an array of \{plugin, atMs, rxBps, txBps\}/],
    ['recent entry without time', { ...ok, recent: [{ plugin: 'a' } as SelectInput['recent'][number]] }, /recent\[0\] must be \{plugin: string, atMs: finite ms, rxBps, txBps\}/],
    ['recent entry with negative demand', { ...ok, recent: [{ plugin: 'a', atMs: NOW, rxBps: -1, txBps: 0 }] }, /recent\[0\]\.rxBps must be a finite number ≥ 0, got -1/],
    ['previous malformed', { ...ok, previous: { leader: 3 } as unknown as LeaderState }, /previous must be \{leader: string/],
    ['seed not an integer', { ...ok, seed: 0.5 }, /seed must be a safe integer, got 0.5/],
    ['negative sinceExplore', { ...ok, sinceExplore: -1 }, /sinceExplore must be an integer ≥ 0, got -1/],
    ['bad options reach rank\'s checks', { ...ok, options: { ...ok.options, tieBand: -1 } }, /options.tieBand/],
    ['zero hysteresis snapshots', { ...ok, options: { ...ok.options, hysteresisSnapshots: 0 } }, /options.hysteresisSnapshots must be an integer ≥ 1, got 0/],
  ]
  for (const [name, bad, msg] of cases) t.throws(() => select(bad), { message: msg }, name)
})
