// kubelet /metrics/cadvisor: the network families of a page scaled from the real fixture
// to 5,000 pod interfaces, parsed and aggregated per pod interface by our streaming
// parser, next to parse-prometheus-text-format (a general-purpose parser from npm)
// parsing the same page and aggregating the same numbers, in the same run.
// Then one agent collection cycle (parse + aggregate + attribution + per-plugin rates)
// at 5,000 pod interfaces × 8 plugins: CPU (process.cpuUsage) and RSS per cycle.
// Targets: ≥ 3× faster than the baseline; ≤ 150 MB RSS; ≤ 100 ms CPU per cycle.
import { ANNOTATIONS } from '../contract/annotations.js'
import { execFile } from 'node:child_process'
import { createReadStream, existsSync, readFileSync } from 'node:fs'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { cpus, tmpdir } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { promisify } from 'node:util'
import { median } from 'simple-statistics'
import { makeAttribution } from '../collectors/traffic/attribution.js'
import { isSandboxSeries, PodCounterAggregator, podKey } from '../collectors/traffic/pod-network-counters.js'
import type { PodInterfaceCounters } from '../collectors/traffic/pod-network-counters.js'
import { PromNetworkParser } from '../collectors/traffic/prom-text-network.js'
import { TrafficRates } from '../collectors/traffic/traffic-rates.js'
import type { BenchRun } from './types.js'

const BENCH = Object.freeze({
  podInterfaces: 5_000,
  plugins: 8,
  parseRuns: 5, // timed runs of each parser (median reported), after one warm-up
  cycles: 12, // collection cycles measured, after 2 warm-up cycles
  cycleIntervalMs: 10_000, // 10 s between simulated scrapes
  chunkBytes: 65_536, // the page arrives in 64 KiB chunks, as from a socket
  speedupTarget: 3, // × the baseline
  rssTargetMB: 150,
  cpuTargetMs: 100, // per cycle
})

const CHILD_FLAG = '--kubelet-parse-cycle-child'
const execFileAsync = promisify(execFile)

const FIXTURE = 'test/fixtures/cadvisor/kubelet-metrics-cadvisor_k8s-1.35_network-families-only.prom'

function fixturePath (): string {
  // bench/ when run from source, dist/bench/ when built
  for (const up of ['..', '../..']) {
    const p = fileURLToPath(new URL(`${up}/${FIXTURE}`, import.meta.url))
    if (existsSync(p)) return p
  }
  throw new Error(`fixture not found: ${FIXTURE}`)
}

interface Template {
  /** HELP/TYPE and root-cgroup lines, per family, kept as they are */
  head: Map<string, string[]>
  /** per family, per pod-interface: [labels with POD/NAME/ID placeholders, value] */
  pods: Map<string, Array<{ pod: string, labels: string, value: number }>>
  families: string[]
  podsPerCopy: number
  ifacesPerPod: number
}

function readTemplate (): Template {
  const lines = readFileSync(fixturePath(), 'utf8').split('\n')
  const head = new Map<string, string[]>()
  const pods = new Map<string, Array<{ pod: string, labels: string, value: number }>>()
  const families: string[] = []
  for (const line of lines) {
    if (line === '') continue
    const fam = line.startsWith('#') ? line.split(' ')[2] ?? '' : line.slice(0, line.indexOf('{'))
    if (!head.has(fam)) { head.set(fam, []); pods.set(fam, []); families.push(fam) }
    const m = /pod="([^"]*)"/.exec(line)
    if (line.startsWith('#') || m === null || m[1] === '') { head.get(fam)?.push(line); continue }
    const close = line.lastIndexOf('}')
    const [value] = line.slice(close + 2).split(' ')
    pods.get(fam)?.push({ pod: m[1] ?? '', labels: line.slice(0, close + 1), value: Number(value) })
  }
  const first = pods.get(families[0] ?? '') ?? []
  const podsPerCopy = new Set(first.map((p) => p.pod)).size
  return { head, pods, families, podsPerCopy, ifacesPerPod: first.length / podsPerCopy }
}

/**
 * The scaled page for one scrape: pods copied with renamed pod, container ID and cgroup,
 * until `podInterfaces` pod interfaces exist; byte counters grow with `cycle`.
 */
