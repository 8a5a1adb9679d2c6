/**
 * The light, frequent latency probe: TCP connect round-trip time from inside a probe
 * pod's netns to a peer probe pod (its iperf3 server port works: the kernel completes
 * the handshake whatever the server then does). One connect = one RTT (SYN → SYN-ACK),
 * measured with process.hrtime in µs resolution by a tiny Node program run inside the
 * netns (a process cannot switch its own netns from JavaScript).
 */
import { median, medianAbsoluteDeviation } from 'simple-statistics'
import { runInNetns } from '../netns-exec.js'

export interface TcpRttProbeOptions {
  netnsPath: string
  host: string
  port: number
  /** connects per run */
  count: number
  /** per-connect timeout, ms */
  connectTimeoutMs: number
  /** the node binary run inside the netns */
  node?: string
  /** aborting kills the probe (agent shutdown) */
  signal?: AbortSignal
}

export interface TcpRttProbeResult {
  ok: boolean
  /** per successful connect, seconds */
  rttSeconds: number[]
  medianSeconds?: number
  /** median absolute deviation, seconds */
  spreadSeconds?: number
  failures: number
  error?: string
}

// Runs inside the netns. Sequential connects; prints one JSON line.
const PROBE_PROGRAM = `
const net = require('node:net')
const [host, port, count, timeoutMs] = process.argv.slice(1)
const rtts = []; const errors = []
function one (i) {
  if (i >= Number(count)) { process.stdout.write(JSON.stringify({ rttNs: rtts, errors }) + '\\n'); return }
  const t0 = process.hrtime.bigint()
  const s = net.connect({ host, port: Number(port) })
  const timer = setTimeout(() => { errors.push('timeout'); s.destroy(); one(i + 1) }, Number(timeoutMs))
  s.once('connect', () => { rtts.push(Number(process.hrtime.bigint() - t0)); clearTimeout(timer); s.destroy(); setTimeout(() => one(i + 1), 5) })
  s.once('error', (e) => { clearTimeout(timer); errors.push(e.code || String(e)); one(i + 1) })
}
one(0)
`

/** Runs one probe; never rejects for a network failure (ok: false with the error). */
export async function runTcpRttProbe (opts: TcpRttProbeOptions): Promise<TcpRttProbeResult> {
  const budgetMs = opts.count * (opts.connectTimeoutMs + 20) + 5_000 // node start-up inside the netns included
  const r = await runInNetns({
    netnsPath: opts.netnsPath,
    argv: [opts.node ?? process.execPath, '-e', PROBE_PROGRAM, opts.host, String(opts.port), String(opts.count), String(opts.connectTimeoutMs)],
    timeoutMs: budgetMs,
    maxOutputBytes: 64 * 1024,
    ...(opts.signal !== undefined ? { signal: opts.signal } : {}),
  })
  if (r.aborted) return { ok: false, rttSeconds: [], failures: 0, error: 'probe aborted' }
  if (r.timedOut) return { ok: false, rttSeconds: [], failures: opts.count, error: `probe killed after ${budgetMs} ms` }
  let parsed: { rttNs: number[], errors: string[] }
  try {
    parsed = JSON.parse(r.stdout.trim().split('\n').pop() ?? '')
  } catch {
    return { ok: false, rttSeconds: [], failures: opts.count, error: `probe exited ${r.code ?? r.signal}: ${r.stderr.trim().slice(0, 300) || 'no output'}` }
  }
  const rttSeconds = parsed.rttNs.map((ns) => ns / 1e9)
  const result: TcpRttProbeResult = { ok: rttSeconds.length > 0, rttSeconds, failures: parsed.errors.length }
  if (rttSeconds.length > 0) {
    result.medianSeconds = median(rttSeconds)
    result.spreadSeconds = rttSeconds.length > 1 ? medianAbsoluteDeviation(rttSeconds) : 0
  }
  if (parsed.errors.length > 0) result.error = [...new Set(parsed.errors)].join(', ')
  return result
}
