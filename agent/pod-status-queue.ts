/**
 * The status annotations the shim hands over after an ADD (POST /v1/pod-status), patched
 * onto the pod in the background so no pod waits for the API: retried with backoff on
 * transient failures (network, 5xx, 429), always with the sandbox's uid as precondition
 * (a 409 means the pod was recreated: dropped, never written onto the new one). A newer
 * status for the same pod replaces one still waiting. Bounded: a full queue refuses, and
 * the shim then patches itself.
 */
import type { PodStatusRequest } from '../contract/plan-api.js'

/** What became of one status. */
export type PodStatusResult = 'patched' | 'gone' | 'conflict' | 'failed' | 'superseded' | 'dropped-at-shutdown'
export const POD_STATUS_RESULTS: readonly PodStatusResult[] = Object.freeze(['patched', 'gone', 'conflict', 'failed', 'superseded', 'dropped-at-shutdown'])

export interface PodStatusQueueOptions {
  patch: (req: PodStatusRequest) => Promise<'patched' | 'gone'>
  /** the HTTP status of a failed patch, when it had one (409 conflict, 4xx permanent) */
  statusOf: (err: unknown) => number | undefined
  onResult: (result: PodStatusResult, req: PodStatusRequest, err?: unknown) => void
  maxQueued?: number
  attempts?: number
  firstBackoffMs?: number
  concurrency?: number
}

export const POD_STATUS_DEFAULTS = Object.freeze({
  maxQueued: 4096, // a node's pods many times over
  attempts: 8, // 8 tries over ~13 s of backoff (0.1 s doubling: 0.1 + 0.2 + … + 6.4 s)
  firstBackoffMs: 100,
  maxBackoffMs: 8_000,
  concurrency: 4,
})

interface Entry { req: PodStatusRequest, attempt: number, notBefore: number }

export class PodStatusQueue {
  readonly #o: Required<Omit<PodStatusQueueOptions, 'patch' | 'statusOf' | 'onResult'>> & PodStatusQueueOptions
  /** waiting, keyed namespace/name: a newer status for the same pod replaces the waiting one */
  readonly #waiting = new Map<string, Entry>()
  #running = 0
  #timer: NodeJS.Timeout | undefined
  #closed = false
  #idle: Array<() => void> = []

  constructor (opts: PodStatusQueueOptions) {
    this.#o = { maxQueued: POD_STATUS_DEFAULTS.maxQueued, attempts: POD_STATUS_DEFAULTS.attempts, firstBackoffMs: POD_STATUS_DEFAULTS.firstBackoffMs, concurrency: POD_STATUS_DEFAULTS.concurrency, ...opts }
  }

  /** statuses waiting or being patched */
  get size (): number { return this.#waiting.size + this.#running }

  /** Queues a status; false when the queue is full or closed (the caller patches itself). */
  enqueue (req: PodStatusRequest): boolean {
    if (this.#closed) return false
    const key = `${req.namespace}/${req.name}`
    const prev = this.#waiting.get(key)
    if (prev === undefined && this.size >= this.#o.maxQueued) return false
    if (prev !== undefined) this.#o.onResult('superseded', prev.req)
    // the newer status replaces the waiting one: merge, so a key only the older one set is kept
    const annotations = prev !== undefined && prev.req.uid === req.uid ? { ...prev.req.annotations, ...req.annotations } : req.annotations
    this.#waiting.delete(key)
    this.#waiting.set(key, { req: { ...req, annotations }, attempt: 0, notBefore: 0 })
    this.#pump()
    return true
  }

  #pump (): void {
    if (this.#timer !== undefined) { clearTimeout(this.#timer); this.#timer = undefined }
    const now = Date.now()
    let soonest = Infinity
    for (const [key, e] of this.#waiting) {
      if (this.#running >= this.#o.concurrency) break
      if (e.notBefore > now) { soonest = Math.min(soonest, e.notBefore); continue }
      this.#waiting.delete(key)
      this.#running++
      void this.#run(key, e)
    }
    if (soonest !== Infinity && !this.#closed) {
      // kept referenced: a status waiting for its retry is work the process still has (close() ends it)
      this.#timer = setTimeout(() => { this.#timer = undefined; this.#pump() }, Math.max(1, soonest - now))
    }
    if (this.size === 0) for (const f of this.#idle.splice(0)) f()
  }

  async #run (key: string, e: Entry): Promise<void> {
    try {
      const outcome = await this.#o.patch(e.req)
      this.#o.onResult(outcome, e.req)
    } catch (err) {
      const status = this.#o.statusOf(err)
      const permanent = status !== undefined && status >= 400 && status < 500 && status !== 429
      if (status === 409) {
        this.#o.onResult('conflict', e.req, err)
      } else if (permanent || e.attempt + 1 >= this.#o.attempts || this.#closed) {
        this.#o.onResult('failed', e.req, err)
      } else if (this.#waiting.has(key)) {
        // a newer status for this pod arrived meanwhile: it goes instead of this retry
        this.#o.onResult('superseded', e.req, err)
      } else {
        const backoff = Math.min(this.#o.firstBackoffMs * 2 ** e.attempt, POD_STATUS_DEFAULTS.maxBackoffMs)
        this.#waiting.set(key, { req: e.req, attempt: e.attempt + 1, notBefore: Date.now() + backoff })
      }
    } finally {
      this.#running--
      this.#pump()
    }
  }

  /** Resolves when nothing waits or runs (tests; shutdown). */
  async idle (): Promise<void> {
    if (this.size === 0) return
    await new Promise<void>((resolve) => this.#idle.push(resolve))
  }

  /** Stops retrying: statuses being patched get `graceMs` to finish, the rest are dropped (and reported). */
  async close (graceMs = 2_000): Promise<void> {
    this.#closed = true
    // waiting ones run once more now, without further retries
    for (const e of this.#waiting.values()) e.notBefore = 0
    this.#pump()
    let timer: NodeJS.Timeout | undefined
    await Promise.race([this.idle(), new Promise<void>((resolve) => { timer = setTimeout(resolve, graceMs); timer.unref() })])
    if (timer !== undefined) clearTimeout(timer)
    for (const e of this.#waiting.values()) this.#o.onResult('dropped-at-shutdown', e.req)
    this.#waiting.clear()
  }
}
