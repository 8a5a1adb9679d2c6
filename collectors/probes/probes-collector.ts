/**
 * The probes collector: per plugin, an iperf3 throughput probe every `iperf3.intervalMs`,
 * an idle-RTT probe (ICMP, TCP connect where ICMP fails) every `rtt.intervalMs` and a TCP_RR
 * response-time probe (tcp-rr-probe.ts) every `tcpRr.intervalMs` (all jittered), between
 * the probe pods probe-pods.ts finds. ONE probe at a time on the node (a SerialQueue shared
 * by all kinds: two concurrent runs would each measure half the link); iperf3 runs that would
 * exceed the traffic budget are skipped (`skipped-budget`). Each run emits what it measured,
 * stamped with its own time (emitRun): the KPI store's median over its window, age and
 * sample count are those of real runs. `probeFailureRatio` is failed / all of the last
 * `samples` runs (budget skips are not runs); report() shows the kept medians.
 */
import { median, medianAbsoluteDeviation } from 'simple-statistics'
import type { KpiSample } from '../../contract/kpis.js'
import type { AttachmentRecordsSource } from '../attachment-records-source.js'
import { collectorLoop } from '../collector-loop.js'
import type { CollectorLoop } from '../collector-loop.js'
import { errorText } from '../collector-hooks.js'
import type { CollectorHooks, ProbeRunResult } from '../collector-hooks.js'
import { runIperf3Probe } from './iperf3-probe.js'
import type { Iperf3ProbeResult } from './iperf3-probe.js'
import type { KubeCache, NodeObject, PodObject } from '../kube-watch.js'
import { jitteredDelayMs, ProbeBudget, SerialQueue } from './probe-budget.js'
import { discoverProbePairs, unavailableNodes } from './probe-pods.js'
import type { ProbeDiscovery, ProbePair } from './probe-pods.js'
import { runTcpRttProbe } from './tcp-rtt-probe.js'
import { runPingProbe } from './ping-probe.js'
import { runTcpRrProbe } from './tcp-rr-probe.js'
import type { Collector, CollectorContext } from '../types.js'
import { setTimeout as sleep } from 'node:timers/promises'

/** How the probes run (the agent config's collectors.probes section has this shape). */
export interface ProbeSettings {
  /** the probe pods' label; its value names the plugin */
  podLabel: string
  /** iperf3 server port, also the RTT probe's connect target */
  port: number
  /** bothDirections: every other run is `-R` (the server sends): capacityRxBps */
  iperf3: { intervalMs: number, durationSeconds: number, omitSeconds: number, timeoutMs: number, jitterRatio: number, bothDirections?: boolean }
  rtt: { intervalMs: number, count: number, connectTimeoutMs: number, method?: 'icmp' | 'tcp-connect', pingCount?: number, pingIntervalMs?: number }
  /** request/response transactions over a kept-open TCP connection (sockperf); absent or disabled: not run */
  tcpRr?: { enabled: boolean, intervalMs: number, port: number, seconds: number, ratePerSecond: number }
  /** at most maxBytes of iperf3 traffic per windowMs */
  budget: { maxBytes: number, windowMs: number }
  /** last N results per plugin: median and spread */
  samples: number
  /** ring peers per client and how often the ring is shuffled (probe-pods.ts PEER_DEFAULTS) */
  peers?: number
  peerRotationMs?: number
}

export interface ProbesCollectorOptions extends ProbeSettings {
  node: string
  plugins: readonly string[]
  records: AttachmentRecordsSource
  /** probe pods (every pod with the label) */
  probePods: () => Promise<KubeCache<PodObject>>
  /** every node: peers on cordoned or NotReady nodes are left out (absent: none are) */
  nodes?: () => Promise<KubeCache<NodeObject>>
  hooks?: CollectorHooks
  /** the iperf3 binary (tests point elsewhere to simulate a missing one) */
  iperf3Binary?: string
  /** [0, 1) for jitter; injectable for tests */
  random?: () => number
  /** the probe programs; tests replace them to drive runs on a fake clock */
  runners?: { iperf3?: typeof runIperf3Probe, rtt?: typeof runTcpRttProbe, ping?: typeof runPingProbe, tcpRr?: typeof runTcpRrProbe }
}

