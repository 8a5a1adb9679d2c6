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

/** Bytes on the wire per payload byte planned: TCP/IP headers and iperf3's last buffer. */
export const WIRE_OVERHEAD = 1.1
/** An unmeasured link's first run: at most this, so a slow link ends it well inside the kill timeout (8 MiB at 10 Mbit/s: 7 s). */
export const FIRST_RUN_MAX_BYTES = 8 * 1_048_576
/** Below this a run measures slow start, not the network: skip instead. */
export const MIN_RUN_BYTES = 1_048_576 // 1 MiB

/** What the next iperf3 run of a plugin may move, from the budget and the link's last speed. */
export interface PlanInput {
  plugin: string
  nowMs: number
  /** plugins sharing the budget (each gets maxBytes / plugins per window) */
  plugins: number
  /** the plugin's last measured throughput, bits/s (undefined: never measured) */
  lastBps?: number
  durationSeconds: number
  omitSeconds: number
  /** the probe interval and its jitter: how many runs a window must hold */
  intervalMs: number
  jitterRatio: number
}

/**
 * A run by time (`-t durationSeconds -O omitSeconds`) when a whole run at the last speed fits
 * the plugin's per-run share, else by bytes (`-n bytes`, no omit: the run lasts bytes × 8 /
 * lastBps s, shorter than durationSeconds). plannedBytes is what the budget expects it to move.
 */
export type Iperf3Plan =
  | { run: true, by: 'time', durationSeconds: number, omitSeconds: number, plannedBytes: number }
  | { run: true, by: 'bytes', bytes: number, plannedBytes: number }
  | { run: false, why: string }

export class ProbeBudget {
  readonly #opts: ProbeBudgetOptions
  #spent: Array<{ atMs: number, bytes: number, plugin: string | undefined }> = []

  constructor (opts: ProbeBudgetOptions) {
    if (!(opts.maxBytes > 0) || !(opts.windowMs > 0)) throw new Error('ProbeBudget: maxBytes and windowMs must be > 0')
    this.#opts = opts
  }

  /** bytes spent inside the window ending at nowMs (by one plugin when given) */
  spent (nowMs: number, plugin?: string): number {
    this.#trim(nowMs)
    let sum = 0
    for (const s of this.#spent) if (plugin === undefined || s.plugin === plugin) sum += s.bytes
    return sum
  }

  /** may a probe expected to move `bytes` start now? */
  allows (bytes: number, nowMs: number): boolean {
    return this.spent(nowMs) + bytes <= this.#opts.maxBytes
  }

  /** account for a finished probe's actual bytes (sent + received) */
  record (bytes: number, nowMs: number, plugin?: string): void {
    if (bytes > 0 && Number.isFinite(bytes)) this.#spent.push({ atMs: nowMs, bytes, plugin })
    this.#trim(nowMs)
  }

  /**
   * The next run of a plugin, sized so that every plugin gets an equal share of the window
   * (maxBytes / plugins) spread over the runs the window holds at the shortest jittered
   * interval: a fast link runs by bytes every interval instead of being locked out after
   * one long run. When the plugin's (or the whole budget's) room is smaller than a per-run
   * share, the run shrinks to the room; below MIN_RUN_BYTES it is skipped (retried next interval).
   */
  plan (i: PlanInput): Iperf3Plan {
    const share = this.#opts.maxBytes / Math.max(1, i.plugins)
    const shortest = Math.max(1, i.intervalMs * (1 - Math.min(Math.max(i.jitterRatio, 0), 1)))
    const runsPerWindow = Math.max(1, Math.ceil(this.#opts.windowMs / shortest))
    const perRun = share / runsPerWindow
    const room = Math.min(share - this.spent(i.nowMs, i.plugin), this.#opts.maxBytes - this.spent(i.nowMs))
    const target = Math.floor(Math.min(perRun, room) / WIRE_OVERHEAD)
    if (target < MIN_RUN_BYTES) {
      return { run: false, why: `${Math.round(this.spent(i.nowMs, i.plugin))} of ${Math.round(share)} bytes of ${i.plugin}'s share (${this.spent(i.nowMs)} of ${this.#opts.maxBytes} in all) spent in the last ${this.#opts.windowMs} ms` }
    }
    if (i.lastBps !== undefined && i.lastBps > 0) {
      const whole = i.lastBps * (i.durationSeconds + i.omitSeconds) / 8
      if (whole <= target) return { run: true, by: 'time', durationSeconds: i.durationSeconds, omitSeconds: i.omitSeconds, plannedBytes: whole * WIRE_OVERHEAD }
    }
    const bytes = i.lastBps !== undefined && i.lastBps > 0 ? target : Math.min(target, FIRST_RUN_MAX_BYTES)
    return { run: true, by: 'bytes', bytes, plannedBytes: bytes * WIRE_OVERHEAD }
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
