// Cumulative counter → per-second rate, per key (e.g. 'ns/pod/eth0').
//
// cAdvisor and the kernel hand out byte counters that only grow, until the thing
// behind them is recreated (a new pod sandbox, a recreated veth): then the counter
// starts again near zero. A negative delta is therefore a reset, never a negative
// rate; the new value becomes the baseline and the next sample yields a rate again.

interface LastValue {
  value: number
  /** ms since the epoch of the newest observation */
  atMs: number
}

export interface CounterRatesOptions {
  /** keys not observed for this long are forgotten by sweep(), ms (pods that went away) */
  forgetAfterMs: number
}

/** Tracks the last value of many cumulative counters and turns successive values into rates per second. */
export class CounterRates {
  readonly #forgetAfterMs: number
  readonly #last = new Map<string, LastValue>()

  constructor (opts: CounterRatesOptions) {
    const f = opts?.forgetAfterMs
    if (typeof f !== 'number' || !(f > 0)) {
      throw new RangeError(`CounterRates: forgetAfterMs must be a number > 0 (ms), got ${String(f)}`)
    }
    this.#forgetAfterMs = f
  }

  /**
   * Record `cumulative` for `key` at `atMs` (ms since the epoch).
   * Returns the rate per second since the previous value, or undefined on the first
   * value of a key, on a reset (negative delta) and when time did not move forward.
   * Throws RangeError on a counter that is not a finite number ≥ 0 or a non-finite time.
   */
  observe (key: string, cumulative: number, atMs: number): number | undefined {
    if (typeof cumulative !== 'number' || !Number.isFinite(cumulative) || cumulative < 0) {
      throw new RangeError(`CounterRates: counter ${key} must be a finite number ≥ 0, got ${String(cumulative)}`)
    }
    if (typeof atMs !== 'number' || !Number.isFinite(atMs)) {
      throw new RangeError(`CounterRates: time of counter ${key} must be finite ms, got ${String(atMs)}`)
    }
    const prev = this.#last.get(key)
    if (prev === undefined) {
      this.#last.set(key, { value: cumulative, atMs })
      return undefined
    }
    const dtMs = atMs - prev.atMs
    // A repeated or out-of-order scrape says nothing about the rate; keep the newer baseline.
    if (dtMs <= 0) return undefined
    const delta = cumulative - prev.value
    // updated in place: a cycle over thousands of counters allocates nothing here
    prev.value = cumulative
    prev.atMs = atMs
    if (delta < 0) return undefined // reset: the new value is the new baseline
    return delta / (dtMs / 1000)
  }

  /** Forget keys not observed for forgetAfterMs before `nowMs`, so memory follows live keys, not uptime. */
  sweep (nowMs: number): void {
    for (const [key, last] of this.#last) {
      if (nowMs - last.atMs > this.#forgetAfterMs) this.#last.delete(key)
    }
  }

  /** Number of keys tracked. */
  get size (): number {
    return this.#last.size
  }
}
