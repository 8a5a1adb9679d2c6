import t from 'tap'
import { readFileSync } from 'node:fs'
import { NETWORK_FAMILIES, parseNetworkSeries, parsePromValue, PromNetworkParser } from '../../collectors/traffic/prom-text-network.js'
import type { NetworkSeriesRecord } from '../../collectors/traffic/prom-text-network.js'

const KUBELET = readFileSync(new URL('../fixtures/cadvisor/kubelet-metrics-cadvisor_k8s-1.35_network-families-only.prom', import.meta.url))
const STANDALONE = readFileSync(new URL('../fixtures/cadvisor/cadvisor-standalone_prometheus-metrics_unit-test-expected.prom', import.meta.url))

function parseInChunks (page: Buffer, size: number, families?: NetworkSeriesRecord['family'][]): NetworkSeriesRecord[] {
  const out: NetworkSeriesRecord[] = []
  const p = new PromNetworkParser({ onRecord: (r) => { out.push(r) }, ...(families !== undefined ? { families } : {}) })
  for (let i = 0; i < page.length; i += size) p.push(page.subarray(i, i + size))
  p.end()
  return out
}

/** The page in two Buffer chunks, cut at byte `cut`. */
function parseCut (page: Buffer, cut: number): NetworkSeriesRecord[] {
  const out: NetworkSeriesRecord[] = []
  const p = new PromNetworkParser({ onRecord: (r) => { out.push(r) } })
  p.push(page.subarray(0, cut))
  p.push(page.subarray(cut))
  p.end()
  return out
}

t.test('the kubelet page yields the bytes series of the root cgroup and 18 pod sandboxes, 10 interfaces each', async t => {
  const { records, stats } = await parseNetworkSeries(KUBELET)
  t.equal(stats.lines, 1536, 'every line of the file was looked at')
  t.equal(stats.malformed, 0)
  // (1 root + 18 sandboxes) × 10 interfaces × 2 families
  t.equal(records.length, 380)
  t.equal(records.filter((r) => r.id === '/').length, 20)
  t.equal(new Set(records.filter((r) => r.pod !== '').map((r) => `${r.namespace}/${r.pod}`)).size, 18)
  const coredns = records.find((r) => r.pod === 'coredns-7d764666f9-qdcxt' && r.interface === 'eth0' && r.family === 'container_network_receive_bytes_total')
  t.match(coredns, {
    namespace: 'kube-system', container: '', image: 'registry.k8s.io/pause:3.10.1',
    name: 'ed11da7c57405ee18a2b8d18479e2fcb0117340fca4db1ce78feebbfc4c66693', value: 49637, timestampMs: 1782468868990,
  })
})

t.test('float values in exponent form are read exactly as written', async t => {
  const { records } = await parseNetworkSeries(KUBELET)
  const root = records.find((r) => r.id === '/' && r.interface === 'eth0' && r.family === 'container_network_receive_bytes_total')
  t.equal(root?.value, 772921510, '7.7292151e+08')
  t.equal(root?.timestampMs, 1782468875486)
})

t.test('any chunking, string or Buffer, gives the same records as one piece', async t => {
  const whole = (await parseNetworkSeries(KUBELET)).records
  for (const size of [1, 7, 64, 1000, 65_536]) {
    t.same(parseInChunks(KUBELET, size), whole, `chunks of ${size} bytes`)
  }
  const text = KUBELET.toString('utf8')
  const viaStrings = await parseNetworkSeries((async function * () {
    for (let i = 0; i < text.length; i += 333) yield text.slice(i, i + 333)
  })())
  t.same(viaStrings.records, whole, 'async iterable of string chunks')
})

