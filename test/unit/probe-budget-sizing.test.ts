// Probes sized to the budget, never locked out. Before, a run was allowed only if the
// previous run's bytes fit the hourly budget: a 3 s run above ~5.7 Gbit/s exceeds the
// default 2 GiB/h and never ran again (a 25 Gbit/s network got 1 run in 4 hours). Now each
// run is sized (by time, or by bytes with -n) from the link's last measured speed to an
// equal share of the window per plugin, spread over the runs the window holds.
import t from 'tap'
import { MIN_RUN_BYTES, ProbeBudget } from '../../collectors/probes/probe-budget.js'
import type { Iperf3Plan } from '../../collectors/probes/probe-budget.js'
import { iperf3Argv } from '../../collectors/probes/iperf3-probe.js'
import { createProbesCollector } from '../../collectors/probes/probes-collector.js'
import type { AttachmentRecordsSource, RecordedAttachment } from '../../collectors/attachment-records-source.js'
import type { KubeCache, PodObject } from '../../collectors/kube-watch.js'
import type { CollectorContext } from '../../collectors/types.js'
import type { Iperf3ProbeOptions, Iperf3ProbeResult } from '../../collectors/probes/iperf3-probe.js'
import type { TcpRttProbeResult } from '../../collectors/probes/tcp-rtt-probe.js'
import { parseConfig } from '../../agent/config/load-config.js'

const HOUR = 3_600_000
const defaults = parseConfig({ plugins: [{ name: 'p' }] }).collectors.probes

/** A deterministic [0, 1) sequence (jitter). */
function lcg (seed: number): () => number {
  let x = seed >>> 0
  return () => { x = (Math.imul(x, 1664525) + 1013904223) >>> 0; return x / 2 ** 32 }
}

/** What a run by this plan moves on a link of `bps`: a time run its seconds, a bytes run its bytes, headers on top. */
function wire (plan: Iperf3Plan, bps: number): number {
  if (!plan.run) return 0
  return (plan.by === 'time' ? bps * (plan.durationSeconds + plan.omitSeconds) / 8 : plan.bytes) * 1.04
}

interface Sim { runs: Map<string, number[]>, skips: number, spent: Array<{ atMs: number, bytes: number, plugin: string }> }

/** Simulates `hours` of the default schedule (60 s ± 20 %) for plugins on links of the given speeds. */
function simulate (speeds: Record<string, number>, hours: number, o: { maxBytes?: number, durationSeconds?: number } = {}): Sim {
  const maxBytes = o.maxBytes ?? defaults.budget.maxBytes
  const budget = new ProbeBudget({ maxBytes, windowMs: defaults.budget.windowMs })
  const random = lcg(7)
  const plugins = Object.keys(speeds)
  const next = new Map(plugins.map((p, i) => [p, i * 1000]))
  const last = new Map<string, number>()
  const sim: Sim = { runs: new Map(plugins.map((p) => [p, []])), skips: 0, spent: [] }
  for (;;) {
    const [plugin, at] = [...next].sort((a, b) => a[1] - b[1])[0] as [string, number]
    if (at > hours * HOUR) break
    const lastBps = last.get(plugin)
    const plan = budget.plan({
      plugin, nowMs: at, plugins: plugins.length, ...(lastBps !== undefined ? { lastBps } : {}),
      durationSeconds: o.durationSeconds ?? defaults.iperf3.durationSeconds, omitSeconds: defaults.iperf3.omitSeconds,
      intervalMs: defaults.iperf3.intervalMs, jitterRatio: defaults.iperf3.jitterRatio,
    })
    if (plan.run) {
      const bytes = wire(plan, speeds[plugin] as number)
      const end = at + Math.round(bytes * 8 / (speeds[plugin] as number) * 1000)
      budget.record(bytes, end, plugin)
      sim.spent.push({ atMs: end, bytes, plugin })
      sim.runs.get(plugin)?.push(at)
      last.set(plugin, speeds[plugin] as number)
    } else {
      sim.skips++
    }
    next.set(plugin, at + defaults.iperf3.intervalMs * (1 - defaults.iperf3.jitterRatio + 2 * defaults.iperf3.jitterRatio * random()))
  }
  return sim
}

/** The most bytes inside any window of windowMs (by one plugin when given). */
function maxInWindow (spent: Sim['spent'], windowMs: number, plugin?: string): number {
  const s = spent.filter((x) => plugin === undefined || x.plugin === plugin)
  let max = 0
  for (const end of s) {
    let sum = 0
    for (const x of s) if (x.atMs > end.atMs - windowMs && x.atMs <= end.atMs) sum += x.bytes
    max = Math.max(max, sum)
  }
  return max
}

