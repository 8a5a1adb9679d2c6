/**
 * `netrank lab demo`: `lab up`, then a narrated scenario on the real lab node with the live
 * ranking — the baseline once probes measured every network; bridge-fast saturated by real
 * iperf3 traffic and where `cni: ""` pods land then, and why; bridge-small filled until
 * host-local refuses and the selector calls it ineligible; the agent stopped and a pod still
 * networked by the shim's fallback; the agent back. Then it serves until SIGINT, SIGTERM,
 * SIGHUP or a closed stdout (or ends at once with `--once`) and always takes the lab down
 * on the way out (the signals and streams: lab/lab-shutdown.ts).
 */
import { performance } from 'node:perf_hooks'
import { setTimeout as delay } from 'node:timers/promises'
import { loadConfig } from '../agent/config/load-config.js'
import { agentGet } from '../cli/agent-client.js'
import type { DecisionRecord } from '../contract/decision-record.js'
import { formatRankTable } from '../cli/rank-table.js'
import type { RankAnswer } from '../cli/rank-table.js'
import { startAgent, stopAgent } from './lab-agent.js'
import { LAB_DEFAULTS } from './lab-defaults.js'
import { labDown } from './lab-down.js'
import { addPod, LabCniError } from './lab-pods.js'
import { Interrupted } from './lab-shutdown.js'
import type { LabPod } from './lab-state.js'
import { requireState } from './lab-state.js'
import { startTraffic, stopTraffic } from './lab-traffic.js'
import { labUp } from './lab-up.js'

const DEMO_DEFAULTS = Object.freeze({
  baselineWaitMs: 150_000, // 2.5 min for the first iperf3 probe of every network (one probe at a time, ~4 s each)
  reactWaitMs: 40_000, // 40 s for the ranking to show traffic or a full pool (collectors run every 2 s)
  pollMs: 1_000, // 1 s between /rank polls
  trafficSeconds: 900, // the saturating iperf3 runs until stopped (15 min at most)
  smartPods: 4, // `cni: ""` pods placed while bridge-fast is saturated
  fillMax: 20, // bridge-small has 13 addresses: more than 20 attempts means host-local never refused
  serveRefreshMs: 30_000, // 30 s between ranking tables while serving
})

/** Where the demo writes and how it ends. */
export interface DemoOptions {
  /** end after the scenario instead of serving until a signal */
  once: boolean
  /** never throws, also when the reader went away (lab/lab-shutdown.ts) */
  out: (text: string) => void
  /** aborted by a signal or a closed stdout: the demo stops waiting (and building), takes the lab down and returns */
  signal: AbortSignal
}

const interrupted = (signal: AbortSignal): Interrupted => signal.reason instanceof Interrupted ? signal.reason : new Interrupted('abort')

/** Waits ms; an interrupt (the signal) ends the wait with Interrupted. */
const sleep = async (ms: number, signal: AbortSignal): Promise<void> => {
  if (signal.aborted) throw interrupted(signal)
  await delay(ms, undefined, { signal }).catch((err: unknown) => {
    throw signal.aborted ? interrupted(signal) : err
  })
}

type Row = RankAnswer['plugins'][number] & { criteria?: Record<string, { score: number, weight: number, band: number, value?: number } | undefined> }
const row = (r: RankAnswer, plugin: string): Row | undefined => r.plugins.find((p) => p.plugin === plugin) as Row | undefined
const mbit = (bps: number | undefined): string => bps === undefined ? '-' : `${(bps / 1e6).toFixed(0)} Mbit/s`
const pctOf = (x: number | undefined): string => x === undefined ? '-' : `${(x * 100).toFixed(1)}%`