t.test('the byte path (Buffers) and the text path agree on records and line counts, also when string and Buffer chunks mix mid-line', async t => {
  const text = KUBELET.toString('utf8')
  const viaText = await parseNetworkSeries(text)
  const viaBytes = await parseNetworkSeries(KUBELET)
  t.same(viaBytes.records, viaText.records)
  t.equal(viaBytes.stats.lines, viaText.stats.lines, 'every line counted once on either path')
  t.equal(viaBytes.stats.kept, viaText.stats.kept)
  // alternate: a Buffer chunk, then a string chunk, cut at arbitrary points (mid-line, mid-name)
  for (const size of [5, 97, 4096]) {
    const out: NetworkSeriesRecord[] = []
    const p = new PromNetworkParser({ onRecord: (r) => { out.push(r) } })
    for (let i = 0, k = 0; i < KUBELET.length; i += size, k++) {
      const piece = KUBELET.subarray(i, i + size)
      p.push(k % 2 === 0 ? piece : piece.toString('latin1')) // the fixture is ASCII: latin1 is exact
    }
    const stats = p.end()
    t.same(out, viaText.records, `mixed chunks of ${size}`)
    t.equal(stats.lines, viaText.stats.lines)
  }
  // a last line without a newline, of a wanted family and of another one
  const last = Buffer.from('container_network_receive_bytes_total{pod="p",namespace="n",interface="eth0",container="",id="/x"} 7')
  t.equal((await parseNetworkSeries(last)).records[0]?.value, 7, 'a wanted last line without newline is parsed')
  const other = await parseNetworkSeries(Buffer.from('container_network_receive_packets_total{pod="p"} 7'))
  t.same([other.records.length, other.stats.lines], [0, 1], 'another family\'s last line is counted and dropped')
  const bad = await parseNetworkSeries(Buffer.from('container_network_transmit_bytes_total{pod="p" 7\n'))
  t.same([bad.records.length, bad.stats.malformed], [0, 1], 'a broken wanted line is malformed on the byte path too')
})

t.test('a multi-byte UTF-8 character split across Buffer chunks survives', async t => {
  const page = Buffer.from('container_network_receive_bytes_total{pod="caf\u00e9-\u{1F600}",namespace="n",interface="eth0",container="",id="/x"} 5\n')
  for (let cut = 1; cut < page.length; cut++) {
    const out = parseCut(page, cut)
    if (out[0]?.pod !== 'caf\u00e9-\u{1F600}') { t.fail(`cut at byte ${cut} gave ${JSON.stringify(out[0]?.pod)}`); return }
  }
  t.pass('every cut point decodes the label')
})

t.test('label escapes \\" \\\\ \\n are decoded, and } or , inside a value do not end the labels', async t => {
  const line = 'container_network_transmit_bytes_total{pod="a\\"b\\\\c\\nd",namespace="x}y,z",interface="eth0",container="",id="/p"} 12 34\n'
  const { records } = await parseNetworkSeries(line)
  t.equal(records.length, 1)
  t.equal(records[0]?.pod, 'a"b\\c\nd')
  t.equal(records[0]?.namespace, 'x}y,z')
  t.equal(records[0]?.value, 12)
  t.equal(records[0]?.timestampMs, 34)
})

t.test('a value ending in an escaped backslash closes the label', async t => {
  const { records } = await parseNetworkSeries('container_network_receive_bytes_total{pod="a\\\\",interface="eth1"} 1\n')
  t.equal(records[0]?.pod, 'a\\')
  t.equal(records[0]?.interface, 'eth1')
})

t.test('NaN, +Inf, -Inf and missing timestamps are taken as Prometheus defines them', async t => {
  const page = [
    'container_network_receive_bytes_total{interface="a"} NaN',
    'container_network_receive_bytes_total{interface="b"} +Inf 5',
    'container_network_receive_bytes_total{interface="c"} -Inf',
    'container_network_receive_bytes_total{interface="d"}\t 1.5e3\t',
    'container_network_receive_bytes_total 9',
  ].join('\r\n')
  const { records, stats } = await parseNetworkSeries(page)
  t.same(records.map((r) => [r.interface, r.value, r.timestampMs]), [
    ['a', NaN, undefined], ['b', Infinity, 5], ['c', -Infinity, undefined], ['d', 1500, undefined], ['', 9, undefined],
  ])
  t.equal(stats.malformed, 0)
})

