/**
 * Streaming parser for the network families of a cAdvisor Prometheus page: the kubelet's
 * `/metrics/cadvisor` or a standalone cAdvisor's `/metrics`.
 *
 * Fed chunk by chunk (strings or Buffers, lines split anywhere, UTF-8 split anywhere), it
 * looks at the metric name of each line before anything else and drops every line that is
 * not one of the wanted families, so the cost of a 1.4 MB page is mostly one scan for
 * newlines. Chunks are scanned as bytes (a string chunk is encoded first): the other
 * families' lines — three quarters of a kubelet page's network lines, and every CPU, memory
 * and file-system line — cost a newline search and a few byte compares, and a wanted line
 * is parsed in place, its kept label values decoded only when they differ from the last
 * ones of their label (a newline or delimiter byte never occurs inside a UTF-8 sequence, so
 * a value always decodes whole). It never builds the page as an object tree: its state is
 * the unfinished last line, and each kept sample is handed to the caller's callback at once.
 */

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
const S_COUNT = 11
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

/** The slot of the label name at `at` (`len` bytes), or -1; the kept names are ASCII, compared byte for char. */
function labelSlot (buf: Buffer, at: number, len: number): number {
  const cands = KEEP_BY_LEN[len]
  if (cands === undefined) return -1
  for (const [name, slot] of cands) if (sameAscii(buf, at, name)) return slot
  return -1
}

/**
 * Are the `str.length` bytes at `at` the characters of `str`, one byte per character?
 * Compared from the end: label values of one page share their beginnings (cgroup paths,
 * pod name prefixes) and differ near the end. A string with a character above U+007F never
 * matches (no byte equals it), so a match means the bytes are that ASCII text exactly.
 */
function sameAscii (buf: Buffer, at: number, str: string): boolean {
  for (let k = str.length - 1; k >= 0; k--) if (buf[at + k] !== str.charCodeAt(k)) return false
  return true
}

// A sample value or timestamp of at most this many decimal digits is exact as a double and
// is read from the bytes; anything else goes through the string parse.
const MAX_FAST_DIGITS = 15