const maxGap = (at: number[]): number => Math.max(...at.slice(1).map((a, i) => a - (at[i] as number)))

t.test('a 25 Gbit/s link under the default 2 GiB/h runs at least once per interval for 4 hours, within the budget', async t => {
  const sim = simulate({ fast: 25e9 }, 4)
  const runs = sim.runs.get('fast') ?? []
  t.equal(sim.skips, 0, 'no run skipped')
  t.ok(runs.length >= 4 * 60 * 0.8, `${runs.length} runs in 4 h (was 1)`)
  t.ok(maxGap(runs) <= defaults.iperf3.intervalMs * (1 + defaults.iperf3.jitterRatio), `the longest gap ${maxGap(runs)} ms is one jittered interval`)
  const peak = maxInWindow(sim.spent, HOUR)
  t.ok(peak <= defaults.budget.maxBytes, `at most ${(peak / 2 ** 30).toFixed(2)} GiB in any hour (budget 2 GiB)`)
  t.comment(`25 Gbit/s: ${runs.length} runs, ${(peak / 2 ** 30).toFixed(2)} GiB in the busiest hour`)
})

t.test('three plugins share the budget fairly, each run every interval, the total within the budget', async t => {
  const speeds = { slow: 1e9, mid: 10e9, fast: 25e9 }
  const sim = simulate(speeds, 4)
  t.equal(sim.skips, 0)
  const share = defaults.budget.maxBytes / 3
  const perPlugin = Object.keys(speeds).map((p) => maxInWindow(sim.spent, HOUR, p))
  for (const [i, p] of Object.keys(speeds).entries()) {
    const at = sim.runs.get(p) ?? []
    t.ok(maxGap(at) <= defaults.iperf3.intervalMs * 1.2, `${p}: runs every interval (${at.length} runs)`)
    t.ok((perPlugin[i] as number) <= share, `${p}: ≤ its third of the budget (${((perPlugin[i] as number) / 2 ** 20).toFixed(0)} MiB)`)
  }
  t.ok(maxInWindow(sim.spent, HOUR) <= defaults.budget.maxBytes, 'the total within the budget')
  // the fast links take a whole share each; none takes more than another's share
  t.ok(Math.max(...perPlugin) / Math.min(...perPlugin) <= 1.05, `fast links do not crowd out the others (${perPlugin.map((b) => (b / 2 ** 20).toFixed(0)).join(', ')} MiB)`)
})

t.test('a slow link whose whole run fits its share runs by time, with -t and -O', async t => {
  const b = new ProbeBudget({ maxBytes: defaults.budget.maxBytes, windowMs: HOUR })
  const plan = b.plan({ plugin: 'p', nowMs: 0, plugins: 1, lastBps: 20e6, durationSeconds: 2, omitSeconds: 1, intervalMs: 60_000, jitterRatio: 0.2 })
  t.match(plan, { run: true, by: 'time', durationSeconds: 2, omitSeconds: 1 })
  const first = b.plan({ plugin: 'p', nowMs: 0, plugins: 1, durationSeconds: 2, omitSeconds: 1, intervalMs: 60_000, jitterRatio: 0.2 })
  t.match(first, { run: true, by: 'bytes' }, 'an unmeasured link is sized by bytes: its speed is unknown')
  t.ok(first.run && first.by === 'bytes' && first.bytes * 1.1 <= defaults.budget.maxBytes / 75, 'one per-run share of the budget')
  t.same(iperf3Argv({ netnsPath: '/x', host: '10.0.0.2', port: 5201, durationSeconds: 2, omitSeconds: 1, timeoutMs: 9000, bytes: 1234.4 }),
    ['iperf3', '-c', '10.0.0.2', '-p', '5201', '-n', '1234', '-J', '--connect-timeout', '3000'], 'a bytes run has -n and no -t/-O (iperf3 takes one end condition)')
})