t.test('other families, comments and near-miss names are skipped before any label parsing', async t => {
  const page = [
    '# HELP container_network_receive_bytes_total Cumulative count of bytes received',
    'container_network_receive_bytes_totalx{interface="no"} 1',
    'container_network_tcp_usage_total{tcp_state="close"} 0',
    'container_cpu_usage_seconds_total{id="/"} 3',
    'container_network_receive_bytes_total{interface="yes"} 2',
    '',
  ].join('\n')
  const { records, stats } = await parseNetworkSeries(page)
  t.same(records.map((r) => r.interface), ['yes'])
  t.equal(stats.kept, 1)
  t.equal(stats.malformed, 0)
})

t.test('malformed lines of a wanted family are counted and skipped, not fatal', async t => {
  const page = [
    'container_network_receive_bytes_total{interface="a} 1', // unterminated value
    'container_network_receive_bytes_total{interface="b"} twelve',
    'container_network_receive_bytes_total{interface="c"} 1 notatime',
    'container_network_receive_bytes_total{interface=d} 1',
    'container_network_receive_bytes_total{interface="ok"} 3',
  ].join('\n')
  const { records, stats } = await parseNetworkSeries(page)
  t.same(records.map((r) => r.interface), ['ok'])
  t.equal(stats.malformed, 4)
})

t.test('standalone cAdvisor: all eight network families, its label set, ms timestamps', async t => {
  const { records } = await parseNetworkSeries(STANDALONE, { families: [...NETWORK_FAMILIES] })
  t.same(records.map((r) => [r.family, r.value]), [
    ['container_network_receive_bytes_total', 14],
    ['container_network_receive_errors_total', 16],
    ['container_network_receive_packets_dropped_total', 17],
    ['container_network_receive_packets_total', 15],
    ['container_network_transmit_bytes_total', 18],
    ['container_network_transmit_errors_total', 20],
    ['container_network_transmit_packets_dropped_total', 21],
    ['container_network_transmit_packets_total', 19],
  ])
  t.match(records[0], { id: 'testcontainer', name: 'testcontaineralias', image: 'test', interface: 'eth0', pod: '', namespace: '', timestampMs: 1395066363000 })
})

t.test('standalone cAdvisor pod labels stand in for pod/namespace (series made by us in its label format)', async t => {
  const line = 'container_network_receive_bytes_total{container_label_io_kubernetes_container_name="POD",container_label_io_kubernetes_pod_name="web-1",' +
    'container_label_io_kubernetes_pod_namespace="shop",container_label_io_kubernetes_pod_uid="0f0e",id="/docker/abc",image="k8s.gcr.io/pause:3.1",interface="eth0",name="k8s_POD_web-1"} 77\n'
  const { records } = await parseNetworkSeries(line)
  t.match(records[0], { pod: 'web-1', namespace: 'shop', container: 'POD', podUid: '0f0e', value: 77 })
})

t.test('bad options and oversized lines are refused with a clear error', async t => {
  t.throws(() => new PromNetworkParser({} as never), /onRecord/)
  t.throws(() => new PromNetworkParser({ onRecord: () => {}, families: ['container_cpu_usage_seconds_total' as never] }), /unknown family "container_cpu_usage_seconds_total"/)
  t.throws(() => new PromNetworkParser({ onRecord: () => {}, maxLineChars: 10 }), /maxLineChars/)
  const p = new PromNetworkParser({ onRecord: () => {}, maxLineChars: 1024 })
  t.throws(() => p.push('x'.repeat(2000)), /longer than 1024/)
  const q = new PromNetworkParser({ onRecord: () => {} })
  q.end()
  t.throws(() => q.push('a\n'), /after end/)
})

t.test('parsePromValue rejects what is not a number', async t => {
  t.equal(parsePromValue(''), undefined)
  t.equal(parsePromValue('abc'), undefined)
  t.equal(parsePromValue('0x10'), undefined, 'no hex')
  t.equal(parsePromValue(' 5'), undefined, 'no padding')
  t.equal(parsePromValue('7.7292151e+08'), 772921510)
  t.equal(parsePromValue('-0.5'), -0.5)
})

