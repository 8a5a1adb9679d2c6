/**
 * One iperf3 throughput probe: `iperf3 -c <server> -p <port> -t <duration> -O <omit> -J
 * --connect-timeout <ms>` (or `-n <bytes>` instead of -t/-O: a run sized to the budget) inside the client probe pod's netns (runInNetns: nsenter, no
 * shell, SIGKILL at the hard timeout), parsed with iperf3-result.ts. Never rejects: every
 * outcome is a result ('ok', 'error', 'timeout').
 */
import { runInNetns } from '../netns-exec.js'
import { parseIperf3Output } from './iperf3-result.js'
import type { Iperf3Result } from './iperf3-result.js'

export interface Iperf3ProbeOptions {
  netnsPath: string
  host: string
  port: number
  durationSeconds: number
  omitSeconds: number
  /** a run by bytes (`-n`, iperf3 allows one end condition: -t and -O are then left out) */
  bytes?: number
  /** `-R`: the server sends, the client (this node's probe pod) receives */
  reverse?: boolean
  /** SIGKILL after this, ms */
  timeoutMs: number
  /** iperf3's own connect timeout, ms */
  connectTimeoutMs?: number
  /** the iperf3 binary (PATH lookup inside the netns: the mount namespace is the agent's) */
  iperf3?: string
  nsenter?: string
  /** aborting kills the run (agent shutdown) */
  signal?: AbortSignal
}

export interface Iperf3ProbeResult {
  /** busy: the server runs another client's test (iperf3 serves one at a time), not a network failure */
  result: 'ok' | 'error' | 'timeout' | 'busy'
  /** bits/s when measured */
  throughputBps?: number
  /** TCP mean RTT of the run, seconds */
  rttSeconds?: number
  /** traffic the run put on the wire (omitted intervals included), bytes */
  bytes: number
  error?: string
  /** the binary could not be started (not installed): a collector problem, not a network one */
  missingBinary: boolean
  durationMs: number
  parsed?: Iperf3Result
}

const CONNECT_TIMEOUT_MS = 3_000 // 3 s: a peer that does not answer by then is down

/** Bytes of every interval (omitted ones included): what the run really sent. */
function wireBytes (stdout: string): number | undefined {
  const brace = stdout.indexOf('{')
  if (brace < 0) return undefined
  try {
    const doc = JSON.parse(stdout.slice(brace)) as { intervals?: Array<{ sum?: { bytes?: unknown } }> }
    if (!Array.isArray(doc.intervals)) return undefined
    let sum = 0
    for (const iv of doc.intervals) if (typeof iv.sum?.bytes === 'number') sum += iv.sum.bytes
    return sum
  } catch {
    return undefined
  }
}

/** The argv run inside the netns (exported for tests and docs). */
export function iperf3Argv (o: Iperf3ProbeOptions): string[] {
  return [
    o.iperf3 ?? 'iperf3', '-c', o.host, '-p', String(o.port),
    ...(o.bytes !== undefined ? ['-n', String(Math.max(1, Math.round(o.bytes)))] : ['-t', String(o.durationSeconds), '-O', String(o.omitSeconds)]),
    ...(o.reverse === true ? ['-R'] : []),
    '-J', '--connect-timeout', String(o.connectTimeoutMs ?? CONNECT_TIMEOUT_MS),
  ]
}

/** Runs one probe. */
export async function runIperf3Probe (o: Iperf3ProbeOptions): Promise<Iperf3ProbeResult> {
  const started = performance.now()
  let r
  try {
    r = await runInNetns({
      netnsPath: o.netnsPath,
      argv: iperf3Argv(o),
      timeoutMs: o.timeoutMs,
      ...(o.nsenter !== undefined ? { nsenter: o.nsenter } : {}),
      ...(o.signal !== undefined ? { signal: o.signal } : {}),
    })
  } catch (err) {
    // nsenter itself could not be spawned
    return { result: 'error', bytes: 0, error: `cannot start nsenter: ${(err as Error).message}`, missingBinary: true, durationMs: performance.now() - started }
  }
  const parsed = parseIperf3Output(r.stdout)
  const bytes = wireBytes(r.stdout) ?? (parsed.throughputBps !== undefined ? (o.bytes ?? parsed.throughputBps * (o.durationSeconds + o.omitSeconds) / 8) : 0)
  const base = { bytes, durationMs: r.durationMs, parsed, missingBinary: false }
  if (r.timedOut) return { ...base, result: 'timeout', error: `iperf3 killed after ${o.timeoutMs} ms` }
  if (r.aborted) return { ...base, result: 'error', error: 'iperf3 stopped: the agent is shutting down' }
  // nsenter reports an exec failure itself (exit 127 or 126) with "failed to execute"
  if (r.stdout.trim() === '' && /failed to execute|No such file|not found/i.test(r.stderr)) {
    return { ...base, result: 'error', missingBinary: true, error: `cannot run ${o.iperf3 ?? 'iperf3'}: ${r.stderr.trim().slice(0, 300)}` }
  }
  if (!parsed.ok && /server is busy/i.test(parsed.error ?? '')) return { ...base, result: 'busy', error: parsed.error ?? 'server is busy' }
  if (!parsed.ok) return { ...base, result: 'error', error: parsed.error ?? `iperf3 exited ${String(r.code ?? r.signal)}` }
  const out: Iperf3ProbeResult = { ...base, result: 'ok' }
  if (parsed.throughputBps !== undefined) out.throughputBps = parsed.throughputBps
  if (parsed.rttSeconds !== undefined) out.rttSeconds = parsed.rttSeconds
  return out
}
