// The numbers in reasons: short, with units, stable — the strings operators read and tests match.
import t from 'tap'
import { bps, num, pct, seconds } from '../../selector/explain.js'

t.test('percentages: one decimal, none when it is zero', async t => {
  const cases: Array<[number, string]> = [[0.95, '95%'], [0.9499, '95%'], [0.949, '94.9%'], [0, '0%'], [1.1155, '111.6%'], [0.0105, '1.1%'], [-0.00001, '0%']]
  for (const [x, want] of cases) t.equal(pct(x), want, `${x}`)
})

t.test('scores and weights: three decimals, no trailing zeros, no −0', async t => {
  const cases: Array<[number, string]> = [[0.25, '0.25'], [1 / 3, '0.333'], [0.8126, '0.813'], [-0.0001, '0'], [-0.4999, '-0.5'], [1, '1']]
  for (const [x, want] of cases) t.equal(num(x), want, `${x}`)
})

t.test('rates: three significant digits and the unit; negative headroom with a minus sign', async t => {
  const cases: Array<[number, string]> = [
    [956e6, '956 Mbit/s'], [1.45e9, '1.45 Gbit/s'], [-4e8, '−400 Mbit/s'], [9.49e6, '9.49 Mbit/s'], [10e6, '10 Mbit/s'],
    [999.6e6, '1000 Mbit/s'], [-705_679.5, '−706 kbit/s'], [7.3e9, '7.3 Gbit/s'], [0, '0 bit/s'], [12.34e6, '12.3 Mbit/s'],
  ]
  for (const [x, want] of cases) t.equal(bps(x), want, `${x}`)
})

t.test('ages: seconds, one decimal under 10 s', async t => {
  t.equal(seconds(95_000), '95 s')
  t.equal(seconds(1_500), '1.5 s')
  t.equal(seconds(3_600_000), '3600 s')
})
