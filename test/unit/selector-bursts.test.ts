// Bursts: many pods asking at once, each placement's demand counted as phantom load by the
// next. The agent's loop in miniature: select, remember the placement and the leader state.
import t from 'tap'
import { rank, select } from '../../selector/index.js'
import type { LeaderState, Placement } from '../../selector/index.js'
import { byName, NOW, net, selectInput } from '../support/selector-input.js'
import type { Readings } from '../support/selector-input.js'

interface Burst { counts: Record<string, number>, recent: Placement[] }

function burst (plugins: Record<string, Readings>, pods: number, demandBps: number, seed: number, recent: Placement[] = [], startMs = NOW): Burst {
  const counts: Record<string, number> = Object.fromEntries(Object.keys(plugins).map(p => [p, 0]))
  let previous: LeaderState | undefined
  for (let i = 0; i < pods; i++) {
    const atMs = startMs + i * 20 // 40 pods in 0.8 s: one KPI snapshot's worth
    const sel = select(selectInput(plugins, {
      snapshot: { atMs, plugins },
      demand: { rxBps: demandBps, txBps: demandBps, source: 'annotation' },
      recent,
      ...(previous !== undefined ? { previous } : {}),
      seed: seed * 1_000 + i,
    }))
    if (sel.plugin === undefined) throw new Error('nothing chosen')
    counts[sel.plugin] = (counts[sel.plugin] ?? 0) + 1
    recent.push({ plugin: sel.plugin, atMs, rxBps: demandBps, txBps: demandBps })
    previous = sel.leaderState
  }
  return { counts, recent }
}

t.test('40 pods × 50 Mbit/s over idle 1 Gbit/s and 200 Mbit/s networks land roughly in proportion to capacity', async t => {
  const plugins = { big: net(1e9, 0, 0.0003), small: net(200e6, 0, 0.0003) }
  for (const seed of [1, 2, 3, 4, 5, 6, 7, 8]) {
    const { counts } = burst(plugins, 40, 50e6, seed)
    const share = (counts.big ?? 0) / 40
    t.ok(share >= 0.75 && share <= 0.9, `seed ${seed}: the bigger takes ${(share * 100).toFixed(1)} % (${JSON.stringify(counts)})`)
  }
})

t.test('over twins no more than 60 % of a burst lands on one', async t => {
  const plugins = { a: net(1e9, 0, 0.0003), b: net(1e9, 0, 0.0003) }
  for (const seed of [1, 2, 3, 4, 5, 6, 7, 8]) {
    const { counts } = burst(plugins, 40, 50e6, seed)
    const most = Math.max(counts.a ?? 0, counts.b ?? 0) / 40
    t.ok(most <= 0.6, `seed ${seed}: ${JSON.stringify(counts)}`)
  }
})

t.test('twins without any demand declared still spread: the profile\'s default demand is phantom load', async t => {
  const plugins = { a: net(1e9, 0, 0.0003), b: net(1e9, 0, 0.0003) }
  const { counts } = burst(plugins, 40, 10e6, 3)
  t.ok(Math.max(counts.a ?? 0, counts.b ?? 0) <= 24, JSON.stringify(counts))
})

t.test('a second burst 61 s after the first still sees the first (phantom load fades over the 5-minute window)', async t => {
  const plugins = { big: net(1e9, 0, 0.0003), small: net(200e6, 0, 0.0003) }
  const first = burst(plugins, 40, 50e6, 1)
  const later = rank(selectInput(plugins, { snapshot: { atMs: NOW + 61_000, plugins }, recent: first.recent, demand: { rxBps: 50e6, txBps: 50e6, source: 'annotation' } }))
  const big = byName(later, 'big')
  const placed = (first.counts.big ?? 0) * 50e6
  // 61 s into the 300 s window, ~80 % of each placement's demand remains
  const predicted = (big.predicted.rxUtilisation ?? 0) * 1e9 - 50e6
  t.ok(predicted >= 0.78 * placed && predicted <= 0.81 * placed, `phantom ${(predicted / 1e6).toFixed(0)} Mbit/s of ${(placed / 1e6).toFixed(0)} placed`)
  t.ok(big.reasons.some(x => /phantom [\d.]+ [MG]bit\/s of \d+ recent placements/.test(x)), big.reasons.join(' | '))
  const second = burst(plugins, 40, 50e6, 2, [...first.recent], NOW + 61_000)
  const total = (first.counts.big ?? 0) + (second.counts.big ?? 0)
  t.ok(total / 80 >= 0.75 && total / 80 <= 0.9, `over both bursts the bigger took ${total} of 80`)
  t.ok((second.counts.small ?? 0) >= 3, `the second burst does not pile onto the network the first filled: ${JSON.stringify(second.counts)}`)

  const gone = rank(selectInput(plugins, { snapshot: { atMs: NOW + 301_000, plugins }, recent: first.recent }))
  t.ok((byName(gone, 'big').predicted.rxUtilisation ?? 1) < 0.02, 'after the window the phantom is gone: measured usage has it')
})

t.test('two nodes with different seeds do not pick the same network at once', async t => {
  const plugins = { a: net(1e9, 0, 0.0003), b: net(1e9, 0, 0.0003) }
  const firstPicks = new Set<string>()
  for (let node = 0; node < 16; node++) {
    const sel = select(selectInput(plugins, { seed: 0x9e3779b1 * (node + 1) % 2 ** 31 }))
    firstPicks.add(sel.plugin ?? '')
  }
  t.same([...firstPicks].sort(), ['a', 'b'], '16 nodes\' first pods go to both twins')
})
