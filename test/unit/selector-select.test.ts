import t from 'tap'
import { select } from '../../selector/index.js'
import type { Placement, SelectInput, SelectorOptions } from '../../selector/index.js'
import type { KpiName, KpiReading } from '../../contract/kpis.js'
import { selectorOptions } from '../../agent/config/load-config.js'
import { configFrom } from '../support/agent-config.js'

const DEFAULT_SELECTOR_OPTIONS = selectorOptions(configFrom())

const NOW = 1_700_000_000_000 // ms since the epoch
type Readings = Partial<Record<KpiName, KpiReading>>
const r = (value: number, o: Partial<KpiReading> = {}): KpiReading => ({ value, ageMs: 2000, samples: 5, stale: false, source: 'test', ...o })
/** a plugin whose only weighted KPI gives it `score` under weights {capacityBps: 1} when the best has 1e9 */
const cap = (score: number): Readings => ({ capacityBps: r(score * 1e9) })

function input (plugins: Record<string, Readings>, o: Partial<SelectInput> & { names?: string[], opts?: Partial<SelectorOptions> } = {}): SelectInput {
  const { names, opts, ...rest } = o
  return {
    snapshot: { atMs: NOW, plugins },
    catalog: (names ?? Object.keys(plugins)).map(name => ({ name })),
    profileName: 'throughput-only',
    weights: { capacityBps: 1 },
    options: { ...DEFAULT_SELECTOR_OPTIONS, ...opts },
    recent: [],
    ...rest,
  }
}

t.test('hysteresis: the previous leader stays within the margin and loses beyond it', async t => {
  const cases: Array<{ name: string, prevScore: number, prev: string | undefined, leader: string, because: RegExp }> = [
    { name: 'behind by 0.02 ≤ 0.03: stays', prevScore: 0.98, prev: 'old', leader: 'old', because: /^old stays leader: new is ahead by only 0.02 \(≤ hysteresisMargin 0.03\)$/ },
    { name: 'behind by exactly the margin: stays', prevScore: 0.97, prev: 'old', leader: 'old', because: /old stays leader/ },
    { name: 'behind by 0.04 > 0.03: switches', prevScore: 0.96, prev: 'old', leader: 'new', because: /^leader changes from old to new: ahead by 0.04 \(> hysteresisMargin 0.03\)$/ },
    { name: 'no previous leader: the top leads', prevScore: 0.99, prev: undefined, leader: 'new', because: /new leads/ },
    { name: 'previous leader gone from the catalog', prevScore: 0.99, prev: 'vanished', leader: 'new', because: /previous leader vanished is no longer in the catalog/ },
  ]
  for (const c of cases) {
    // tieBand 0 so that spreading does not mix in: hysteresis alone decides
    const sel = select(input({ new: cap(1), old: cap(c.prevScore) }, { previousLeader: c.prev, opts: { tieBand: 0 } }))
    t.equal(sel.leader, c.leader, c.name)
    t.equal(sel.plugin, c.leader, `${c.name}: chosen`)
    t.equal(sel.reason, 'smart')
    t.ok(sel.because.some(b => c.because.test(b)), `${c.name}: ${sel.because.join(' | ')}`)
  }
})

t.test('hysteresis never keeps an ineligible or data-less previous leader', async t => {
  const full = select(input({ new: cap(1), old: { ...cap(0.99), ipOccupancy: r(0.97) } }, { previousLeader: 'old', weights: { capacityBps: 1 } }))
  t.equal(full.leader, 'new')
  t.ok(full.because.includes('leader changes from old to new: old is ineligible'), full.because.join(' | '))
  const blind = select(input({ new: cap(1), old: {} }, { previousLeader: 'old' }))
  t.equal(blind.leader, 'new')
  t.ok(blind.because.includes('leader changes from old to new: old is without fresh KPIs'), blind.because.join(' | '))
})

function burst (plugins: Record<string, Readings>, pods: number, opts: Partial<SelectorOptions> = {}): Map<string, number> {
  const recent: Placement[] = []
  const counts = new Map<string, number>()
  let previousLeader: string | undefined
  for (let i = 0; i < pods; i++) {
    const atMs = NOW + i * 50 // 100 pods in 5 s: one burst, inside the spread window
    const sel = select({ ...input(plugins, { recent, previousLeader, opts }), snapshot: { atMs, plugins } })
    if (sel.plugin === undefined) throw new Error('no plugin chosen')
    recent.push({ plugin: sel.plugin, atMs })
    previousLeader = sel.leader
    counts.set(sel.plugin, (counts.get(sel.plugin) ?? 0) + 1)
  }
  return counts
}

t.test('burst spreading: 100 pods over equally good networks put at most 60 on one', async t => {
  const cases: Array<{ name: string, plugins: Record<string, Readings>, max: number, users: string[] }> = [
    { name: 'two identical networks', plugins: { a: cap(1), b: cap(1) }, max: 60, users: ['a', 'b'] },
    { name: 'two networks 0.04 apart (inside tieBand 0.05)', plugins: { a: cap(1), b: cap(0.96) }, max: 60, users: ['a', 'b'] },
    { name: 'three identical networks', plugins: { a: cap(1), b: cap(1), c: cap(1) }, max: 40, users: ['a', 'b', 'c'] },
    { name: 'two equal, one clearly worse: the worse gets none', plugins: { a: cap(1), b: cap(1), c: cap(0.5) }, max: 60, users: ['a', 'b'] },
  ]
  for (const c of cases) {
    const counts = burst(c.plugins, 100)
    t.same([...counts.keys()].sort(), c.users, `${c.name}: used ${[...counts.keys()].join(', ')}`)
    for (const [p, n] of counts) t.ok(n <= c.max, `${c.name}: ${p} got ${n} ≤ ${c.max}`)
  }
})

