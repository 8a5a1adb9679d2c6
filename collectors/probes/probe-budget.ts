/**
 * A cap on how much probe traffic the agent may send: at most `maxBytes` in any sliding
 * window of `windowMs`. iperf3 probes push as much as the network takes, so an
 * unbudgeted schedule on a busy node would itself become the traffic it measures.
 */
export interface ProbeBudgetOptions {
  /** bytes allowed per window */
  maxBytes: number
  /** the sliding window, ms */
  windowMs: number
}

export class ProbeBudget {
  readonly #opts: ProbeBudgetOptions
  #spent: Array<{ atMs: number, bytes: number }> = []

  constructor (opts: ProbeBudgetOptions) {
    if (!(opts.maxBytes > 0) || !(opts.windowMs > 0)) throw new Error('ProbeBudget: maxBytes and windowMs must be > 0')
    this.#opts = opts
  }

  /** bytes spent inside the window ending at nowMs */
  spent (nowMs: number): number {
    this.#trim(nowMs)
    let sum = 0
    for (const s of this.#spent) sum += s.bytes
    return sum
  }

  /** may a probe expected to move `bytes` start now? */
  allows (bytes: number, nowMs: number): boolean {
    return this.spent(nowMs) + bytes <= this.#opts.maxBytes
  }

  /** account for a finished probe's actual bytes (sent + received) */
  record (bytes: number, nowMs: number): void {
    if (bytes > 0 && Number.isFinite(bytes)) this.#spent.push({ atMs: nowMs, bytes })
    this.#trim(nowMs)
  }

  #trim (nowMs: number): void {
    const from = nowMs - this.#opts.windowMs
    while (this.#spent.length > 0 && (this.#spent[0] as { atMs: number }).atMs <= from) this.#spent.shift()
  }
}

/** A delay of `intervalMs` ± `jitterRatio` (0–1), from a random number in [0, 1). */
export function jitteredDelayMs (intervalMs: number, jitterRatio: number, random: number): number {
  const j = Math.min(Math.max(jitterRatio, 0), 1)
  return Math.max(0, Math.round(intervalMs * (1 - j + 2 * j * random)))
}

/**
 * Runs async jobs one at a time (one probe at a time per node: two concurrent iperf3
 * runs would each measure half the link).
 */
export class SerialQueue {
  #tail: Promise<unknown> = Promise.resolve()
  #pending = 0

  get pending (): number { return this.#pending }

  run<T> (job: () => Promise<T>): Promise<T> {
    this.#pending++
    const result = this.#tail.then(job, job)
    this.#tail = result.then(() => { this.#pending-- }, () => { this.#pending-- })
    return result
  }
}
