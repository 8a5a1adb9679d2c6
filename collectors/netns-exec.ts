/**
 * Run a program inside another network namespace (a probe pod's), the way the agent
 * does for iperf3 and the RTT probe: `nsenter --net=<path> -- argv…`, no shell, a hard
 * timeout after which the process is SIGKILLed, and a cap on captured output.
 * The netns path comes from the shim's attachment record (e.g. /var/run/netns/x or
 * /proc/<pid>/ns/net).
 */
import { spawn } from 'node:child_process'

export interface NetnsExecOptions {
  netnsPath: string
  argv: readonly string[]
  /** SIGKILL after this, ms */
  timeoutMs: number
  /** bytes of stdout (and of stderr) kept; the rest is dropped and `truncated` set */
  maxOutputBytes?: number
  /** the nsenter binary (tests may point elsewhere) */
  nsenter?: string
  /** aborting kills the program (SIGKILL) at once: the agent stops without waiting for a probe */
  signal?: AbortSignal
}

export interface NetnsExecResult {
  code: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
  timedOut: boolean
  /** killed because `signal` was aborted */
  aborted: boolean
  truncated: boolean
  durationMs: number
}

const DEFAULT_MAX_OUTPUT_BYTES = 1_048_576 // 1 MiB: an iperf3 -J report of a few seconds is ~10 KiB

/** Runs argv inside the netns; never rejects for the program's own failure (see `code`), only for spawn errors. */
export function runInNetns (opts: NetnsExecOptions): Promise<NetnsExecResult> {
  if (opts.argv.length === 0) return Promise.reject(new Error('runInNetns: argv is empty'))
  if (!opts.netnsPath.startsWith('/')) return Promise.reject(new Error(`runInNetns: netns path must be absolute, got ${JSON.stringify(opts.netnsPath)}`))
  const cap = opts.maxOutputBytes ?? DEFAULT_MAX_OUTPUT_BYTES
  const started = process.hrtime.bigint()
  return new Promise((resolve, reject) => {
    const child = spawn(opts.nsenter ?? 'nsenter', [`--net=${opts.netnsPath}`, '--', ...opts.argv], {
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    const out: Buffer[] = []
    const err: Buffer[] = []
    let outBytes = 0
    let errBytes = 0
    let truncated = false
    let timedOut = false
    let aborted = false
    const keep = (chunks: Buffer[], size: number, chunk: Buffer): number => {
      const room = cap - size
      if (room <= 0) { truncated = true; return size }
      if (chunk.length > room) { truncated = true; chunks.push(chunk.subarray(0, room)); return cap }
      chunks.push(chunk)
      return size + chunk.length
    }
    child.stdout.on('data', (c: Buffer) => { outBytes = keep(out, outBytes, c) })
    child.stderr.on('data', (c: Buffer) => { errBytes = keep(err, errBytes, c) })
    const timer = setTimeout(() => { timedOut = true; child.kill('SIGKILL') }, opts.timeoutMs)
    const onAbort = (): void => { aborted = true; child.kill('SIGKILL') }
    if (opts.signal?.aborted === true) onAbort()
    else opts.signal?.addEventListener('abort', onAbort, { once: true })
    const done = (): void => { clearTimeout(timer); opts.signal?.removeEventListener('abort', onAbort) }
    child.on('error', (e) => { done(); reject(e) })
    child.on('close', (code, signal) => {
      done()
      resolve({
        code,
        signal,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
        timedOut,
        aborted,
        truncated,
        durationMs: Number(process.hrtime.bigint() - started) / 1e6,
      })
    })
  })
}