function scaledPage (tpl: Template, podInterfaces: number, cycle: number): string {
  const podsWanted = Math.ceil(podInterfaces / tpl.ifacesPerPod)
  const copies = Math.ceil(podsWanted / tpl.podsPerCopy)
  const ts = 1_782_468_880_000 + cycle * BENCH.cycleIntervalMs
  const out: string[] = []
  for (const fam of tpl.families) {
    for (const l of tpl.head.get(fam) ?? []) out.push(l)
    const series = tpl.pods.get(fam) ?? []
    let pods = 0
    for (let k = 0; k < copies; k++) {
      const suffix = `-c${k}`
      let lastPod = ''
      for (let i = 0; i < series.length; i++) {
        const s = series[i]
        if (s === undefined) continue
        if (s.pod !== lastPod) {
          if (pods >= podsWanted) break
          pods++
          lastPod = s.pod
        }
        const labels = s.labels
          .replace(`pod="${s.pod}"`, `pod="${s.pod}${suffix}"`)
          .replace(/name="([0-9a-f]{12})/, `name="$1${k.toString(16).padStart(4, '0')}`)
          .replace(/\/([0-9a-f]{12})([0-9a-f]*)",image/, `/$1${k.toString(16).padStart(4, '0')}$2",image`)
        // bytes grow by (i % 7 + 1) kB per 10 s on eth0-like counters that are non-zero
        const v = s.value > 0 && fam.endsWith('_bytes_total') ? s.value + cycle * 1000 * (i % 7 + 1) : s.value
        out.push(`${labels} ${v} ${ts}`)
      }
    }
  }
  out.push('')
  return out.join('\n')
}

function oursParse (page: string): PodInterfaceCounters[] {
  const agg = new PodCounterAggregator()
  const p = new PromNetworkParser({ onRecord: agg.add })
  p.push(page)
  p.end()
  return agg.result(0)
}

interface PromMetric { labels?: Record<string, string>, value?: string, timestamp_ms?: string }
interface PromFamily { name: string, metrics: PromMetric[] }
const requireCjs = createRequire(import.meta.url)
const parsePrometheusTextFormat = requireCjs('parse-prometheus-text-format') as (text: string) => PromFamily[]

/** The baseline: a general-purpose parse of the whole page, then the same aggregation. */
function baselineParse (page: string): PodInterfaceCounters[] {
  const fams = parsePrometheusTextFormat(page)
  const acc = new Map<string, PodInterfaceCounters>()
  for (const f of fams) {
    const isRx = f.name === 'container_network_receive_bytes_total'
    if (!isRx && f.name !== 'container_network_transmit_bytes_total') continue
    for (const m of f.metrics) {
      const l = m.labels ?? {}
      const r = { pod: l.pod ?? '', id: l.id ?? '', container: l.container ?? '', image: l.image ?? '' }
      if (!isSandboxSeries(r)) continue
      const key = `${podKey(l.namespace ?? '', r.pod)}/${l.interface ?? ''}`
      let c = acc.get(key)
      if (c === undefined) {
        c = { namespace: l.namespace ?? '', pod: r.pod, interface: l.interface ?? '', rxBytes: NaN, txBytes: NaN, atMs: Number(m.timestamp_ms ?? 0) }
        acc.set(key, c)
      }
      if (isRx) c.rxBytes = Number(m.value); else c.txBytes = Number(m.value)
    }
  }
  return [...acc.values()]
}

function timeRuns (fn: () => PodInterfaceCounters[]): { ms: number[], result: PodInterfaceCounters[] } {
  let result = fn() // warm-up
  const ms: number[] = []
  for (let i = 0; i < BENCH.parseRuns; i++) {
    const t0 = performance.now()
    result = fn()
    ms.push(performance.now() - t0)
  }
  return { ms, result }
}

const f = (x: number, digits = 1): string => x.toFixed(digits)
const mb = (bytes: number): number => bytes / 1e6

interface CycleFigures { cpuMs: number[], rssMB: number[], rssBeforeMB: number, rxBpsTotal: number, plugins: number, podIfaces: number }

/**
 * The child process's job: one collection cycle per page file, the page streamed from
 * disk in 64 KiB chunks as it would come off the socket (never held whole), then
 * aggregate, attribute from network-status annotations, per-plugin rates. A separate
 * process so the RSS is the collector's, not the bench's pages or the baseline's trees.
 */
async function cycleChild (dir: string, cycles: number): Promise<CycleFigures> {
  const pluginOf = (i: number): string => `net-${i % BENCH.plugins}`
  const annotations = new Map<string, Record<string, string>>()
  let rates: TrafficRates | undefined
  const cpuMs: number[] = []
  const rssMB: number[] = []
  const rssBeforeMB = mb(process.memoryUsage().rss)
  let last: ReturnType<TrafficRates['update']> | undefined
  let podIfaces = 0
  for (let cycle = 0; cycle < cycles; cycle++) {
    const cpu0 = process.cpuUsage()
    const agg = new PodCounterAggregator()
    const parser = new PromNetworkParser({ onRecord: agg.add })
    for await (const c of createReadStream(join(dir, `page-${cycle}.prom`), { highWaterMark: BENCH.chunkBytes })) parser.push(c as Buffer)
    parser.end()
    const counters = agg.result(Date.now())
    podIfaces = counters.length
    if (rates === undefined) {
      // The agent's pod cache holds these; built once, as the cache would be.
      let i = 0
      for (const c of counters) {
        const k = podKey(c.namespace, c.pod)
        if (!annotations.has(k)) {
          annotations.set(k, { [ANNOTATIONS.networkStatus]: JSON.stringify([{ name: pluginOf(i++), interface: 'eth0', ips: ['10.0.0.1'], default: true }]) })
        }
      }
      rates = new TrafficRates({ attribute: makeAttribution({ annotations: (ns, pod) => annotations.get(podKey(ns, pod)) }), plugins: Array.from({ length: BENCH.plugins }, (_, i) => pluginOf(i)) })
    }
    last = rates.update(counters, 1_782_468_880_000 + cycle * BENCH.cycleIntervalMs)
    const d = process.cpuUsage(cpu0)
    if (cycle >= 2) { // 2 warm-up cycles: JIT, first samples
      cpuMs.push((d.user + d.system) / 1000)
      rssMB.push(mb(process.memoryUsage().rss))
    }
  }
  const rxBpsTotal = (last?.plugins ?? []).reduce((a, p) => a + p.cycleRxBps, 0)
  return { cpuMs, rssMB, rssBeforeMB, rxBpsTotal, plugins: last?.plugins.length ?? 0, podIfaces }
}

/** Write the pages, run the cycles in a child process, read its figures. */
async function measureCycles (tpl: Template): Promise<CycleFigures> {
  const cycles = BENCH.cycles + 2
  const dir = await mkdtemp(join(tmpdir(), 'nr-bench-kubelet-'))
  try {
    for (let c = 0; c < cycles; c++) await writeFile(join(dir, `page-${c}.prom`), scaledPage(tpl, BENCH.podInterfaces, c))
    const self = fileURLToPath(import.meta.url)
    const { stdout } = await execFileAsync(process.execPath, [...process.execArgv, self, CHILD_FLAG, dir, String(cycles)], { maxBuffer: 1024 * 1024, timeout: 300_000 })
    const line = stdout.trim().split('\n').pop() ?? ''
    return JSON.parse(line) as CycleFigures
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}

/** Parse speed against parse-prometheus-text-format, and the cost of a collection cycle. */
export const run: BenchRun = async () => {
  const tpl = readTemplate()
  const cyc = await measureCycles(tpl)
  const page = scaledPage(tpl, BENCH.podInterfaces, 0)
  const pageMB = mb(Buffer.byteLength(page))
  const ours = timeRuns(() => oursParse(page))
  const base = timeRuns(() => baselineParse(page))
  // Both must have found the same numbers.
  const sum = (cs: PodInterfaceCounters[]): number => cs.reduce((a, c) => a + c.rxBytes + c.txBytes, 0)
  if (ours.result.length !== base.result.length || sum(ours.result) !== sum(base.result)) {
    throw new Error(`parsers disagree: ours ${ours.result.length} interfaces / ${sum(ours.result)} B, baseline ${base.result.length} / ${sum(base.result)} B`)
  }
  const oursMs = median(ours.ms)
  const baseMs = median(base.ms)
  const speedup = baseMs / oursMs
  const cpuP50 = median(cyc.cpuMs)
  const cpuMax = Math.max(...cyc.cpuMs)
  const rssMax = Math.max(...cyc.rssMB)
  const speedOk = speedup >= BENCH.speedupTarget
  const cpuOk = cpuP50 <= BENCH.cpuTargetMs
  const rssOk = rssMax <= BENCH.rssTargetMB
  const cpu = cpus()
  const lines = [
    `Machine: ${cpu[0]?.model ?? 'unknown CPU'} × ${cpu.length}, Node ${process.version}. ` +
      `Page: the real kubelet fixture's 8 network families scaled to ${ours.result.length} pod interfaces ` +
      `(${ours.result.length / tpl.ifacesPerPod} pods × ${tpl.ifacesPerPod} interfaces, + the root cgroup), ${f(pageMB, 1)} MB. ` +
      `Median of ${BENCH.parseRuns} runs after a warm-up.`,
    '',
    '| parse + aggregate per pod interface | ms (median) | MB/s | × baseline |',
    '|---|---:|---:|---:|',
    `| baseline: parse-prometheus-text-format + same aggregation | ${f(baseMs)} | ${f(pageMB / (baseMs / 1000))} | 1.00 |`,
    `| netrank PromNetworkParser + PodCounterAggregator | ${f(oursMs)} | ${f(pageMB / (oursMs / 1000))} | ${f(speedup, 2)} |`,
    '',
    `Collection cycle at ${cyc.podIfaces} pod interfaces × ${BENCH.plugins} plugins (page in ${BENCH.chunkBytes / 1024} KiB Buffer chunks → ` +
      'parse → aggregate → attribution from network-status → per-plugin rates), ' +
      `${BENCH.cycles} cycles after 2 warm-up cycles, in a child process (\`${process.execArgv.join(' ') || 'no loader'}\`) whose RSS before the first cycle was ${f(cyc.rssBeforeMB)} MB; ` +
      'the page is streamed from a file in chunks, as from the socket.',
    '',
    '| per cycle | p50 | max | target |',
    '|---|---:|---:|---:|',
    `| CPU (user + system), ms | ${f(cpuP50)} | ${f(cpuMax)} | ≤ ${BENCH.cpuTargetMs} |`,
    `| RSS after the cycle, MB | ${f(median(cyc.rssMB))} | ${f(rssMax)} | ≤ ${BENCH.rssTargetMB} |`,
    '',
    `Sanity: the last cycle reported ${cyc.plugins} plugins and ${f(cyc.rxBpsTotal / 1e6, 2)} Mbit/s received in total.`,
    '',
    `Targets: ≥ ${BENCH.speedupTarget}× baseline — ${speedOk ? 'met' : 'NOT met'} (${f(speedup, 2)}×); ` +
      `CPU ≤ ${BENCH.cpuTargetMs} ms/cycle — ${cpuOk ? 'met' : 'NOT met'} (p50 ${f(cpuP50)} ms); ` +
      `RSS ≤ ${BENCH.rssTargetMB} MB — ${rssOk ? 'met' : 'NOT met'} (max ${f(rssMax)} MB).`,
  ]
  // Run on its own (below) the section is printed; under bench/run.ts it is collected.
  return {
    title: 'kubelet /metrics/cadvisor: network families at 5,000 pod interfaces',
    command: 'npm run build && node dist/bench/kubelet-parse.bench.js',
    markdown: lines.join('\n'),
    targetsMet: speedOk && cpuOk && rssOk,
  }
}

if (process.argv[2] === CHILD_FLAG) {
  // The cycle child: print its figures as one JSON line.
  const figures = await cycleChild(process.argv[3] ?? '', Number(process.argv[4]))
  console.log(JSON.stringify(figures))
} else if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const section = await run()
  console.log(`## ${section.title}\n\n${section.markdown}\n`)
  process.exitCode = section.targetsMet ? 0 : 1
}
