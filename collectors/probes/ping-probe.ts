/**
 * The idle RTT as the kernel measures it: iputils `ping` inside the probe pod's netns
 * (`ping -n -c <count> -i <interval> -W 1 <peer>`), each reply's `time=` (kernel
 * timestamps, µs resolution) kept, p50 and p99 over the run. No Node process sits in the
 * measured path, unlike the TCP-connect probe it replaces where ICMP gets through.
 */
import { quantile } from 'simple-statistics'
import { runInNetns } from '../netns-exec.js'

export interface PingProbeOptions {
  netnsPath: string
  host: string
  /** echo requests per run */
  count: number
  /** between requests, ms (≥ 2 ms: iputils' floor for non-root; the agent is root) */
  intervalMs: number
  /** the ping binary (PATH lookup; tests point elsewhere to simulate a missing one) */
  ping?: string
  nsenter?: string
  signal?: AbortSignal
}

export interface PingParsed {
  /** one per reply, seconds */
  rttSeconds: number[]
  transmitted?: number
  received?: number
}

export interface PingProbeResult {
  ok: boolean
  rttSeconds: number[]
  p50Seconds?: number
  p99Seconds?: number
  transmitted: number
  received: number
  /** ping could not be executed (not installed): fall back to another probe, say so */
  missingBinary: boolean
  error?: string
}

const REPLY = /\bicmp_seq=\d+ ttl=\d+ time=(\d+(?:\.\d+)?) ms\b/
const SUMMARY = /^(\d+) packets transmitted, (\d+) (?:packets )?received/m

/** Pure: iputils ping's text output → per-reply RTTs and the summary counts. */
export function parsePingOutput (stdout: string): PingParsed {
  const rttSeconds: number[] = []
  for (const line of stdout.split('\n')) {
    const m = REPLY.exec(line)
    if (m !== null) rttSeconds.push(Number(m[1]) / 1000)
  }
  const s = SUMMARY.exec(stdout)
  const out: PingParsed = { rttSeconds }
  if (s !== null) { out.transmitted = Number(s[1]); out.received = Number(s[2]) }
  return out
}

/** Runs one ping probe; never rejects for a network failure (ok: false with the error). */
export async function runPingProbe (o: PingProbeOptions): Promise<PingProbeResult> {
  const interval = Math.max(2, o.intervalMs) / 1000
  const budgetMs = o.count * Math.max(2, o.intervalMs) + 3_000 // -W 1 for the last reply, plus start-up
  const binary = o.ping ?? 'ping'
  const r = await runInNetns({
    netnsPath: o.netnsPath,
    argv: [binary, '-n', '-c', String(o.count), '-i', String(interval), '-W', '1', o.host],
    timeoutMs: budgetMs,
    maxOutputBytes: 256 * 1024,
    ...(o.nsenter !== undefined ? { nsenter: o.nsenter } : {}),
    ...(o.signal !== undefined ? { signal: o.signal } : {}),
  })
  const none = { ok: false, rttSeconds: [], transmitted: 0, received: 0 }
  if (r.aborted) return { ...none, missingBinary: false, error: 'probe aborted' }
  // nsenter exits 127 when it cannot execute the program
  if (r.code === 127 || /failed to execute/.test(r.stderr)) return { ...none, missingBinary: true, error: `cannot run ${binary}: ${r.stderr.trim().split('\n').pop() ?? 'not found'}` }
  if (r.timedOut) return { ...none, missingBinary: false, error: `ping killed after ${budgetMs} ms` }
  const p = parsePingOutput(r.stdout)
  if (p.transmitted === undefined) {
    return { ...none, missingBinary: false, error: `ping printed no summary (exit ${r.code ?? r.signal}): ${(r.stderr.trim() || r.stdout.trim()).slice(0, 200) || 'no output'}` }
  }
  const out: PingProbeResult = { ok: p.rttSeconds.length > 0, rttSeconds: p.rttSeconds, transmitted: p.transmitted, received: p.received ?? 0, missingBinary: false }
  if (p.rttSeconds.length > 0) {
    out.p50Seconds = quantile(p.rttSeconds, 0.5)
    out.p99Seconds = quantile(p.rttSeconds, 0.99)
  } else {
    out.error = `no echo reply from ${o.host}: ${p.transmitted} sent, 0 received`
  }
  return out
}