t.test('label values are the same strings whatever the chunking: split mid-value, repeated, alternating, same length but other bytes, non-ASCII', async t => {
  const line = (pod: string, iface: string, ns = 'n'): string =>
    `container_network_receive_bytes_total{pod="${pod}",namespace="${ns}",interface="${iface}",container="",id="/x/${pod}"} 5 7\n`
  const text = [
    line('web-1', 'eth0'), line('web-1', 'net1'), line('web-1', 'eth0'), // alternating: both interned
    line('web-2', 'eth0'), line('web-3', 'eth0'), line('web-2', 'eth0'), // same length, other bytes
    line('caf\u00e9', 'eth0'), line('caf\u00e9', 'eth0'), line('cafe', 'eth0'), // non-ASCII repeated, then its ASCII look-alike
    line('a\\"b', 'eth0'), line('a\\"b', 'eth0'), // escaped values are decoded each time, never interned
    line('', 'eth0', ''), line('x', '', 'n'),
  ].join('')
  const want = (await parseNetworkSeries(text)).records
  t.same(want.map((r) => [r.pod, r.interface, r.id]), [
    ['web-1', 'eth0', '/x/web-1'], ['web-1', 'net1', '/x/web-1'], ['web-1', 'eth0', '/x/web-1'],
    ['web-2', 'eth0', '/x/web-2'], ['web-3', 'eth0', '/x/web-3'], ['web-2', 'eth0', '/x/web-2'],
    ['caf\u00e9', 'eth0', '/x/caf\u00e9'], ['caf\u00e9', 'eth0', '/x/caf\u00e9'], ['cafe', 'eth0', '/x/cafe'],
    ['a"b', 'eth0', '/x/a"b'], ['a"b', 'eth0', '/x/a"b'],
    ['', 'eth0', '/x/'], ['x', '', '/x/x'],
  ], 'the text as written')
  const page = Buffer.from(text)
  for (let cut = 1; cut < page.length; cut++) {
    if (JSON.stringify(parseCut(page, cut)) !== JSON.stringify(want)) { t.fail(`a cut at byte ${cut} gave other records`); return }
  }
  t.pass('every cut point, inside a value or a name, gives the same records')
})

t.test('a surrogate pair split across two string chunks, and a lone half at the end', async t => {
  const text = 'container_network_receive_bytes_total{pod="\u{1F600}",interface="eth0",container="",id="/x"} 5\n'
  const at = text.indexOf('\u{1F600}') + 1 // between the two halves
  const out: NetworkSeriesRecord[] = []
  const p = new PromNetworkParser({ onRecord: (r) => { out.push(r) } })
  p.push(text.slice(0, at))
  p.push(text.slice(at))
  p.end()
  t.equal(out[0]?.pod, '\u{1F600}')
  const q = new PromNetworkParser({ onRecord: (r) => { out.push(r) } })
  q.push('container_network_receive_bytes_total{pod="p"} 1\n\ud83d')
  t.same(q.end().lines, 2, 'the lone half is a last line of its own (U+FFFD), not a sample')
})

t.test('values and timestamps of up to 15 digits are read from the bytes, longer ones as before', async t => {
  const { records } = await parseNetworkSeries(Buffer.from([
    'container_network_receive_bytes_total{interface="a"} 007 0012',
    'container_network_receive_bytes_total{interface="b"} 999999999999999 1782468880000',
    'container_network_receive_bytes_total{interface="c"} 12345678901234567890 1782468880000 ',
    'container_network_receive_bytes_total{interface="d"} 1e3 1.5e3',
    'container_network_receive_bytes_total{interface="e"} 12x',
    'container_network_receive_bytes_total{interface="f"} 12 34x',
  ].join('\n')))
  t.same(records.map((r) => [r.interface, r.value, r.timestampMs]), [
    ['a', 7, 12], ['b', 999999999999999, 1782468880000], ['c', Number('12345678901234567890'), 1782468880000], ['d', 1000, 1500],
  ])
})