t.test('burst spreading: one clearly better network (outside tieBand) takes the whole burst', async t => {
  const counts = burst({ a: cap(0.9), b: cap(1) }, 100)
  t.same([...counts], [['b', 100]])
})

t.test('spreading picks the candidate with fewest recent placements; ties go to the leader, then catalog order', async t => {
  const at = (plugin: string, agoMs: number): Placement => ({ plugin, atMs: NOW - agoMs })
  const plugins = { a: cap(0.99), b: cap(1), c: cap(0.98) }
  const cases: Array<{ name: string, recent: Placement[], want: string }> = [
    { name: 'no placements: the leader', recent: [], want: 'b' },
    { name: 'leader used once: the first in catalog order among the rest', recent: [at('b', 1000)], want: 'a' },
    { name: 'a and b used: c', recent: [at('b', 1000), at('a', 900)], want: 'c' },
    { name: 'all used once: the leader again', recent: [at('b', 1000), at('a', 900), at('c', 800)], want: 'b' },
    { name: 'placements older than spreadWindowMs do not count', recent: [at('b', 60_001), at('b', 70_000)], want: 'b' },
    { name: 'placements on plugins outside the candidates are ignored', recent: [at('zzz', 10)], want: 'b' },
  ]
  for (const c of cases) {
    const sel = select(input(plugins, { recent: c.recent }))
    t.equal(sel.plugin, c.want, c.name)
    t.equal(sel.leader, 'b', 'spreading does not change the leader')
    t.ok(sel.because.some(b => /^spreading over b, a, c \(within tieBand 0.05 of leader b\); placements in the last 60 s: /.test(b)), sel.because.join(' | '))
  }
})

t.test('with hysteresis keeping an older leader, the tie band is measured from that leader', async t => {
  // new 1.0, old 0.98 (kept by hysteresis), c 0.94: within 0.05 of old, not of new
  const sel = select(input({ new: cap(1), old: cap(0.98), c: cap(0.94) }, { previousLeader: 'old', recent: [{ plugin: 'old', atMs: NOW }, { plugin: 'new', atMs: NOW }] }))
  t.equal(sel.leader, 'old')
  t.equal(sel.plugin, 'c')
})

t.test('no eligible plugin: no choice, reason no-eligible-plugin', async t => {
  const cases: Array<[string, Record<string, Readings>]> = [
    ['every pool full', { a: { ...cap(1), ipOccupancy: r(0.96) }, b: { ipOccupancy: r(1) } }],
    ['empty catalog', {}],
  ]
  for (const [name, plugins] of cases) {
    const sel = select(input(plugins))
    t.equal(sel.plugin, undefined, name)
    t.equal(sel.leader, undefined)
    t.equal(sel.reason, 'no-eligible-plugin')
    t.equal(sel.ranking.plugins.length, Object.keys(plugins).length, 'the ranking is still there to explain it')
  }
})

t.test('eligible plugins but no fresh KPI anywhere: the first eligible in catalog order', async t => {
  const sel = select(input({ full: { ipOccupancy: r(0.99) }, b: {}, c: { capacityBps: r(1e9, { stale: true, ageMs: 3_600_000 }) } }, { names: ['full', 'c', 'b'] }))
  t.equal(sel.plugin, 'c')
  t.equal(sel.reason, 'no-fresh-kpi')
  t.same(sel.because, ['no plugin has a fresh KPI: c, the first eligible in catalog order'])
})

t.test('select is pure: same input, same output; the input is not changed', async t => {
  const i = input({ a: cap(1), b: cap(1) }, { recent: [{ plugin: 'a', atMs: NOW - 10 }], previousLeader: 'b' })
  const before = JSON.stringify(i)
  const one = select(i)
  const two = select(i)
  t.same(one, two)
  t.equal(JSON.stringify(i), before)
})

t.test('bad select input is refused with an error that names the field', async t => {
  const ok = input({ a: cap(1) })
  const cases: Array<[string, SelectInput, RegExp]> = [
    ['recent not an array', { ...ok, recent: 'x' as unknown as Placement[] }, /recent must be an array of \{plugin, atMs\}/],
    ['recent entry without time', { ...ok, recent: [{ plugin: 'a' } as Placement] }, /recent\[0\] must be \{plugin: string, atMs: finite ms\}/],
    ['previousLeader not a string', { ...ok, previousLeader: 3 as unknown as string }, /previousLeader must be a plugin name/],
    ['bad options reach rank\'s checks', { ...ok, options: { ...ok.options, tieBand: -1 } }, /options.tieBand/],
  ]
  for (const [name, bad, msg] of cases) t.throws(() => select(bad), { message: msg }, name)
})
