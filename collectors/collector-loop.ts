/**
 * The periodic schedule of a live collector: one cycle at start, then the next one
 * `delayMs()` after the previous one ENDED (a slow source never piles cycles up), no
 * overlap, and a stop() that waits for the running cycle.
 */
import type { CollectorContext } from './types.js'

export interface CollectorLoop {
  /** the first cycle now, or after `firstDelayMs` */
  start: (firstDelayMs?: number) => void
  stop: () => Promise<void>
  readonly running: boolean
}

/** `cycle` must not throw (collectors report their own errors); a throw is passed to onError. */
export function collectorLoop (delayMs: () => number, cycle: () => Promise<void>, onError: (err: unknown) => void): CollectorLoop {
  let timer: NodeJS.Timeout | undefined
  let inFlight: Promise<void> | undefined
  let running = false
  const tick = (): void => {
    timer = undefined
    if (!running) return
    inFlight = cycle().catch(onError).finally(() => {
      inFlight = undefined
      if (running) {
        timer = setTimeout(tick, delayMs())
        timer.unref()
      }
    })
  }
  return {
    get running () { return running },
    start (firstDelayMs = 0) {
      if (running) return
      running = true
      if (firstDelayMs <= 0) { tick(); return }
      timer = setTimeout(tick, firstDelayMs)
      timer.unref()
    },
    async stop () {
      running = false
      if (timer !== undefined) clearTimeout(timer)
      timer = undefined
      await inFlight
    },
  }
}

/** The start/stop of a collector that runs `collectOnce` every `intervalMs` (a throw goes to ctx.reportError). */
export function periodic (name: string, intervalMs: number, collectOnce: (ctx: CollectorContext) => Promise<void>): { start: (ctx: CollectorContext) => void, stop: () => Promise<void> } {
  let ctxRef: CollectorContext | undefined
  const loop = collectorLoop(() => intervalMs, async () => {
    if (ctxRef !== undefined) await collectOnce(ctxRef)
  }, (err) => ctxRef?.reportError(name, err))
  return {
    start (ctx) { ctxRef = ctx; loop.start() },
    stop: async () => { await loop.stop() },
  }
}