export type ProbeKind = 'iperf3' | 'rtt' | 'tcp-rr'

/** Skips (the budget's turn, another client on the iperf3 server) are named, counted results, never failures in probeFailureRatio. */
const isSkip = (r: ProbeRunResult): boolean => r === 'skipped-budget' || r === 'skipped-busy'

/** One probe run as the collector saw it. */
export interface ProbeRun {
  plugin: string
  kind: ProbeKind
  result: ProbeRunResult
  atMs: number
  client?: string
  server?: string
  /** iperf3: bits/s */
  throughputBps?: number
  /** rtt: the run's median (ICMP replies or TCP connects); iperf3: TCP mean RTT; seconds */
  rttSeconds?: number
  /** rtt over ICMP: the run's p99, seconds */
  rttP99Seconds?: number
  /** how the RTT run measured: the kernel's ICMP echo, or TCP connect where ICMP failed */
  rttMethod?: 'icmp' | 'tcp-connect'
  bytes?: number
  /** iperf3: run by time (-t) or by bytes (-n), as the budget sized it */
  sizedBy?: 'time' | 'bytes'
  /** tcp-rr: the network's share of a transaction (peer p50 − loopback floor p50), seconds */
  responseSeconds?: number
  /** tcp-rr: the prober's floor, the same transactions over the client pod's loopback (p50), seconds */
  floorSeconds?: number
  /** iperf3: tx = the client (this node's probe pod) sends; rx = `-R`, the server sends */
  direction?: 'tx' | 'rx'
  error?: string
}

export interface PluginProbeState {
  plugin: string
  capacityBps?: number
  capacitySpreadBps?: number
  latencySeconds?: number
  latencySpreadSeconds?: number
  probeFailureRatio?: number
  throughputSamples: number
  rttSamples: number
}

export interface ProbesReport {
  discovery: ProbeDiscovery | undefined
  runs: ProbeRun[]
  plugins: PluginProbeState[]
  budget: { spentBytes: number, maxBytes: number, windowMs: number }
}

export interface ProbesCollector extends Collector {
  /** discovery, the runs of the last collectOnce (or the recent runs while started) and the kept state */
  report: () => ProbesReport
}

interface Kept {
  throughput: number[]
  rtt: number[]
  /** true = failed */
  outcomes: boolean[]
  /** the last measured throughput per direction, bits/s: sizes the next run */
  lastBps?: number
  lastBpsRx?: number
  /** the next run is -R */
  reverseNext: boolean
}

const BUSY_RETRY_MS = 3_000 // 3–6 s: another client's run lasts a few seconds
const RECENT_RUNS = 50 // runs kept for report()

