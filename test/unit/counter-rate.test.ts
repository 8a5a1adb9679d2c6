import t from 'tap'
import { CounterRates } from '../../collectors/traffic/counter-rates.js'

t.test('successive counter values become a rate per second', async t => {
  const cases: Array<{ name: string, values: Array<[number, number]>, want: Array<number | undefined> }> = [
    { name: 'steady 1000 B/s', values: [[0, 0], [1000, 1000], [3000, 3000]], want: [undefined, 1000, 1000] },
    { name: 'sub-second scrape', values: [[0, 500], [250, 750]], want: [undefined, 1000] },
    { name: 'idle counter is rate 0', values: [[0, 42], [10_000, 42]], want: [undefined, 0] },
  ]
  for (const c of cases) {
    const rates = new CounterRates({ forgetAfterMs: 60_000 })
    const got = c.values.map(([atMs, v]) => rates.observe('ns/pod/eth0', v, atMs))
    t.same(got, c.want, c.name)
  }
})

t.test('a negative counter delta is a reset, not a negative rate', async t => {
  const rates = new CounterRates({ forgetAfterMs: 60_000 })
  t.equal(rates.observe('k', 1_000_000, 0), undefined, 'first value: no rate')
  t.equal(rates.observe('k', 2_000_000, 1000), 1_000_000)
  t.equal(rates.observe('k', 100, 2000), undefined, 'new sandbox: counter restarted')
  t.equal(rates.observe('k', 600, 3000), 500, 'the value after the reset is the new baseline')
})

t.test('a repeated or out-of-order timestamp yields no rate and keeps the newer baseline', async t => {
  const rates = new CounterRates({ forgetAfterMs: 60_000 })
  rates.observe('k', 100, 5000)
  t.equal(rates.observe('k', 200, 5000), undefined, 'zero time delta')
  t.equal(rates.observe('k', 50, 4000), undefined, 'time went backwards')
  t.equal(rates.observe('k', 1100, 6000), 1000, 'rate measured from the sample at 5000 ms')
})

t.test('keys are independent', async t => {
  const rates = new CounterRates({ forgetAfterMs: 60_000 })
  rates.observe('a', 0, 0)
  rates.observe('b', 0, 0)
  t.equal(rates.observe('a', 10, 1000), 10)
  t.equal(rates.observe('b', 30, 1000), 30)
  t.equal(rates.size, 2)
})

t.test('sweep forgets keys not seen for forgetAfterMs, so a vanished pod costs no memory', async t => {
  const rates = new CounterRates({ forgetAfterMs: 10_000 })
  rates.observe('gone', 1, 0)
  rates.observe('alive', 1, 0)
  rates.observe('alive', 2, 9_000)
  rates.sweep(10_000)
  t.equal(rates.size, 2, 'exactly forgetAfterMs old is kept')
  rates.sweep(10_001)
  t.equal(rates.size, 1)
  t.equal(rates.observe('gone', 5, 11_000), undefined, 'a forgotten key starts over')
  t.equal(rates.observe('alive', 3, 10_000), 1, 'the live key still has its baseline')
})

t.test('bad input is refused with a clear error', async t => {
  t.throws(() => new CounterRates({ forgetAfterMs: 0 }), { name: 'RangeError', message: /forgetAfterMs must be a number > 0/ })
  t.throws(() => new CounterRates({ forgetAfterMs: Number.NaN }), { message: /forgetAfterMs/ })
  const rates = new CounterRates({ forgetAfterMs: 1000 })
  t.throws(() => rates.observe('k', Number.NaN, 0), { name: 'RangeError', message: /counter k must be a finite number ≥ 0, got NaN/ })
  t.throws(() => rates.observe('k', -1, 0), { message: /counter k must be a finite number ≥ 0, got -1/ })
  t.throws(() => rates.observe('k', Infinity, 0), { message: /got Infinity/ })
  t.throws(() => rates.observe('k', 1, Number.NaN), { message: /time of counter k must be finite ms/ })
  t.equal(rates.size, 0, 'nothing was recorded')
})
