/**
 * Streaming parser for the network families of a cAdvisor Prometheus page: the kubelet's
 * `/metrics/cadvisor` or a standalone cAdvisor's `/metrics`.
 *
 * Fed chunk by chunk (strings or Buffers, lines split anywhere, UTF-8 split anywhere), it
 * looks at the metric name of each line before anything else and drops every line that is
 * not one of the wanted families, so the cost of a 1.4 MB page is mostly one scan for
 * newlines. Buffers (a response body) are scanned as bytes: a line is decoded to a string
 * only when it is of a wanted family (a newline byte never occurs inside a UTF-8 sequence,
 * so a complete line always decodes whole), and the other families' lines — three quarters
 * of a kubelet page's network lines, and every CPU, memory and file-system line — cost a
 * newline search and a few byte compares. It never builds the page as an object tree: its
 * state is the unfinished last line, and each kept sample is handed to the caller's
 * callback at once.
 */
import { StringDecoder } from 'node:string_decoder'

/** The network families cAdvisor exports; the bytes pair is what the KPIs need. */
export const NETWORK_FAMILIES = Object.freeze([
  'container_network_receive_bytes_total',
  'container_network_transmit_bytes_total',
  'container_network_receive_packets_total',
  'container_network_transmit_packets_total',
  'container_network_receive_errors_total',
  'container_network_transmit_errors_total',
  'container_network_receive_packets_dropped_total',
  'container_network_transmit_packets_dropped_total',
] as const)

export type NetworkFamily = typeof NETWORK_FAMILIES[number]

export const BYTES_FAMILIES: readonly NetworkFamily[] = Object.freeze([
  'container_network_receive_bytes_total',
  'container_network_transmit_bytes_total',
])

/** One sample of a network family, with the labels netrank uses (missing labels are ''). */
export interface NetworkSeriesRecord {
  family: NetworkFamily
  namespace: string
  pod: string
  /** '' for the pod sandbox on the kubelet page; 'POD' on Docker-era pages */
  container: string
  /** the cgroup path; '/' is the node's root cgroup */
  id: string
  /** container runtime name or ID */
  name: string
  image: string
  interface: string
  /** pod UID when the page says it (standalone cAdvisor's container_label_io_kubernetes_pod_uid) */
  podUid: string
  /** the sample value; may be NaN or ±Infinity when the page says so */
  value: number
  /** the sample's own timestamp, ms since the epoch, when the line carries one */
  timestampMs: number | undefined
}

export interface PromNetworkParserOptions {
  /** families to keep; default: the two bytes families */
  families?: readonly NetworkFamily[]
  /** receives every kept sample, in page order */
  onRecord: (r: NetworkSeriesRecord) => void
  /** a line longer than this is an error (a broken or hostile page), bytes/chars; default 64 KiB */
  maxLineChars?: number
}

export interface PromNetworkParserStats {
  lines: number
  kept: number
  /** lines of a wanted family that could not be parsed (skipped, not fatal) */
  malformed: number
  chars: number
}

const PROM_DEFAULTS = Object.freeze({
  maxLineChars: 65_536, // 64 KiB: real cAdvisor lines are < 1 KiB, even with many container labels
})

const PREFIX = 'container_network_'

// Labels we keep, by slot; everything else is skipped without allocating its name or value.
const S_NAMESPACE = 0
const S_POD = 1
const S_CONTAINER = 2
const S_ID = 3
const S_NAME = 4
const S_IMAGE = 5
const S_INTERFACE = 6
const S_LBL_NAMESPACE = 7
const S_LBL_POD = 8
const S_LBL_CONTAINER = 9
const S_LBL_UID = 10
const KEEP_LABEL: ReadonlyArray<readonly [string, number]> = [
  ['namespace', S_NAMESPACE],
  ['pod', S_POD],
  ['container', S_CONTAINER],
  ['id', S_ID],
  ['name', S_NAME],
  ['image', S_IMAGE],
  ['interface', S_INTERFACE],
  // Standalone cAdvisor carries the pod identity as container labels instead.
  ['container_label_io_kubernetes_pod_namespace', S_LBL_NAMESPACE],
  ['container_label_io_kubernetes_pod_name', S_LBL_POD],
  ['container_label_io_kubernetes_container_name', S_LBL_CONTAINER],
  ['container_label_io_kubernetes_pod_uid', S_LBL_UID],
  // Older kubelets named them pod_name / container_name.
  ['pod_name', S_LBL_POD],
  ['container_name', S_LBL_CONTAINER],
]
// Candidates by name length: a label name is matched in place, never sliced out.
const KEEP_BY_LEN: ReadonlyArray<ReadonlyArray<readonly [string, number]>> = (() => {
  const out: Array<Array<readonly [string, number]>> = []
  for (const e of KEEP_LABEL) (out[e[0].length] ??= []).push(e)
  return out
})()