/** Builds the probes collector. */
export function createProbesCollector (opts: ProbesCollectorOptions): ProbesCollector {
  const name = 'probes'
  const queue = new SerialQueue()
  const budget = new ProbeBudget(opts.budget)
  const kept = new Map<string, Kept>()
  const random = opts.random ?? Math.random
  let recent: ProbeRun[] = []
  let discovery: ProbeDiscovery | undefined
  let ctxRef: CollectorContext | undefined
  let loops: CollectorLoop[] = []
  // aborted by stop(): a running iperf3 or RTT probe is killed instead of awaited
  let stopping = new AbortController()
  const pendingJobs = new Set<string>()
  // a missing ping is said once (a collector problem), then each run falls back quietly
  let pingMissingSaid = false
  const tcpRr = opts.tcpRr?.enabled === true ? opts.tcpRr : undefined
  // no sockperf on the node: said once, then no more TCP_RR runs (not a network's failure)
  let sockperfMissing = false

  const keptOf = (plugin: string): Kept => {
    let k = kept.get(plugin)
    if (k === undefined) kept.set(plugin, k = { throughput: [], rtt: [], outcomes: [], reverseNext: false })
    return k
  }
  const push = (arr: number[] | boolean[], v: number | boolean): void => {
    (arr as Array<number | boolean>).push(v)
    while (arr.length > opts.samples) arr.shift()
  }

  // Nodes whose probe pods are no peers; a node list that is not there yet leaves none out (said once).
  let nodesErrorSaid = false
  const nodesToLeaveOut = async (ctx: CollectorContext): Promise<Set<string> | undefined> => {
    if (opts.nodes === undefined) return undefined
    try {
      const cache = await opts.nodes()
      if (cache.synced) { nodesErrorSaid = false; return unavailableNodes(cache.list()) }
      throw new Error(`nodes not listed yet${cache.lastError !== undefined ? `: ${cache.lastError}` : ''}`)
    } catch (err) {
      if (!nodesErrorSaid) ctx.reportError(name, new Error(`cordoned/NotReady nodes cannot be left out of the probe peers: ${errorText(err)}`))
      nodesErrorSaid = true
      return undefined
    }
  }

  const discover = async (ctx: CollectorContext): Promise<ProbeDiscovery | undefined> => {
    try {
      const cache = await opts.probePods()
      if (!cache.synced) throw new Error(`probe pods not listed yet${cache.lastError !== undefined ? `: ${cache.lastError}` : ''}`)
      const view = opts.records.read()
      const excludedNodes = await nodesToLeaveOut(ctx)
      discovery = discoverProbePairs({
        ...(excludedNodes !== undefined ? { excludedNodes } : {}),
        node: opts.node, podLabel: opts.podLabel, plugins: opts.plugins, pods: cache.list(), attachments: view.attachments, nowMs: ctx.now(),
        ...(opts.peers !== undefined ? { peers: opts.peers } : {}), ...(opts.peerRotationMs !== undefined ? { rotationMs: opts.peerRotationMs } : {}),
      })
      return discovery
    } catch (err) {
      ctx.reportError(name, new Error(`probe pod discovery failed: ${errorText(err)}`))
      return undefined
    }
  }

  const stateOf = (plugin: string): PluginProbeState => {
    const k = keptOf(plugin)
    const s: PluginProbeState = { plugin, throughputSamples: k.throughput.length, rttSamples: k.rtt.length }
    if (k.throughput.length > 0) { s.capacityBps = median(k.throughput); s.capacitySpreadBps = k.throughput.length > 1 ? medianAbsoluteDeviation(k.throughput) : 0 }
    if (k.rtt.length > 0) { s.latencySeconds = median(k.rtt); s.latencySpreadSeconds = k.rtt.length > 1 ? medianAbsoluteDeviation(k.rtt) : 0 }
    if (k.outcomes.length > 0) s.probeFailureRatio = k.outcomes.filter((f) => f).length / k.outcomes.length
    return s
  }

  // Honest freshness: a run emits only what it measured, stamped with its own time, so the
  // store's age and sample count are those of real runs. An iperf3 run: capacityBps and
  // capacityTxBps (the client sends: out of this node's probe pod) and, from the kernel's
  // TCP_INFO, loadedLatencySeconds; an RTT run: latencySeconds. Every run that is a run (not a
  // budget skip) updates probeFailureRatio. Nothing is re-emitted.
  const emitRun = (ctx: CollectorContext, run: ProbeRun): void => {
    if (isSkip(run.result) || run.error === 'stopped') return
    const { plugin, atMs } = run
    const samples: KpiSample[] = []
    if (run.result === 'ok' && run.kind === 'iperf3' && run.throughputBps !== undefined && run.direction === 'rx') {
      samples.push({ plugin, kpi: 'capacityRxBps', value: run.throughputBps, atMs, source: 'probes:iperf3' })
    } else if (run.result === 'ok' && run.kind === 'iperf3' && run.throughputBps !== undefined) {
      samples.push({ plugin, kpi: 'capacityBps', value: run.throughputBps, atMs, source: 'probes:iperf3' })
      samples.push({ plugin, kpi: 'capacityTxBps', value: run.throughputBps, atMs, source: 'probes:iperf3' })
      if (run.rttSeconds !== undefined) samples.push({ plugin, kpi: 'loadedLatencySeconds', value: run.rttSeconds, atMs, source: 'probes:iperf3' })
    }
    if (run.result === 'ok' && run.kind === 'tcp-rr' && run.responseSeconds !== undefined) {
      samples.push({ plugin, kpi: 'responseTimeSeconds', value: run.responseSeconds, atMs, source: 'probes:tcp-rr' })
    }
    if (run.result === 'ok' && run.kind === 'rtt' && run.rttSeconds !== undefined) {
      const source = `probes:${run.rttMethod ?? 'tcp-connect'}`
      samples.push({ plugin, kpi: 'latencySeconds', value: run.rttSeconds, atMs, source })
      if (run.rttP99Seconds !== undefined) samples.push({ plugin, kpi: 'latencyP99Seconds', value: run.rttP99Seconds, atMs, source })
    }
    const ratio = stateOf(plugin).probeFailureRatio
    if (ratio !== undefined) samples.push({ plugin, kpi: 'probeFailureRatio', value: ratio, atMs, source: name })
    const rejected = samples.length > 0 ? ctx.emit(samples) : 0
    if (rejected > 0) ctx.reportError(name, new Error(`${rejected} probe sample(s) of ${plugin} rejected by the store`))
  }

  const record = (ctx: CollectorContext, run: ProbeRun): ProbeRun => {
    opts.hooks?.probeRun?.(run.plugin, run.result)
    recent.push(run)
    if (recent.length > RECENT_RUNS) recent = recent.slice(-RECENT_RUNS)
    if (run.result !== 'ok' && !isSkip(run.result)) {
      opts.hooks?.log?.warn({ collector: name, plugin: run.plugin, kind: run.kind, result: run.result, err: run.error }, 'probe run failed')
    }
    emitRun(ctx, run)
    return run
  }

  const ends = (p: ProbePair): { client: string, server: string } => ({ client: `${p.client.namespace}/${p.client.pod}`, server: `${p.server.namespace}/${p.server.pod} ${p.server.ip}:${opts.port}` })

  const runIperf3 = async (ctx: CollectorContext, pair: ProbePair): Promise<ProbeRun> => {
    const k = keptOf(pair.plugin)
    const now = ctx.now()
    const reverse = opts.iperf3.bothDirections === true && k.reverseNext
    const lastBps = reverse ? (k.lastBpsRx ?? k.lastBps) : k.lastBps
    const plan = budget.plan({
      plugin: pair.plugin, nowMs: now, plugins: Math.max(1, discovery?.pairs.length ?? opts.plugins.length),
      ...(lastBps !== undefined ? { lastBps } : {}),
      durationSeconds: opts.iperf3.durationSeconds, omitSeconds: opts.iperf3.omitSeconds, intervalMs: opts.iperf3.intervalMs, jitterRatio: opts.iperf3.jitterRatio,
    })
    if (!plan.run) return record(ctx, { plugin: pair.plugin, kind: 'iperf3', result: 'skipped-budget', atMs: now, ...ends(pair), error: plan.why })
    const r: Iperf3ProbeResult = await (opts.runners?.iperf3 ?? runIperf3Probe)({
      netnsPath: pair.client.netns, host: pair.server.ip, port: opts.port,
      durationSeconds: opts.iperf3.durationSeconds, omitSeconds: opts.iperf3.omitSeconds, timeoutMs: opts.iperf3.timeoutMs,
      ...(plan.by === 'bytes' ? { bytes: plan.bytes } : {}),
      ...(reverse ? { reverse: true } : {}),
      ...(opts.iperf3Binary !== undefined ? { iperf3: opts.iperf3Binary } : {}),
      signal: stopping.signal,
    })
    const atMs = ctx.now()
    // killed by stop(): not a measurement, so neither a sample nor a failure
    if (stopping.signal.aborted) return { plugin: pair.plugin, kind: 'iperf3', result: 'error', atMs, ...ends(pair), error: 'stopped' }
    // a killed run printed nothing, but it sent up to what was planned
    budget.record(r.result === 'timeout' ? Math.max(r.bytes, plan.plannedBytes) : r.bytes, atMs, pair.plugin)
    let measured: number | undefined = r.result === 'ok' && r.throughputBps !== undefined && r.throughputBps > 0 ? r.throughputBps : undefined
    if (r.result === 'timeout' && plan.by === 'bytes') {
      // the link is slower than bytes in timeoutMs: the next run is sized to that at most
      const bound = plan.bytes * 8 / (opts.iperf3.timeoutMs / 1000)
      measured = Math.min(lastBps ?? bound, bound)
    }
    if (measured !== undefined) { if (reverse) k.lastBpsRx = measured; else k.lastBps = measured }
    // the directions take turns run by run (a busy server's run is tried again in the same direction)
    if (opts.iperf3.bothDirections === true && r.result !== 'busy') k.reverseNext = !reverse
    if (r.missingBinary) ctx.reportError(name, new Error(r.error ?? 'iperf3 cannot run'))
    const base = { plugin: pair.plugin, kind: 'iperf3' as const, atMs, ...ends(pair), bytes: r.bytes, sizedBy: plan.by, direction: reverse ? 'rx' as const : 'tx' as const }
    if (r.result === 'busy') {
      // another agent's client holds the server: not a failure of the network, tried again later
      return record(ctx, { ...base, result: 'skipped-busy', error: r.error ?? 'server is busy' })
    }
    push(k.outcomes, r.result !== 'ok')
    if (r.result === 'ok' && r.throughputBps !== undefined && !reverse) push(k.throughput, r.throughputBps)
    const run: ProbeRun = { ...base, result: r.result }
    if (r.throughputBps !== undefined) run.throughputBps = r.throughputBps
    if (r.rttSeconds !== undefined) run.rttSeconds = r.rttSeconds
    if (r.error !== undefined) run.error = r.error
    if (!r.missingBinary) ctx.reportSuccess(name, atMs)
    return record(ctx, run)
  }

  // ICMP first (the kernel's timestamps); TCP connect only where ping cannot run or gets no
  // reply (ICMP filtered), and the run says so. Undefined: fall back.
  const runPing = async (ctx: CollectorContext, pair: ProbePair): Promise<{ run?: ProbeRun, why: string }> => {
    const r = await (opts.runners?.ping ?? runPingProbe)({
      netnsPath: pair.client.netns, host: pair.server.ip, count: opts.rtt.pingCount ?? 20, intervalMs: opts.rtt.pingIntervalMs ?? 50, signal: stopping.signal,
    })
    const atMs = ctx.now()
    if (stopping.signal.aborted) return { run: { plugin: pair.plugin, kind: 'rtt', result: 'error', atMs, ...ends(pair), error: 'stopped' }, why: 'stopped' }
    if (r.missingBinary) {
      if (!pingMissingSaid) ctx.reportError(name, new Error(`${r.error ?? 'ping cannot run'}: idle RTT falls back to TCP connect (install iputils-ping)`))
      pingMissingSaid = true
      return { why: r.error ?? 'ping cannot run' }
    }
    if (!r.ok || r.p50Seconds === undefined) return { why: r.error ?? 'no echo reply' }
    for (const s of r.rttSeconds) opts.hooks?.probeRtt?.(pair.plugin, s)
    push(keptOf(pair.plugin).outcomes, false)
    push(keptOf(pair.plugin).rtt, r.p50Seconds)
    ctx.reportSuccess(name, atMs)
    const run: ProbeRun = { plugin: pair.plugin, kind: 'rtt', result: 'ok', atMs, ...ends(pair), rttSeconds: r.p50Seconds, rttMethod: 'icmp' }
    if (r.p99Seconds !== undefined) run.rttP99Seconds = r.p99Seconds
    return { run, why: 'ok' }
  }

  const runRtt = async (ctx: CollectorContext, pair: ProbePair): Promise<ProbeRun> => {
    let icmpWhy: string | undefined
    if ((opts.rtt.method ?? 'icmp') === 'icmp') {
      const p = await runPing(ctx, pair)
      if (p.run !== undefined) return p.run.error === 'stopped' ? p.run : record(ctx, p.run)
      icmpWhy = p.why
    }
    const k = keptOf(pair.plugin)
    let run: ProbeRun
    try {
      const r = await (opts.runners?.rtt ?? runTcpRttProbe)({ netnsPath: pair.client.netns, host: pair.server.ip, port: opts.port, count: opts.rtt.count, connectTimeoutMs: opts.rtt.connectTimeoutMs, signal: stopping.signal })
      const atMs = ctx.now()
      if (stopping.signal.aborted) return { plugin: pair.plugin, kind: 'rtt', result: 'error', atMs, ...ends(pair), error: 'stopped' }
      for (const s of r.rttSeconds) opts.hooks?.probeRtt?.(pair.plugin, s)
      push(k.outcomes, !r.ok)
      if (r.ok && r.medianSeconds !== undefined) push(k.rtt, r.medianSeconds)
      run = { plugin: pair.plugin, kind: 'rtt', result: r.ok ? 'ok' : (r.error?.startsWith('probe killed') === true ? 'timeout' : 'error'), atMs, ...ends(pair), rttMethod: 'tcp-connect' }
      if (r.medianSeconds !== undefined) run.rttSeconds = r.medianSeconds
      const errors = [icmpWhy !== undefined ? `icmp: ${icmpWhy}` : undefined, r.error].filter((e): e is string => e !== undefined)
      if (errors.length > 0) run.error = errors.join('; ')
      ctx.reportSuccess(name, atMs)
    } catch (err) {
      // the probe program could not be started at all: a collector problem
      ctx.reportError(name, err)
      push(k.outcomes, true)
      run = { plugin: pair.plugin, kind: 'rtt', result: 'error', atMs: ctx.now(), ...ends(pair), error: errorText(err) }
    }
    return record(ctx, run)
  }

  // TCP_RR: the floor over loopback, then the peer; a missing sockperf is a collector problem and a failed run.
  const runTcpRr = async (ctx: CollectorContext, pair: ProbePair, rr: NonNullable<typeof tcpRr>): Promise<ProbeRun> => {
    const r = await (opts.runners?.tcpRr ?? runTcpRrProbe)({ netnsPath: pair.client.netns, host: pair.server.ip, port: rr.port, seconds: rr.seconds, ratePerSecond: rr.ratePerSecond, signal: stopping.signal })
    const atMs = ctx.now()
    const where = { client: `${pair.client.namespace}/${pair.client.pod}`, server: `${pair.server.namespace}/${pair.server.pod} ${pair.server.ip}:${rr.port}` }
    if (stopping.signal.aborted) return { plugin: pair.plugin, kind: 'tcp-rr', result: 'error', atMs, ...where, error: 'stopped' }
    if (r.missingBinary) {
      sockperfMissing = true
      ctx.reportError(name, new Error(`${r.error ?? 'sockperf cannot run'}: TCP_RR probes stop, no responseTimeSeconds (install sockperf)`))
    } else {
      push(keptOf(pair.plugin).outcomes, !r.ok)
      ctx.reportSuccess(name, atMs)
    }
    const run: ProbeRun = { plugin: pair.plugin, kind: 'tcp-rr', result: r.ok ? 'ok' : (r.error?.includes('killed after') === true ? 'timeout' : 'error'), atMs, ...where }
    if (r.responseSeconds !== undefined) run.responseSeconds = r.responseSeconds
    if (r.peerP50Seconds !== undefined) run.rttSeconds = r.peerP50Seconds
    if (r.peerP99Seconds !== undefined) run.rttP99Seconds = r.peerP99Seconds
    if (r.floorP50Seconds !== undefined) run.floorSeconds = r.floorP50Seconds
    if (r.error !== undefined) run.error = r.error
    return record(ctx, run)
  }

  // Queue one probe of a plugin unless one of the same kind is already waiting.
  const enqueue = async (ctx: CollectorContext, plugin: string, kind: ProbeKind): Promise<ProbeRun | undefined> => {
    const key = `${plugin}\u0000${kind}`
    if (pendingJobs.has(key)) return undefined
    pendingJobs.add(key)
    try {
      return await queue.run(async () => {
        // discovery at run time: pods may have come or gone while the job waited
        const d = await discover(ctx)
        const pair = d?.pairs.find((p) => p.plugin === plugin)
        if (pair === undefined) return undefined
        if (kind === 'tcp-rr') return tcpRr === undefined || sockperfMissing ? undefined : await runTcpRr(ctx, pair, tcpRr)
        return kind === 'iperf3' ? await runIperf3(ctx, pair) : await runRtt(ctx, pair)
      })
    } finally {
      pendingJobs.delete(key)
    }
  }

  // A busy server (another agent's client) is tried once more a few seconds later.
  const iperf3WithRetry = async (ctx: CollectorContext, plugin: string): Promise<void> => {
    const run = await enqueue(ctx, plugin, 'iperf3')
    if (run?.result !== 'skipped-busy') return
    try {
      await sleep(BUSY_RETRY_MS * (1 + random()), undefined, { signal: stopping.signal })
    } catch {
      return // stopped
    }
    await enqueue(ctx, plugin, 'iperf3')
  }

  const collectOnce = async (ctx: CollectorContext): Promise<void> => {
    ctxRef = ctx
    recent = []
    const d = await discover(ctx)
    if (d === undefined) return
    for (const g of d.gaps) opts.hooks?.log?.info({ collector: name, plugin: g.plugin, why: g.why }, 'plugin not probed')
    const jobs: Array<Promise<unknown>> = []
    for (const p of d.pairs) {
      jobs.push(enqueue(ctx, p.plugin, 'rtt'))
      jobs.push(enqueue(ctx, p.plugin, 'iperf3'))
      if (tcpRr !== undefined) jobs.push(enqueue(ctx, p.plugin, 'tcp-rr'))
    }
    await Promise.all(jobs)
    if (d.pairs.length === 0) ctx.reportSuccess(name, ctx.now())
  }

  return {
    name,
    report: () => ({
      discovery,
      runs: [...recent],
      plugins: opts.plugins.map(stateOf),
      budget: { spentBytes: budget.spent(ctxRef?.now() ?? Date.now()), maxBytes: opts.budget.maxBytes, windowMs: opts.budget.windowMs },
    }),
    collectOnce,
    start (ctx) {
      if (loops.length > 0) return
      ctxRef = ctx
      if (stopping.signal.aborted) stopping = new AbortController()
      const onError = (err: unknown): void => ctx.reportError(name, err)
      const later: Array<{ loop: CollectorLoop, firstDelayMs: number }> = []
      for (const plugin of opts.plugins) {
        loops.push(collectorLoop(() => jitteredDelayMs(opts.rtt.intervalMs, opts.iperf3.jitterRatio, random()), async () => { await enqueue(ctx, plugin, 'rtt') }, onError))
        loops.push(collectorLoop(() => jitteredDelayMs(opts.iperf3.intervalMs, opts.iperf3.jitterRatio, random()), async () => { await iperf3WithRetry(ctx, plugin) }, onError))
        const rr = tcpRr
        // TCP_RR's first run somewhere in its first interval: the first capacities and RTTs (what ranking needs) go first
        if (rr !== undefined) later.push({ loop: collectorLoop(() => jitteredDelayMs(rr.intervalMs, opts.iperf3.jitterRatio, random()), async () => { await enqueue(ctx, plugin, 'tcp-rr') }, onError), firstDelayMs: random() * rr.intervalMs })
      }
      // the agent is ready after one round; discovery says so even when nothing is probed
      void discover(ctx).then((d) => { if (d !== undefined && d.pairs.length === 0) ctx.reportSuccess(name, ctx.now()) })
      for (const l of loops) l.start()
      for (const l of later) { loops.push(l.loop); l.loop.start(l.firstDelayMs) }
    },
    async stop () {
      const l = loops
      loops = []
      stopping.abort()
      await Promise.all(l.map(async (x) => { await x.stop() }))
    },
  }
}
