// The questionnaire's pure part: every combination of answers gives weights over the six
// criteria that sum to 1, with the criterion the workload needs on top.
import t from 'tap'
import { advise, annotationsFor, BULK_BPS } from '../../cli/profile-advice.js'
import type { Answers } from '../../cli/profile-advice.js'
import { CRITERIA } from '../../selector/types.js'
import { BUILTIN_PROFILES } from '../../selector/profiles.js'

const NO: Answers = { latencySensitive: false, bursty: false, costSensitive: false, manyAddresses: false }

t.test('every combination of answers: six weights summing to 1, the dominant one named', async t => {
  let n = 0
  for (let bits = 0; bits < 32; bits++) {
    const a: Answers = {
      latencySensitive: (bits & 1) !== 0, bursty: (bits & 2) !== 0, costSensitive: (bits & 4) !== 0, manyAddresses: (bits & 8) !== 0,
      ...((bits & 16) !== 0 ? { bandwidth: '1G' } : {}),
    }
    const x = advise(a)
    const sum = CRITERIA.reduce((s, c) => s + x.weights[c], 0)
    t.ok(Math.abs(sum - 1) < 1e-9, `${JSON.stringify(a)}: weights sum to ${sum}`)
    t.same(Object.keys(x.weights).sort(), [...CRITERIA].sort())
    t.ok(CRITERIA.every(c => x.weights[c] > 0 && x.weights[c] <= x.weights[x.dominant]), 'the dominant weight is the largest; none is 0')
    t.ok(Object.hasOwn(BUILTIN_PROFILES, x.builtin), `${x.builtin} is a built-in`)
    n++
  }
  t.equal(n, 32)
})

t.test('one need at a time: its criterion dominates and the nearest built-in is its profile', async t => {
  const cases: Array<[Partial<Answers>, string, string]> = [
    [{}, 'utilisation', 'balanced'],
    [{ latencySensitive: true }, 'latency', 'latency'],
    [{ bandwidth: '500M' }, 'utilisation', 'throughput'],
    [{ bursty: true }, 'utilisation', 'balanced'],
    [{ costSensitive: true }, 'cost', 'cost'],
    [{ manyAddresses: true }, 'occupancy', 'ip-conservative'],
    [{ latencySensitive: true, bandwidth: '1G' }, 'latency', 'balanced'],
    [{ bandwidth: '10M' }, 'utilisation', 'balanced'],
  ]
  for (const [a, dominant, builtin] of cases) {
    const x = advise({ ...NO, ...a })
    t.equal(x.dominant, dominant, `${JSON.stringify(a)}: ${dominant} dominates (${JSON.stringify(x.weights)})`)
    t.equal(x.builtin, builtin, `${JSON.stringify(a)}: ${builtin}`)
  }
  t.match(advise({ ...NO, latencySensitive: true, manyAddresses: true }).why, /^latency and many addresses: latency is the nearest built-in; the operator profile below weighs all of them$/)
  t.ok(advise({ ...NO, bandwidth: '1G' }).weights.capacity > advise(NO).weights.capacity, 'bulk raises capacity too')
})

t.test('the bandwidth is normalised for the annotation; a bulk workload starts at 100 Mbit/s either way', async t => {
  t.equal(advise({ ...NO, bandwidth: ' 200 Mbit/s ' }).expectedBandwidth, '200M')
  t.equal(advise({ ...NO, bandwidth: '{"rx":"1G","tx":"100M"}' }).expectedBandwidth, '{"rx":"1G","tx":"100M"}')
  t.same(advise({ ...NO, bandwidth: '{"tx":"150M"}' }).demand, { rxBps: 0, txBps: 150e6 })
  t.equal(advise({ ...NO, bandwidth: '{"tx":"150M"}' }).builtin, 'throughput', 'tx alone makes it bulk')
  t.equal(advise({ ...NO, bandwidth: `${BULK_BPS - 1}` }).builtin, 'balanced')
  t.equal(advise({ ...NO, bandwidth: '' }).expectedBandwidth, undefined, 'empty: not known')
  t.throws(() => advise({ ...NO, bandwidth: 'fast' }), /"fast" is not a rate/)
})

t.test('annotations: smart selection, the profile, the demand when known', async t => {
  t.same(annotationsFor(advise({ ...NO, latencySensitive: true, bandwidth: '50M' }), 'latency'), { cni: '', 'netrank.io/profile': 'latency', 'netrank.io/expected-bandwidth': '50M' })
  t.same(annotationsFor(advise(NO), 'workload'), { cni: '', 'netrank.io/profile': 'workload' })
})
