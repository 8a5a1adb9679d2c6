/**
 * iperf3 `-J` output → one probe result, robust to what real runs print:
 * stray bytes before the JSON (a `^C` echoed by a TTY), CRLF line ends, `error` with
 * partial results (intervals present, `end` partial or `{}`), iperf 3.6 (no `sender`
 * flags) through 3.16, TCP and UDP.
 *
 * Throughput: TCP prefers `end.sum_received` (what arrived), then `end.sum_sent`, then
 * the mean of the non-omitted interval sums; a sum with 0 bytes is not a measurement (an
 * interrupted client never got the server's numbers). UDP uses `end.sum` (with jitter
 * and loss). RTT: `end.streams[0].sender.mean_rtt`, µs → s (TCP on Linux only).
 */

export interface Iperf3Result {
  /** a complete run without `error` and with a throughput */
  ok: boolean
  /** iperf3's error text, or ours when the output is not iperf3 JSON */
  error?: string
  protocol?: 'TCP' | 'UDP'
  /** achievable throughput, bits/s */
  throughputBps?: number
  /** where throughputBps came from */
  throughputFrom?: 'sum_received' | 'sum_sent' | 'sum' | 'intervals'
  /** mean TCP RTT of the first stream, seconds */
  rttSeconds?: number
  retransmits?: number
  /** UDP: jitter, seconds */
  jitterSeconds?: number
  /** UDP: lost / sent packets, 0–1 */
  lossRatio?: number
  /** iperf3 version string ("iperf 3.9") when present */
  version?: string
  omittedIntervals: number
  /** intervals that count (omitted ones excluded) */
  intervals: number
  /** there is a result, but from an interrupted or failed run */
  partial: boolean
}

function isObj (v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v)
}

function num (v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined
}

/** A summary that measured something: bits_per_second ≥ 0 and bytes > 0 when given. */
function usableSum (s: unknown): number | undefined {
  if (!isObj(s)) return undefined
  const bps = num(s.bits_per_second)
  if (bps === undefined || bps < 0) return undefined
  const bytes = num(s.bytes)
  if (bytes !== undefined && bytes <= 0) return undefined
  return bps
}

/** Parse iperf3 `-J` output (stdout text or Buffer). Never throws: bad input gives ok false and an error. */
export function parseIperf3Output (output: string | Uint8Array): Iperf3Result {
  const text = typeof output === 'string' ? output : Buffer.from(output).toString('utf8')
  const none: Iperf3Result = { ok: false, omittedIntervals: 0, intervals: 0, partial: false }
  const brace = text.indexOf('{')
  if (brace < 0) return { ...none, error: text.trim() === '' ? 'iperf3 printed nothing' : 'iperf3 output has no JSON object' }
  let doc: unknown
  try {
    // JSON allows \r as whitespace, so CRLF needs no rewriting; stray bytes before "{" are dropped.
    doc = JSON.parse(text.slice(brace))
  } catch (err) {
    return { ...none, error: `iperf3 output is not valid JSON (${(err as Error).message}); truncated by a kill?` }
  }
  if (!isObj(doc)) return { ...none, error: 'iperf3 output is not a JSON object' }
  const start = isObj(doc.start) ? doc.start : {}
  const testStart = isObj(start.test_start) ? start.test_start : {}
  const end = isObj(doc.end) ? doc.end : {}
  const error = typeof doc.error === 'string' && doc.error !== '' ? doc.error : undefined
  const res: Iperf3Result = { ...none }
  if (error !== undefined) res.error = error
  if (typeof start.version === 'string') res.version = start.version
  let protocol: 'TCP' | 'UDP' | undefined = testStart.protocol === 'UDP' ? 'UDP' : testStart.protocol === 'TCP' ? 'TCP' : undefined
  if (protocol === undefined && isObj(end.sum) && num(end.sum.jitter_ms) !== undefined) protocol = 'UDP'
  if (protocol === undefined && (isObj(end.sum_sent) || isObj(end.sum_received))) protocol = 'TCP'
  if (protocol !== undefined) res.protocol = protocol

  // Intervals: count omitted ones apart; their mean is the last resort for throughput.
  const counted: number[] = []
  if (Array.isArray(doc.intervals)) {
    for (const iv of doc.intervals) {
      const sum = isObj(iv) && isObj(iv.sum) ? iv.sum : undefined
      if (sum === undefined) continue
      if (sum.omitted === true) { res.omittedIntervals++; continue }
      const bps = num(sum.bits_per_second)
      if (bps !== undefined) counted.push(bps)
    }
  }
  res.intervals = counted.length

  if (protocol === 'UDP') {
    const bps = usableSum(end.sum)
    if (bps !== undefined && isObj(end.sum)) {
      res.throughputBps = bps
      res.throughputFrom = 'sum'
      const jitter = num(end.sum.jitter_ms)
      if (jitter !== undefined) res.jitterSeconds = jitter / 1000
      const lost = num(end.sum.lost_packets)
      const packets = num(end.sum.packets)
      if (lost !== undefined && packets !== undefined && packets > 0) res.lossRatio = lost / packets
      else {
        const pct = num(end.sum.lost_percent)
        if (pct !== undefined) res.lossRatio = pct / 100
      }
    }
  } else {
    const rcv = usableSum(end.sum_received)
    const snt = usableSum(end.sum_sent)
    if (rcv !== undefined) { res.throughputBps = rcv; res.throughputFrom = 'sum_received' } else if (snt !== undefined) { res.throughputBps = snt; res.throughputFrom = 'sum_sent' }
    if (isObj(end.sum_sent)) {
      const rt = num(end.sum_sent.retransmits)
      if (rt !== undefined) res.retransmits = rt
    }
    const streams = Array.isArray(end.streams) ? end.streams : []
    const s0 = streams[0]
    const sender = isObj(s0) && isObj(s0.sender) ? s0.sender : undefined
    const rttUs = num(sender?.mean_rtt)
    if (rttUs !== undefined && rttUs > 0) res.rttSeconds = rttUs / 1e6
  }
  if (res.throughputBps === undefined && counted.length > 0) {
    res.throughputBps = counted.reduce((a, b) => a + b, 0) / counted.length
    res.throughputFrom = 'intervals'
  }
  res.partial = error !== undefined && (res.throughputBps !== undefined || counted.length > 0)
  res.ok = error === undefined && res.throughputBps !== undefined
  if (!res.ok && res.error === undefined) res.error = 'iperf3 result has no throughput (no end summary and no intervals)'
  return res
}