/** The demo in `dir`. Resolves with the exit code: 0 done (or stopped while serving), 1 a step failed, 130 interrupted. */
export async function labDemo (dir: string, o: DemoOptions): Promise<number> {
  const out = (s: string): void => { o.out(`${s}\n`) }
  const step = (n: number, title: string): void => { out(`\n━━ ${n}. ${title}`) }
  const say = (s: string): void => { out(`   ${s}`) }
  let up = false
  let code = 0
  try {
    await labUp(dir, (l) => { out(`[lab] ${l}`) }, o.signal)
    up = true
    const state = requireState(dir)
    const url = state.agent?.url ?? ''
    const rank = async (): Promise<RankAnswer> => await agentGet<RankAnswer>(url, '/rank')
    const table = (r: RankAnswer): void => { out(formatRankTable(r).trimEnd().split('\n').map((l) => `   ${l}`).join('\n')) }
    /** Polls /rank until `ok` holds and says how long that took; throws after `waitMs`. */
    const until = async (what: string, ok: (r: RankAnswer) => boolean, waitMs: number): Promise<RankAnswer> => {
      const t0 = Date.now()
      let last: RankAnswer | undefined
      while (Date.now() - t0 < waitMs) {
        last = await rank().catch(() => undefined)
        if (last !== undefined && ok(last)) {
          say(`(${what}: after ${((Date.now() - t0) / 1000).toFixed(0)} s)`)
          return last
        }
        await sleep(DEMO_DEFAULTS.pollMs, o.signal)
      }
      throw new Error(`${what}: not seen within ${waitMs / 1000} s`)
    }
    const decisions = async (ids: string[]): Promise<DecisionRecord[]> =>
      (await agentGet<{ decisions: DecisionRecord[] }>(url, '/v1/decisions?limit=1000')).decisions.filter((d) => ids.includes(d.decisionId))
    const place = async (name: string, annotations: Record<string, string>): Promise<LabPod> => await addPod(dir, { name, annotations })
    const landed = (p: LabPod): string => `${p.interfaces[0]?.network ?? '?'} ${p.interfaces[0]?.ips[0] ?? ''}`

    step(1, 'Baseline: four shaped networks, measured by the agent\'s probes')
    say('bridge-fast and bridge-wide are twins (1 Gbit/s each way, /24); bridge-capped runs at 200 Mbit/s;')
    say('bridge-small at 500 Mbit/s with a /28 pool of 13 addresses. Waiting until iperf3 and RTT probes have')
    say('measured every network (one probe at a time on the node, every 15–20 s per network) and the twins')
    say('lead, scoring alike (the probes\' own bytes are measurement, not traffic: docs/lab.md)…')
    const names = state.networks.map((n) => n.name)
    await until('every network measured', (r) => names.every((n) => {
      const k = row(r, n)?.kpis
      return k?.capacityBps !== undefined && k.latencySeconds !== undefined && k.ipOccupancy !== undefined
    }), DEMO_DEFAULTS.baselineWaitMs)
    const gap = (r: RankAnswer): number => Math.abs((row(r, 'bridge-fast')?.score ?? 0) - (row(r, 'bridge-wide')?.score ?? 1))
    const band = (await loadConfig(state.paths.agentConfig)).selector.tieBand
    const twinsLead = (r: RankAnswer): boolean => [r.plugins[0]?.plugin, r.plugins[1]?.plugin].sort().join() === 'bridge-fast,bridge-wide'
    const base = await until('the twins lead, within half the tieBand of each other', (r) => twinsLead(r) && gap(r) <= band / 2, DEMO_DEFAULTS.reactWaitMs * 2)
      .catch(async (err: unknown) => {
        if (err instanceof Interrupted) throw err
        const r = await rank()
        say(`(the twins still differ by ${gap(r).toFixed(3)}: the probes' bytes weigh on one more than the other; going on)`)
        return r
      })
    table(base)
    say(`capacity as measured: ${names.map((n) => `${n} ${mbit(row(base, n)?.kpis.capacityBps?.value)}`).join(', ')}`)

    step(2, 'Saturate bridge-fast with real traffic (iperf3 between two pods on it, ~1 Gbit/s = its cap)')
    const loadA = await place('load-a', { cni: 'bridge-fast' })
    const loadB = await place('load-b', { cni: 'bridge-fast' })
    say(`pods load-a (${landed(loadA)}) and load-b (${landed(loadB)}) on bridge-fast, explicitly`)
    const traffic = await startTraffic(dir, { from: 'load-a', to: 'load-b', seconds: DEMO_DEFAULTS.trafficSeconds, parallel: 1, background: true })
    say(`iperf3 load-a → load-b (${traffic.toAddress}:${traffic.port}) running in the background (client pid ${traffic.clientPid})`)
    say(`the cadvisor collector reads the pods' interface counters every ${LAB_DEFAULTS.agent.cadvisorIntervalMs / 1000} s (rates over ${LAB_DEFAULTS.agent.cadvisorWindowMs / 1000} s)…`)
    await sleep(2 * LAB_DEFAULTS.agent.cadvisorIntervalMs, o.signal)
    const busy = await until('bridge-fast shows the load', (r) => {
      const f = row(r, 'bridge-fast')
      return f !== undefined && (f.kpis.usageBps?.value ?? 0) > 0.8 * (f.kpis.capacityBps?.value ?? Infinity) && f.rank > (row(r, 'bridge-wide')?.rank ?? 0)
    }, DEMO_DEFAULTS.reactWaitMs)
    table(busy)
    const fast = row(busy, 'bridge-fast')
    const wide = row(busy, 'bridge-wide')
    say(`bridge-fast: rx ${mbit(fast?.kpis.rxBps?.value)} / tx ${mbit(fast?.kpis.txBps?.value)} (one flow between two of its pods: X each way, counted once)`)
    say(`against a capacity of ${mbit(fast?.kpis.capacityBps?.value)}: after one more pod, utilisation ${pctOf(fast?.predicted.rxUtilisation)} rx / ${pctOf(fast?.predicted.txUtilisation)} tx`)
    say(`(bridge-wide: ${pctOf(wide?.predicted.rxUtilisation)} rx / ${pctOf(wide?.predicted.txUtilisation)} tx)`)
    const terms = (p: Row | undefined): string => Object.entries(p?.criteria ?? {}).map(([k, v]) => `${k} ${(v?.score ?? 0).toFixed(3)}×${(v?.weight ?? 0).toFixed(2)}`).join(', ')
    say(`criteria (value function × weight) of bridge-fast: ${terms(fast)}`)
    say(`                                  of bridge-wide: ${terms(wide)}`)

    step(3, `Pods with cni: "" while bridge-fast is saturated`)
    const smart: LabPod[] = []
    for (let i = 1; i <= DEMO_DEFAULTS.smartPods; i++) {
      const p = await place(`smart-${i}`, { cni: '' })
      smart.push(p)
      say(`smart-${i} → ${landed(p)}   netrank.io/selection ${p.annotations['netrank.io/selection'] ?? '(none)'}`)
    }
    const ids = smart.map((p) => p.selection?.decisionId ?? '').filter((id) => id !== '')
    for (const d of await decisions(ids)) {
      say(`why ${d.pod} → ${d.plugin}: scores ${Object.entries(d.scores).map(([k, v]) => `${k} ${v.toFixed(3)}`).join(', ')}`)
      for (const b of d.because ?? []) say(`    ${b}`)
    }
    const onFast = smart.filter((p) => p.interfaces[0]?.network === 'bridge-fast').length
    say(`${smart.length - onFast} of ${smart.length} landed away from the saturated bridge-fast`)
    say('a pod that declares netrank.io/expected-bandwidth: 300M is ranked for its own demand (GET /v1/rank?expectedBandwidth=300M):')
    table(await agentGet<RankAnswer>(url, '/v1/rank?expectedBandwidth=300M'))
    const bulk = await place('bulk-1', { cni: '', 'netrank.io/expected-bandwidth': '300M' })
    say(`bulk-1 (300M each way) → ${landed(bulk)}`)
    for (const d of await decisions([bulk.selection?.decisionId ?? ''])) for (const b of d.because ?? []) say(`    ${b}`)
    const stopped = await stopTraffic(dir)
    say(`traffic stopped (${stopped} iperf3 process(es))`)

    step(4, 'Fill bridge-small (13 addresses, 2 held by its probe pods) with explicit pods until host-local refuses')
    let refused: LabCniError | undefined
    for (let i = 1; i <= DEMO_DEFAULTS.fillMax && refused === undefined; i++) {
      try {
        const p = await place(`small-${i}`, { cni: 'bridge-small' })
        say(`small-${i} → ${landed(p)}`)
      } catch (err) {
        if (!(err instanceof LabCniError)) throw err
        refused = err
        say(`small-${i}: ${err.message}`)
      }
    }
    if (refused === undefined) throw new Error(`bridge-small took ${DEMO_DEFAULTS.fillMax} pods: host-local never said it is full`)
    const full = await until('bridge-small reported ineligible', (r) => row(r, 'bridge-small')?.eligible === false, DEMO_DEFAULTS.reactWaitMs)
    table(full)
    for (const reason of row(full, 'bridge-small')?.reasons ?? []) say(`bridge-small: ${reason}`)
    const after = await place('after-full', { cni: '' })
    say(`after-full (cni: "") → ${landed(after)}: a full pool is never chosen`)

    step(5, 'Stop the agent: a cni: "" pod is still networked, by the shim\'s fallback')
    const pid = await stopAgent(dir)
    say(`agent stopped (pid ${pid ?? '?'})`)
    const t0 = performance.now()
    const fb = await place('fallback-1', { cni: '' })
    say(`fallback-1 → ${landed(fb)} in ${(performance.now() - t0).toFixed(0)} ms (the pod ADD, agent down)`)
    say(`netrank.io/selection ${fb.annotations['netrank.io/selection'] ?? '(none)'}: the node's default network, never a stranded pod`)

    step(6, 'Start the agent again (same config and port)')
    const agent = await startAgent(dir)
    say(`agent ${url} (pid ${agent.pid}); its decision audit carries on, its KPIs are measured afresh…`)
    table(await until('every network measured again', (r) => names.every((n) => row(r, n)?.kpis.capacityBps !== undefined), DEMO_DEFAULTS.baselineWaitMs))

    out('')
    say(`The agent serves: ${url}/rank · ${url}/v1/rank?profile=throughput · ${url}/v1/decisions · ${url}/v1/report?window=1h · ${url}/metrics`)
    say(`The lab: \`netrank lab status --dir ${dir}\`; \`netrank rank --url ${url}\` prints the table.`)
    if (o.once) {
      say('--once: taking the lab down')
      return 0
    }
    say('Ctrl-C (SIGINT), SIGTERM or SIGHUP ends the demo and takes the lab down.')
    try {
      for (;;) {
        await sleep(DEMO_DEFAULTS.serveRefreshMs, o.signal)
        const r = await rank().catch(() => undefined)
        if (r !== undefined) { out(''); table(r) }
      }
    } catch (err) {
      if (!(err instanceof Interrupted)) throw err
      out(`\n[demo] stopping (${err.by}): taking the lab down`)
      return 0
    }
  } catch (err) {
    if (err instanceof Interrupted || o.signal.aborted) {
      out(`\n[demo] ${interrupted(o.signal).message}: ${up ? 'taking the lab down' : '`up` cleaned up after itself'}`)
      code = 130
    } else {
      out(`\n[demo] failed: ${(err as Error).message}`)
      code = 1
    }
    return code
  } finally {
    // only a lab this demo brought up: a failed `up` cleaned up itself, and another lab is not ours
    if (up) {
      const r = await labDown(dir, (l) => { out(`[lab] ${l}`) })
      for (const p of r.problems) out(`[lab] down: ${p}`)
    }
  }
}
