/**
 * End-to-end response time as netperf's TCP_RR measures it: small request/response
 * transactions over ONE kept-open TCP connection between two probe pods, timed by a prober
 * written in C (`sockperf ping-pong --tcp --full-rtt`, TSC timestamps around send and
 * receive; no Node process in the measured path). Paced (`--mps`, default 1000/s), so the
 * probe costs a few % of a core for a second, not a core.
 *
 * The prober's own overhead is measured in the same run and kept out of the figure: the
 * same transactions against the client pod's own sockperf server over its loopback — the
 * cost of a transaction with no network in the path (two TCP stacks, two wakeups, the
 * prober's timing). `responseSeconds` = p50 to the peer − that floor's p50, never below 0:
 * what the network adds to a request/response exchange. Between two pods of one bridge
 * that is ~0 (the veth is as fast as loopback); across nodes it is the wire's share.
 *
 * sockperf prints its errors ("ERROR: Can`t connect socket (errno=111 …)") and exits 0:
 * the text decides, not the exit status.
 */
import { runInNetns } from '../netns-exec.js'

export interface TcpRrProbeOptions {
  netnsPath: string
  host: string
  /** the sockperf servers' port (peer and the client pod's own) */
  port: number
  /** transactions run for this long (sockperf -t; it adds ~2.2 s of its own around them) */
  seconds: number
  /** transactions per second (sockperf --mps) */
  ratePerSecond: number
  /** the sockperf binary (PATH lookup; tests point elsewhere to simulate a missing one) */
  sockperf?: string
  nsenter?: string
  signal?: AbortSignal
}

/** What one sockperf ping-pong printed. */
export interface SockperfParsed {
  /** valid observations the percentiles are over */
  observations?: number
  /** round trip, seconds (`--full-rtt`) */
  p50Seconds?: number
  p99Seconds?: number
  /** sockperf's own ERROR line */
  error?: string
}

export interface TcpRrProbeResult {
  ok: boolean
  /** the network's share of a transaction: p50 to the peer − the loopback floor's p50, ≥ 0, seconds */
  responseSeconds?: number
  /** p50 and p99 of the transactions to the peer, seconds */
  peerP50Seconds?: number
  peerP99Seconds?: number
  /** p50 of the same transactions over the client pod's loopback: the prober's floor, seconds */
  floorP50Seconds?: number
  observations: number
  /** sockperf could not be executed (not installed) */
  missingBinary: boolean
  error?: string
}

// sockperf colours some lines: drop ANSI escapes before matching
// eslint-disable-next-line no-control-regex
const ANSI = /\u001b\[[0-9;]*m/g
const OBSERVATIONS = /^sockperf: Total (\d+) observations/m
const PERCENTILE = (p: string): RegExp => new RegExp(`^sockperf: ---> percentile ${p.replace('.', '\\.')} = +(\\d+(?:\\.\\d+)?)$`, 'm')
const P50 = PERCENTILE('50.000')
const P99 = PERCENTILE('99.000')
const ERROR = /^sockperf: ERROR: (.+)$/m

/** Pure: sockperf ping-pong's text (stdout and stderr) → observations, p50 and p99 in seconds, or its error. */
export function parseSockperfOutput (text: string): SockperfParsed {
  const t = text.replace(ANSI, '')
  const out: SockperfParsed = {}
  const err = ERROR.exec(t)
  if (err !== null) out.error = (err[1] ?? '').trim()
  const obs = OBSERVATIONS.exec(t)
  if (obs !== null) out.observations = Number(obs[1])
  const p50 = P50.exec(t)
  if (p50 !== null) out.p50Seconds = Number(p50[1]) / 1e6
  const p99 = P99.exec(t)
  if (p99 !== null) out.p99Seconds = Number(p99[1]) / 1e6
  return out
}

type Leg = { parsed: SockperfParsed, missingBinary: boolean, error?: string }

async function leg (o: TcpRrProbeOptions, host: string): Promise<Leg> {
  const binary = o.sockperf ?? 'sockperf'
  const timeoutMs = (o.seconds + 5) * 1000
  const r = await runInNetns({
    netnsPath: o.netnsPath,
    argv: [binary, 'ping-pong', '--tcp', '-i', host, '-p', String(o.port), '-t', String(o.seconds), `--mps=${Math.max(1, Math.round(o.ratePerSecond))}`, '--full-rtt'],
    timeoutMs,
    maxOutputBytes: 256 * 1024,
    ...(o.nsenter !== undefined ? { nsenter: o.nsenter } : {}),
    ...(o.signal !== undefined ? { signal: o.signal } : {}),
  })
  if (r.aborted) return { parsed: {}, missingBinary: false, error: 'probe aborted' }
  // nsenter exits 127 when it cannot execute the program
  if (r.code === 127 || /failed to execute/.test(r.stderr)) return { parsed: {}, missingBinary: true, error: `cannot run ${binary}: ${r.stderr.trim().split('\n').pop() ?? 'not found'}` }
  if (r.timedOut) return { parsed: {}, missingBinary: false, error: `sockperf killed after ${timeoutMs} ms` }
  const parsed = parseSockperfOutput(`${r.stdout}\n${r.stderr}`)
  if (parsed.error !== undefined) return { parsed, missingBinary: false, error: `sockperf to ${host}:${o.port}: ${parsed.error}` }
  if (parsed.p50Seconds === undefined || (parsed.observations ?? 0) === 0) {
    const said = (r.stderr.trim() || r.stdout.trim()).replace(ANSI, '').split('\n').pop()?.slice(0, 200) ?? ''
    return { parsed, missingBinary: false, error: `sockperf to ${host}:${o.port} printed no percentiles (exit ${String(r.code ?? r.signal)})${said !== '' ? `: ${said}` : ''}` }
  }
  return { parsed, missingBinary: false }
}

/** Runs the floor (loopback) then the peer; never rejects for a network failure (ok: false with the error). */
export async function runTcpRrProbe (o: TcpRrProbeOptions): Promise<TcpRrProbeResult> {
  const floor = await leg(o, '127.0.0.1')
  if (floor.error !== undefined) {
    return { ok: false, observations: 0, missingBinary: floor.missingBinary, error: floor.missingBinary ? floor.error : `the prober's floor (the client pod's own sockperf server on loopback) could not be measured: ${floor.error}` }
  }
  const peer = await leg(o, o.host)
  const floorP50 = floor.parsed.p50Seconds ?? 0
  if (peer.error !== undefined) return { ok: false, observations: 0, missingBinary: peer.missingBinary, floorP50Seconds: floorP50, error: peer.error }
  const p50 = peer.parsed.p50Seconds ?? 0
  const out: TcpRrProbeResult = {
    ok: true,
    responseSeconds: Math.max(0, p50 - floorP50),
    peerP50Seconds: p50,
    floorP50Seconds: floorP50,
    observations: peer.parsed.observations ?? 0,
    missingBinary: false,
  }
  if (peer.parsed.p99Seconds !== undefined) out.peerP99Seconds = peer.parsed.p99Seconds
  return out
}
