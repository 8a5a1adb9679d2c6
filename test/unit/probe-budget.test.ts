import t from 'tap'
import { ProbeBudget, SerialQueue, jitteredDelayMs } from '../../collectors/probes/probe-budget.js'
import { setTimeout as sleep } from 'node:timers/promises'

t.test('the probe budget refuses a probe that would exceed the bytes allowed in the window', async (t) => {
  const b = new ProbeBudget({ maxBytes: 1000, windowMs: 10_000 })
  t.ok(b.allows(1000, 0))
  b.record(600, 0)
  t.ok(b.allows(400, 1))
  t.notOk(b.allows(401, 1))
  t.equal(b.spent(5_000), 600)
})

t.test('spent bytes leave the budget once they fall out of the sliding window', async (t) => {
  const b = new ProbeBudget({ maxBytes: 1000, windowMs: 10_000 })
  b.record(900, 0)
  b.record(50, 4_000)
  t.notOk(b.allows(100, 9_999))
  t.equal(b.spent(10_000), 50, 'the 900 bytes at t=0 are out of the window at t=10 s')
  t.ok(b.allows(950, 10_000))
})

t.test('a probe budget with a non-positive size is a configuration error', async (t) => {
  t.throws(() => new ProbeBudget({ maxBytes: 0, windowMs: 1000 }), /maxBytes and windowMs must be > 0/)
  t.throws(() => new ProbeBudget({ maxBytes: 10, windowMs: -1 }), /must be > 0/)
})

t.test('NaN or negative byte counts are not recorded against the budget', async (t) => {
  const b = new ProbeBudget({ maxBytes: 100, windowMs: 1000 })
  b.record(Number.NaN, 0)
  b.record(-50, 0)
  t.equal(b.spent(1), 0)
})

t.test('the jittered delay stays within interval ± jitter', async (t) => {
  const cases: Array<[number, number, number, number]> = [
    // interval, jitter, random, expected
    [10_000, 0.2, 0, 8_000],
    [10_000, 0.2, 0.5, 10_000],
    [10_000, 0.2, 0.999999, 12_000],
    [10_000, 0, 0.7, 10_000],
    [10_000, 5, 0, 0], // jitter clamped to 1
  ]
  for (const [interval, jitter, random, expected] of cases) {
    t.equal(jitteredDelayMs(interval, jitter, random), expected, `${interval} ± ${jitter} at ${random}`)
  }
})

t.test('the serial queue never runs two jobs at once and keeps going after a failure', async (t) => {
  const q = new SerialQueue()
  let running = 0
  let maxRunning = 0
  const order: number[] = []
  const job = (i: number, fail = false) => async () => {
    running++
    maxRunning = Math.max(maxRunning, running)
    await sleep(5)
    order.push(i)
    running--
    if (fail) throw new Error(`job ${i} failed`)
    return i
  }
  const results = await Promise.allSettled([q.run(job(1)), q.run(job(2, true)), q.run(job(3))])
  t.equal(maxRunning, 1)
  t.same(order, [1, 2, 3])
  t.same(results.map((r) => r.status), ['fulfilled', 'rejected', 'fulfilled'])
  t.equal(q.pending, 0)
})