/** The non-negative integer written in bytes [from, to), or -1 when it is not only 1–15 digits. */
function digitsAt (buf: Buffer, from: number, to: number): number {
  if (to <= from || to - from > MAX_FAST_DIGITS) return -1
  let n = 0
  for (let k = from; k < to; k++) {
    const d = (buf[k] as number) - 48
    if (d < 0 || d > 9) return -1
    n = n * 10 + d
  }
  return n
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

/**
 * Chunked parser: push() chunks, end() once; records go to onRecord as they are found.
 * Every chunk is scanned as bytes: a string chunk is encoded to UTF-8 first (strings are the
 * tests' and files' way in; a response body comes as Buffers).
 */
export class PromNetworkParser {
  readonly #familyList: readonly NetworkFamily[]
  readonly #onRecord: (r: NetworkSeriesRecord) => void
  readonly #maxLine: number
  readonly #familyBytes: readonly Buffer[]
  /** the unfinished last line */
  #restBytes: Buffer | undefined
  /** a string chunk's last character when it is the first half of a surrogate pair */
  #highSurrogate = ''
  #ended = false
  // Label values, interned per label slot: the two last distinct values of each. A page
  // lists a pod's interfaces one after another, so most kept values (namespace, pod, cgroup
  // id, sandbox name, image, the interface names that alternate) repeat one of the last two
  // and are compared in place, never decoded.
  readonly #internA: string[] = new Array<string>(S_COUNT).fill('')
  readonly #internB: string[] = new Array<string>(S_COUNT).fill('')
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
    if (typeof chunk !== 'string') {
      this.stats.chars += chunk.length
      this.#pushBytes(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength))
      return
    }
    this.stats.chars += chunk.length
    let text = this.#highSurrogate + chunk
    this.#highSurrogate = ''
    // a surrogate pair split across two strings is encoded whole, with the next chunk
    const last = text.charCodeAt(text.length - 1)
    if (last >= 0xd800 && last <= 0xdbff) {
      this.#highSurrogate = text.slice(-1)
      text = text.slice(0, -1)
    }
    this.#pushBytes(Buffer.from(text, 'utf8'))
  }

  #pushBytes (buf: Buffer): void {
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

  /**
   * A line, parsed in place: nothing is decoded for a line of another family (comments,
   * other families: a few byte compares), and of a wanted line only the kept label values
   * that are not one of their slot's last two (see #intern). Every delimiter is ASCII, and a
   * UTF-8 sequence never contains an ASCII byte, so a value's bytes decode whole.
   */
  #byteLine (buf: Buffer, start: number, end: number): void {
    this.stats.lines++
    const fi = this.#familyAt(buf, start, end)
    if (fi < 0) return
    if (buf[end - 1] === 13 /* \r */) end--
    const family = this.#familyList[fi] as NetworkFamily
    const rec = this.#parseSample(buf, family, start + family.length, end)
    if (rec === undefined) {
      this.stats.malformed++
      return
    }
    this.stats.kept++
    this.#onRecord(rec)
  }

  /**
   * The index in #familyList of the wanted family the line is a sample of, or -1.
   * Cheapest test first: the byte after a wanted family's name must end the name ({, space,
   * tab), which rejects the other network families (receive_packets_total vs
   * receive_bytes_total…) and most other lines at once; then the name, from its end backwards
   * (the families differ near the end, the shared container_network_ prefix last).
   */
  #familyAt (buf: Buffer, start: number, end: number): number {
    const len = end - start
    const fams = this.#familyBytes
    for (let fi = 0; fi < fams.length; fi++) {
      const f = fams[fi] as Buffer
      const n = f.length
      if (len <= n) continue
      const c = buf[start + n]
      if (c !== 123 /* { */ && c !== 32 && c !== 9) continue
      let k = n - 1
      while (k >= 0 && buf[start + k] === f[k]) k--
      if (k < 0) return fi
    }
    return -1
  }

  /**
   * A kept label value without escapes: one of its slot's last two values when the bytes
   * are that text (most are: see the fields), else decoded, and remembered when it is ASCII.
   */
  #intern (slot: number, buf: Buffer, s: number, e: number): string {
    const len = e - s
    const a = this.#internA[slot] as string
    if (a.length === len && sameAscii(buf, s, a)) return a
    const b = this.#internB[slot] as string
    if (b.length === len && sameAscii(buf, s, b)) {
      this.#internA[slot] = b
      this.#internB[slot] = a
      return b
    }
    const str = buf.toString('utf8', s, e)
    // one character per byte: ASCII (or U+FFFD for a stray byte, which never matches again)
    if (str.length === len) {
      this.#internB[slot] = a
      this.#internA[slot] = str
    }
    return str
  }

  /** The page is complete: parse the last line if it had no newline. */
  end (): PromNetworkParserStats {
    if (this.#ended) return this.stats
    if (this.#highSurrogate !== '') {
      const h = this.#highSurrogate
      this.#highSurrogate = ''
      this.#pushBytes(Buffer.from(h, 'utf8')) // a lone half: U+FFFD, as any encoder writes it
    }
    const b = this.#restBytes
    this.#restBytes = undefined
    if (b !== undefined) this.#byteLine(b, 0, b.length)
    this.#ended = true
    return this.stats
  }

  /** The labels, value and timestamp of a wanted line, from its bytes; undefined when malformed. */
  #parseSample (buf: Buffer, family: NetworkFamily, pos: number, end: number): NetworkSeriesRecord | undefined {
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
    if (buf[i] === 123 /* { */) {
      i++
      for (;;) {
        while (i < end && (buf[i] === 32 || buf[i] === 44 /* , */)) i++
        if (i >= end) return undefined
        if (buf[i] === 125 /* } */) { i++; break }
        let eq = i
        while (eq < end && buf[eq] !== 61 /* = */) eq++
        if (eq >= end) return undefined
        if (buf[eq + 1] !== 34 /* " */) return undefined
        // Find the closing quote, stepping over escapes.
        let j = eq + 2
        let escaped = false
        for (;;) {
          let q = j
          while (q < end && buf[q] !== 34) q++
          if (q >= end) return undefined
          let bs = 0
          for (let k = q - 1; k >= eq + 2 && buf[k] === 92; k--) bs++
          if (bs > 0) escaped = true
          if (bs % 2 === 0) { j = q; break }
          j = q + 1
        }
        const slot = labelSlot(buf, i, eq - i)
        if (slot >= 0) {
          const v = escaped ? unescapeLabel(buf.toString('utf8', eq + 2, j)) : this.#intern(slot, buf, eq + 2, j)
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
    while (i < end && (buf[i] === 32 || buf[i] === 9)) i++
    let v = i
    while (v < end && buf[v] !== 32 && buf[v] !== 9) v++
    const digits = digitsAt(buf, i, v)
    const value = digits >= 0 ? digits : parsePromValue(buf.toString('utf8', i, v))
    if (value === undefined) return undefined
    while (v < end && (buf[v] === 32 || buf[v] === 9)) v++
    let timestampMs: number | undefined
    if (v < end) {
      const tsDigits = digitsAt(buf, v, end)
      const ts = tsDigits >= 0 ? tsDigits : Number(buf.toString('utf8', v, end)) // Number() ignores trailing blanks
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