t.test('when the room is small the run shrinks to it; below the minimum it is skipped and retried once the window slides', async t => {
  const b = new ProbeBudget({ maxBytes: 100 * 2 ** 20, windowMs: HOUR })
  const input = { plugin: 'p', nowMs: 0, plugins: 1, lastBps: 25e9, durationSeconds: 2, omitSeconds: 1, intervalMs: 3 * HOUR, jitterRatio: 0 }
  const whole = b.plan(input)
  t.match(whole, { run: true, by: 'bytes' })
  b.record(95 * 2 ** 20, 1000, 'p')
  const small = b.plan({ ...input, nowMs: 2000 })
  t.ok(small.run && small.by === 'bytes' && small.bytes < 5 * 2 ** 20 && small.bytes >= MIN_RUN_BYTES, 'shrunk to the room left')
  b.record(5 * 2 ** 20, 3000, 'p')
  t.match(b.plan({ ...input, nowMs: 4000 }), { run: false, why: /of p's share .* spent in the last 3600000 ms/ })
  t.match(b.plan({ ...input, nowMs: 3000 + HOUR }), { run: true }, 'the window slid: runs again')
})

// The collector with fake runners: what it asks iperf3 for, and how busy servers and timeouts count.
const LABEL = 'netrank.io/probe'
const pods: PodObject[] = ['a', 'b'].map((n) => ({ metadata: { namespace: 'probes', name: `probe-${n}`, labels: { [LABEL]: 'net' } }, spec: { nodeName: 'n1' } }))
const cache: KubeCache<PodObject> = { list: () => pods, synced: true, lastError: undefined, start: async () => {}, stop: async () => {} }
const rec = (pod: string, ip: string): RecordedAttachment => ({ namespace: 'probes', pod, podUid: undefined, containerId: `c-${pod}`, network: 'net', ifname: 'eth0', netns: `/var/run/netns/${pod}`, ip, state: 'added' })
const records = { read: () => ({ atMs: 0, records: [], skipped: [], attachments: [rec('probe-a', '10.0.0.2'), rec('probe-b', '10.0.0.3')] }) } as unknown as AttachmentRecordsSource
const okRtt = (): TcpRttProbeResult => ({ ok: true, rttSeconds: [0.0005], medianSeconds: 0.0005, spreadSeconds: 0, failures: 0 })

t.test('the collector sizes runs from the last speed; a busy server is skipped-busy, not a failure; a killed bytes run bounds the next', async t => {
  let nowMs = 1_700_000_000_000
  const asked: Iperf3ProbeOptions[] = []
  const answers: Iperf3ProbeResult[] = [
    { result: 'ok', throughputBps: 25e9, bytes: 20e6, missingBinary: false, durationMs: 7 },
    { result: 'busy', bytes: 0, missingBinary: false, durationMs: 2, error: 'the server is busy running a test. try again later' },
    { result: 'timeout', bytes: 0, missingBinary: false, durationMs: 10_000, error: 'iperf3 killed after 10000 ms' },
    { result: 'ok', throughputBps: 15e6, bytes: 5.6e6, missingBinary: false, durationMs: 3000 },
  ]
  const results: string[] = []
  const ratios: number[] = []
  const ctx: CollectorContext = {
    node: 'n1', now: () => nowMs, reportSuccess: () => undefined, reportError: (_n, e) => { throw e },
    emit: (s) => { for (const x of s) if (x.kpi === 'probeFailureRatio') ratios.push(x.value); return 0 },
  }
  const c = createProbesCollector({
    node: 'n1', plugins: ['net'], podLabel: LABEL, port: 5201,
    iperf3: { ...defaults.iperf3, bothDirections: false, timeoutMs: 10_000 }, rtt: { intervalMs: 10_000, count: 1, connectTimeoutMs: 1000, method: 'tcp-connect' },
    budget: defaults.budget, samples: 5, records, probePods: async () => cache,
    hooks: { probeRun: (_p, r) => { results.push(r) } },
    runners: { iperf3: async (o) => { asked.push(o); nowMs += 1000; return answers.shift() as Iperf3ProbeResult }, rtt: async () => okRtt() },
  })
  for (let i = 0; i < 4; i++) { await c.collectOnce(ctx); nowMs += 60_000 }
  t.same(results, ['ok', 'ok', 'ok', 'skipped-busy', 'ok', 'timeout', 'ok', 'ok'], 'the busy server is its own named result')
  t.ok(asked[0]?.bytes !== undefined && asked[0].bytes * 1.1 <= defaults.budget.maxBytes / 75, `the first run is sized by bytes (${asked[0]?.bytes})`)
  t.ok(asked[1]?.bytes !== undefined, 'at 25 Gbit/s a whole 3 s run does not fit: by bytes again')
  t.same(c.report().runs.filter((r) => r.kind === 'iperf3').map((r) => [r.result, r.sizedBy]), [['ok', 'time']], 'the run says how it was sized')
  // after the killed bytes run: the link is slower than 28 MB in 10 s, so the whole run by time fits
  t.match(asked[3], { durationSeconds: defaults.iperf3.durationSeconds, omitSeconds: defaults.iperf3.omitSeconds })
  t.equal(asked[3]?.bytes, undefined, 'sized by time after the timeout bounded the speed')
  t.same(ratios, [0, 0, 0, 0, 1 / 5, 1 / 5, 1 / 5], 'busy is not a failure (no run, no ratio); the timeout is, over the last 5 runs')
  t.ok(c.report().budget.spentBytes >= 20e6 + (asked[2]?.bytes ?? 0), 'the killed run is charged what it was allowed to send')
})
