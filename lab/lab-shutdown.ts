/**
 * How a long lab command (`lab demo`, `lab up` while it builds) is ended by its user:
 * SIGINT, SIGTERM, SIGHUP and a broken stdout or stderr (EPIPE: `npm start | tee demo.log`
 * then Ctrl-C kills tee with the demo) all become ONE abort, so the command takes the lab
 * down and exits with a code that says why. Writing never crashes it: once stdout is broken
 * its lines are appended to a log file (the line that failed too), once stderr is broken its
 * lines are dropped. A second signal while the lab is being taken down does not stop that;
 * it is said once on stderr.
 */
import { appendFileSync, mkdirSync } from 'node:fs'
import { dirname } from 'node:path'

/** What ended the command: a signal, or the code of the stream error (EPIPE, EIO…). */
export type ShutdownCause = 'SIGINT' | 'SIGTERM' | 'SIGHUP' | string

export const SHUTDOWN_SIGNALS = Object.freeze(['SIGINT', 'SIGTERM', 'SIGHUP'] as const)

/** 128 + the signal number, as a shell reports a process the signal killed; EPIPE as SIGPIPE (13). */
const EXIT_CODES: Readonly<Record<string, number>> = Object.freeze({ SIGHUP: 129, SIGINT: 130, SIGPIPE: 141, SIGTERM: 143, EPIPE: 141 })

/** The exit code for `cause`: 129/130/143 for the signals, 141 for EPIPE, 1 for another stream error. */
export function exitCodeFor (cause: ShutdownCause): number {
  return EXIT_CODES[cause] ?? 1
}

/** The reason an aborted shutdown signal carries: what stops the command at its next step. */
export class Interrupted extends Error {
  readonly by: ShutdownCause
  constructor (by: ShutdownCause) {
    super(`interrupted (${by})`)
    this.by = by
    this.name = 'Interrupted'
  }
}

/** A stream as the CLI writes to it: process.stdout, or a test's buffer (no callback, no events). */
export interface OutStream {
  write: (s: string, cb?: (err?: Error | null) => void) => unknown
  on?: (event: 'error', fn: (err: Error) => void) => unknown
  off?: (event: 'error', fn: (err: Error) => void) => unknown
}

export interface ShutdownOptions {
  /** the command, for the stderr notices ("netrank lab demo") */
  name: string
  stdout: OutStream
  stderr: OutStream
  /** where stdout's lines go once it is broken; dropped when undefined */
  fallbackLog?: string
  /** the signal source (default process), for tests */
  signals?: Pick<NodeJS.EventEmitter, 'on' | 'off'>
}

export interface Shutdown {
  /** aborted (reason: an {@link Interrupted}) by the first signal or broken stream */
  readonly signal: AbortSignal
  /** what aborted it; undefined while nothing did */
  cause: () => ShutdownCause | undefined
  /** `normal` when nothing aborted the command, else the cause's exit code */
  exitCode: (normal: number) => number
  /** writes to stdout, or to the fallback log once stdout is broken; never throws */
  out: (text: string) => void
  /** writes to stderr, dropped once stderr is broken; never throws */
  err: (text: string) => void
  /** removes the signal and stream handlers (stream handlers stay while a stream is broken: late errors must not crash) */
  dispose: () => void
}

/** Installs the handlers; call `dispose()` once the command (and its cleanup) is done. */
export function installShutdown (o: ShutdownOptions): Shutdown {
  const ac = new AbortController()
  const signals = o.signals ?? process
  let cause: ShutdownCause | undefined
  let outBroken = false
  let errBroken = false
  let toldAgain = false

  const abort = (c: ShutdownCause): void => {
    if (cause !== undefined) return
    cause = c
    ac.abort(new Interrupted(c))
  }
  const toLog = (text: string): void => {
    if (o.fallbackLog === undefined) return
    try {
      mkdirSync(dirname(o.fallbackLog), { recursive: true })
      appendFileSync(o.fallbackLog, text)
    } catch { /* nowhere left to write: dropped */ }
  }
  const err = (text: string): void => {
    if (errBroken) return
    try {
      o.stderr.write(text, (e) => { if (e != null) onErrError(e) })
    } catch (e) { onErrError(e as Error) }
  }
  const onOutError = (e: Error): void => {
    if (outBroken) return
    outBroken = true
    err(`${o.name}: stdout is closed (${codeOf(e)})${o.fallbackLog === undefined ? '' : `: the rest goes to ${o.fallbackLog}`}; taking the lab down\n`)
    abort(codeOf(e))
  }
  const onErrError = (e: Error): void => {
    if (errBroken) return
    errBroken = true
    abort(codeOf(e))
  }
  const out = (text: string): void => {
    if (outBroken) { toLog(text); return }
    try {
      // the callback says whether this very chunk failed: a pipe's write fails at once
      o.stdout.write(text, (e) => { if (e != null) { onOutError(e); toLog(text) } })
    } catch (e) { onOutError(e as Error); toLog(text) }
  }
  const onSignal = (sig: NodeJS.Signals): void => {
    if (cause === undefined) { abort(sig); return }
    if (toldAgain) return
    toldAgain = true
    err(`${o.name}: ${sig} again: still taking the lab down, please wait (signals do not stop that)\n`)
  }

  for (const s of SHUTDOWN_SIGNALS) signals.on(s, onSignal)
  const streamHandlers: Array<[OutStream, (e: Error) => void]> = [[o.stdout, onOutError], [o.stderr, onErrError]]
  for (const [s, h] of streamHandlers) s.on?.('error', h)

  return {
    signal: ac.signal,
    cause: () => cause,
    exitCode: (normal) => cause === undefined ? normal : exitCodeFor(cause),
    out,
    err,
    dispose: () => {
      for (const s of SHUTDOWN_SIGNALS) signals.off(s, onSignal)
      if (!outBroken) o.stdout.off?.('error', onOutError)
      if (!errBroken) o.stderr.off?.('error', onErrError)
    },
  }
}

function codeOf (e: Error): string {
  const code = (e as NodeJS.ErrnoException).code
  return typeof code === 'string' && code !== '' ? code : 'write error'
}