function labelSlot (buf: string, at: number, len: number): number {
  const cands = KEEP_BY_LEN[len]
  if (cands === undefined) return -1
  for (const [name, slot] of cands) if (buf.startsWith(name, at)) return slot
  return -1
}

const FLOAT = /^[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?$/

/** Parse a Prometheus sample value: floats, NaN, +Inf/-Inf. Undefined when it is not a number. */
export function parsePromValue (s: string): number | undefined {
  switch (s) {
    case 'NaN': return NaN
    case '+Inf': case 'Inf': return Infinity
    case '-Inf': return -Infinity
  }
  // Decimal floats only: Number() alone would also take "0x10", "  5" and "".
  return FLOAT.test(s) ? Number(s) : undefined
}

function unescapeLabel (raw: string): string {
  let out = ''
  for (let i = 0; i < raw.length; i++) {
    const c = raw.charCodeAt(i)
    if (c === 92 /* \ */ && i + 1 < raw.length) {
      const n = raw[++i]
      out += n === 'n' ? '\n' : n // \\ → \, \" → ", unknown escapes keep the char
    } else {
      out += raw[i]
    }
  }
  return out
}

/** Chunked parser: push() chunks, end() once; records go to onRecord as they are found. */
export class PromNetworkParser {
  readonly #familyList: readonly NetworkFamily[]
  readonly #onRecord: (r: NetworkSeriesRecord) => void
  readonly #maxLine: number
  readonly #familyBytes: readonly Buffer[]
  readonly #decoder = new StringDecoder('utf8')
  #rest = ''
  /** the unfinished last line of the byte path */
  #restBytes: Buffer | undefined
  #ended = false
  readonly stats: PromNetworkParserStats = { lines: 0, kept: 0, malformed: 0, chars: 0 }

  constructor (opts: PromNetworkParserOptions) {
    if (opts === null || typeof opts !== 'object' || typeof opts.onRecord !== 'function') {
      throw new TypeError('PromNetworkParser needs an onRecord(record) callback')
    }
    const fams = opts.families ?? BYTES_FAMILIES
    for (const f of fams) {
      if (!(NETWORK_FAMILIES as readonly string[]).includes(f)) {
        throw new TypeError(`PromNetworkParser: unknown family ${JSON.stringify(f)} (known: ${NETWORK_FAMILIES.join(', ')})`)
      }
    }
    // Longest first, so a family never matches as the prefix of a longer one.
    this.#familyList = [...new Set(fams)].sort((a, b) => b.length - a.length)
    this.#familyBytes = this.#familyList.map((f) => Buffer.from(f, 'latin1'))
    this.#onRecord = opts.onRecord
    const max = opts.maxLineChars ?? PROM_DEFAULTS.maxLineChars
    if (!Number.isInteger(max) || max < 256) throw new RangeError(`PromNetworkParser: maxLineChars must be an integer ≥ 256, got ${String(max)}`)
    this.#maxLine = max
  }

  /** Feed the next chunk of the page. Throws when a single line exceeds maxLineChars. */
  push (chunk: string | Uint8Array): void {
    if (this.#ended) throw new Error('PromNetworkParser: push() after end()')
    if (typeof chunk !== 'string') { this.#pushBytes(chunk); return }
    // a string after bytes: the bytes' unfinished line goes first, through the decoder
    const text = this.#restBytes !== undefined ? this.#takeRestBytes() + chunk : chunk
    this.stats.chars += text.length
    const buf = this.#rest.length > 0 ? this.#rest + text : text
    let start = 0
    let nl = buf.indexOf('\n', start)
    while (nl >= 0) {
      this.#line(buf, start, nl)
      start = nl + 1
      nl = buf.indexOf('\n', start)
    }
    this.#rest = start === 0 ? buf : buf.slice(start)
    if (this.#rest.length > this.#maxLine) {
      throw new RangeError(`PromNetworkParser: a line is longer than ${this.#maxLine} chars; not a metrics page?`)
    }
  }

  #takeRestBytes (): string {
    const b = this.#restBytes
    this.#restBytes = undefined
    return b === undefined ? '' : this.#decoder.write(b)
  }

  #pushBytes (chunk: Uint8Array): void {
    const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength)
    if (this.#rest.length > 0) {
      // bytes after a string chunk: its unfinished line is text already
      this.#restBytes = Buffer.concat([Buffer.from(this.#rest, 'utf8'), ...(this.#restBytes !== undefined ? [this.#restBytes] : [])])
      this.#rest = ''
    }
    this.stats.chars += buf.length
    let start = 0
    let nl = buf.indexOf(10, start)
    if (this.#restBytes !== undefined) {
      // only the unfinished line is joined with the chunk's first one: the chunk itself is never copied
      if (nl < 0) {
        this.#restBytes = Buffer.concat([this.#restBytes, buf])
        this.#checkRest()
        return
      }
      const line = Buffer.concat([this.#restBytes, buf.subarray(0, nl)])
      this.#restBytes = undefined
      this.#byteLine(line, 0, line.length)
      start = nl + 1
      nl = buf.indexOf(10, start)
    }
    while (nl >= 0) {
      this.#byteLine(buf, start, nl)
      start = nl + 1
      nl = buf.indexOf(10, start)
    }
    // a copy, so the chunk it came from is not kept alive by its tail
    this.#restBytes = start < buf.length ? Buffer.from(buf.subarray(start)) : undefined
    this.#checkRest()
  }

  #checkRest (): void {
    if (this.#restBytes !== undefined && this.#restBytes.length > this.#maxLine) {
      throw new RangeError(`PromNetworkParser: a line is longer than ${this.#maxLine} chars; not a metrics page?`)
    }
  }

  /** A line of the byte path: decoded and parsed only when it names a wanted family. */
  #byteLine (buf: Buffer, start: number, end: number): void {
    if (!this.#wantedBytes(buf, start, end)) { this.stats.lines++; return }
    const line = buf.toString('utf8', start, end)
    this.#line(line, 0, line.length)
  }

  // Cheapest test first: the byte after a wanted family's name must end the name ({, space,
  // tab), which rejects the other network families (receive_packets_total vs
  // receive_bytes_total…) and most other lines at once; then the name, from its end backwards
  // (the families differ near the end, the shared container_network_ prefix last).
  #wantedBytes (buf: Buffer, start: number, end: number): boolean {
    const len = end - start
    for (const f of this.#familyBytes) {
      const n = f.length
      if (len <= n) continue
      const c = buf[start + n]
      if (c !== 123 /* { */ && c !== 32 && c !== 9) continue
      let k = n - 1
      while (k >= 0 && buf[start + k] === f[k]) k--
      if (k < 0) return true
    }
    return false
  }

  /** The page is complete: parse the last line if it had no newline. */
  end (): PromNetworkParserStats {
    if (this.#ended) return this.stats
    if (this.#restBytes !== undefined) {
      const b = this.#restBytes
      this.#restBytes = undefined
      if (!this.#wantedBytes(b, 0, b.length)) {
        this.stats.lines++
        this.#ended = true
        return this.stats
      }
      this.#rest += this.#decoder.write(b)
    }
    const tail = this.#decoder.end()
    const buf = this.#rest + tail
    if (buf.length > 0) this.#line(buf, 0, buf.length)
    this.#rest = ''
    this.#ended = true
    return this.stats
  }

  #line (buf: string, start: number, end: number): void {
    this.stats.lines++
    // Cheap rejection first: comments, blank lines and other families never get past here,
    // and nothing is allocated for them.
    if (!buf.startsWith(PREFIX, start)) return
    let family: NetworkFamily | undefined
    for (const f of this.#familyList) {
      if (!buf.startsWith(f, start)) continue
      const c = buf.charCodeAt(start + f.length)
      if (c === 123 /* { */ || c === 32 || c === 9) { family = f; break }
    }
    if (family === undefined) return
    if (end > start && buf.charCodeAt(end - 1) === 13 /* \r */) end--
    const rec = this.#parseSample(buf, family, start + family.length, end)
    if (rec === undefined) {
      this.stats.malformed++
      return
    }
    this.stats.kept++
    this.#onRecord(rec)
  }

  #parseSample (buf: string, family: NetworkFamily, pos: number, end: number): NetworkSeriesRecord | undefined {
    let namespace: string | undefined
    let pod: string | undefined
    let container: string | undefined
    let id = ''
    let name = ''
    let image = ''
    let iface = ''
    let lblNamespace: string | undefined
    let lblPod: string | undefined
    let lblContainer: string | undefined
    let lblUid = ''
    let i = pos
    if (buf.charCodeAt(i) === 123 /* { */) {
      i++
      for (;;) {
        while (i < end && (buf.charCodeAt(i) === 32 || buf.charCodeAt(i) === 44 /* , */)) i++
        if (i >= end) return undefined
        if (buf.charCodeAt(i) === 125 /* } */) { i++; break }
        const eq = buf.indexOf('=', i)
        if (eq < 0 || eq >= end) return undefined
        if (buf.charCodeAt(eq + 1) !== 34 /* " */) return undefined
        // Find the closing quote, stepping over escapes.
        let j = eq + 2
        let escaped = false
        for (;;) {
          const q = buf.indexOf('"', j)
          if (q < 0 || q >= end) return undefined
          let bs = 0
          for (let k = q - 1; k >= eq + 2 && buf.charCodeAt(k) === 92; k--) bs++
          if (bs > 0) escaped = true
          if (bs % 2 === 0) { j = q; break }
          j = q + 1
        }
        const slot = labelSlot(buf, i, eq - i)
        if (slot >= 0) {
          const raw = buf.slice(eq + 2, j)
          const v = escaped ? unescapeLabel(raw) : raw
          switch (slot) {
            case S_NAMESPACE: namespace = v; break
            case S_POD: pod = v; break
            case S_CONTAINER: container = v; break
            case S_ID: id = v; break
            case S_NAME: name = v; break
            case S_IMAGE: image = v; break
            case S_INTERFACE: iface = v; break
            case S_LBL_NAMESPACE: lblNamespace = v; break
            case S_LBL_POD: lblPod = v; break
            case S_LBL_CONTAINER: lblContainer = v; break
            case S_LBL_UID: lblUid = v; break
          }
        }
        i = j + 1
      }
    }
    // value [timestamp]
    while (i < end && (buf.charCodeAt(i) === 32 || buf.charCodeAt(i) === 9)) i++
    let v = i
    while (v < end && buf.charCodeAt(v) !== 32 && buf.charCodeAt(v) !== 9) v++
    const value = parsePromValue(buf.slice(i, v))
    if (value === undefined) return undefined
    while (v < end && (buf.charCodeAt(v) === 32 || buf.charCodeAt(v) === 9)) v++
    let timestampMs: number | undefined
    if (v < end) {
      const ts = Number(buf.slice(v, end)) // Number() ignores trailing blanks
      if (!Number.isFinite(ts)) return undefined
      timestampMs = ts
    }
    return {
      family,
      namespace: namespace || lblNamespace || '',
      pod: pod || lblPod || '',
      container: container ?? lblContainer ?? '',
      id,
      name,
      image,
      interface: iface,
      podUid: lblUid,
      value,
      timestampMs,
    }
  }
}

/** Parse a whole page (string, Buffer, or an async iterable of chunks such as a response body). */
export async function parseNetworkSeries (
  source: string | Uint8Array | AsyncIterable<string | Uint8Array>,
  opts: Omit<PromNetworkParserOptions, 'onRecord'> & { onRecord?: PromNetworkParserOptions['onRecord'] } = {},
): Promise<{ records: NetworkSeriesRecord[], stats: PromNetworkParserStats }> {
  const records: NetworkSeriesRecord[] = []
  const onRecord = opts.onRecord ?? ((r: NetworkSeriesRecord) => { records.push(r) })
  const p = new PromNetworkParser({ ...opts, onRecord })
  if (typeof source === 'string' || source instanceof Uint8Array) {
    p.push(source)
  } else {
    for await (const chunk of source) p.push(chunk)
  }
  return { records, stats: p.end() }
}
