// Probe bytes per node per hour at the defaults (issue 11): real iperf3 runs, sized by the
// agent's own planner (ProbeBudget.plan) at the default settings, and real ping runs, between
// two network namespaces on an unshaped veth pair (the fastest link this machine has, where
// the old rule locked probes out); the bytes are the veth's own counters. The planner's
// clock advances one default interval per run; the runs themselves are real.
// Baseline, same run: the old rule's run (a whole -t 2 -O 1 run, allowed only while the
// previous run's bytes fit the hourly budget).
import { execFileSync, spawn } from 'node:child_process'
import { setTimeout as sleep } from 'node:timers/promises'
import { pathToFileURL } from 'node:url'
import { median } from 'simple-statistics'
import { parseConfig } from '../agent/config/load-config.js'
import { ProbeBudget } from '../collectors/probes/probe-budget.js'
import { runIperf3Probe } from '../collectors/probes/iperf3-probe.js'
import { runPingProbe } from '../collectors/probes/ping-probe.js'
import type { BenchRun } from './types.js'

const NS_C = 'nrpb-c'
const NS_S = 'nrpb-s'
const IF_C = 'nrpbc0'
const IF_S = 'nrpbs0'
const IP_S = '10.253.77.2'
const PORT = 5299
const RUNS = 6

const ip = (...args: string[]): void => { execFileSync('ip', args, { stdio: 'ignore' }) }
const wireBytes = (): number => {
  const read = (f: string): number => Number(execFileSync('ip', ['netns', 'exec', NS_C, 'cat', `/sys/class/net/${IF_C}/statistics/${f}`], { encoding: 'utf8' }).trim())
  return read('rx_bytes') + read('tx_bytes')
}
const gib = (b: number): string => `${(b / 2 ** 30).toFixed(2)} GiB`
const mib = (b: number): string => `${(b / 2 ** 20).toFixed(1)} MiB`

function teardown (): void {
  for (const ns of [NS_C, NS_S]) {
    try { ip('netns', 'delete', ns) } catch { /* not there */ }
  }
}

export const run: BenchRun = async () => {
  const defaults = parseConfig({ plugins: [{ name: 'p' }] }).collectors.probes
  teardown()
  ip('netns', 'add', NS_C)
  ip('netns', 'add', NS_S)
  const server = spawn('ip', ['netns', 'exec', NS_S, 'iperf3', '-s', '-p', String(PORT)], { stdio: 'ignore' })
  try {
    ip('link', 'add', IF_C, 'netns', NS_C, 'type', 'veth', 'peer', 'name', IF_S, 'netns', NS_S)
    ip('-n', NS_C, 'addr', 'add', '10.253.77.1/30', 'dev', IF_C)
    ip('-n', NS_S, 'addr', 'add', `${IP_S}/30`, 'dev', IF_S)
    for (const [ns, dev] of [[NS_C, IF_C], [NS_S, IF_S], [NS_C, 'lo'], [NS_S, 'lo']] as const) ip('-n', ns, 'link', 'set', dev, 'up')
    await sleep(500) // iperf3 -s listening
    const netnsPath = `/var/run/netns/${NS_C}`
    const probe = defaults.iperf3

    // one measured run as the agent would start it, bytes from the veth counters
    const measure = async (o: { bytes?: number }): Promise<{ wire: number, bps: number | undefined, result: string }> => {
      const before = wireBytes()
      const r = await runIperf3Probe({ netnsPath, host: IP_S, port: PORT, durationSeconds: probe.durationSeconds, omitSeconds: probe.omitSeconds, timeoutMs: probe.timeoutMs, ...o })
      await sleep(50)
      return { wire: wireBytes() - before, bps: r.throughputBps, result: r.result }
    }

    // baseline: the old rule's whole run
    const old = await measure({})
    // the planner, for 1 and for 3 plugins sharing the default budget
    const scenarios: Array<{ plugins: number, perRun: number, sizedBy: string, runs: number, bps: number }> = []
    for (const plugins of [1, 3]) {
      const budget = new ProbeBudget(defaults.budget)
      let lastBps: number | undefined
      const wires: number[] = []
      let by = ''
      let runs = 0
      for (let i = 0; i < RUNS; i++) {
        const nowMs = i * probe.intervalMs
        const plan = budget.plan({ plugin: 'p', nowMs, plugins, ...(lastBps !== undefined ? { lastBps } : {}), durationSeconds: probe.durationSeconds, omitSeconds: probe.omitSeconds, intervalMs: probe.intervalMs, jitterRatio: probe.jitterRatio })
        if (!plan.run) continue
        const m = await measure(plan.by === 'bytes' ? { bytes: plan.bytes } : {})
        if (m.result !== 'ok') throw new Error(`iperf3 run ${i} ended ${m.result}`)
        budget.record(m.wire, nowMs, 'p')
        if (m.bps !== undefined) lastBps = m.bps
        runs++
        if (i > 0) { wires.push(m.wire); by = plan.by } // the first run (≤ 8 MiB, unmeasured link) is not steady state
      }
      scenarios.push({ plugins, perRun: median(wires), sizedBy: by, runs, bps: lastBps ?? 0 })
    }
    // the RTT probe: one real ping run at the defaults
    const beforePing = wireBytes()
    const ping = await runPingProbe({ netnsPath, host: IP_S, count: defaults.rtt.pingCount, intervalMs: defaults.rtt.pingIntervalMs })
    await sleep(50)
    const pingWire = wireBytes() - beforePing
    if (!ping.ok) throw new Error(`ping run failed: ${ping.error ?? '?'}`)

    const hourMs = 3_600_000
    const iperfRunsPerHour = hourMs / probe.intervalMs // the jitter is symmetric: 60 on average
    const pingRunsPerHour = hourMs / defaults.rtt.intervalMs
    const oldFits = old.wire <= defaults.budget.maxBytes
    const rows: string[] = []
    let met = true
    for (const s of scenarios) {
      const iperfHour = s.perRun * iperfRunsPerHour * s.plugins
      const pingHour = pingWire * pingRunsPerHour * s.plugins
      const within = iperfHour <= defaults.budget.maxBytes
      met &&= within && s.runs === RUNS
      rows.push(`| ${s.plugins} plugin(s) on this link | ${s.runs} of ${RUNS} | by ${s.sizedBy}, ${mib(s.perRun)} | ${gib(iperfHour)} | ${mib(pingHour)} | ${gib(iperfHour + pingHour)} | ${within ? 'yes' : 'NO'} |`)
    }
    const markdown = [
      `An unshaped veth pair between two network namespaces (real iperf3 at ${((scenarios[0]?.bps ?? 0) / 1e9).toFixed(1)} Gbit/s, real iputils ping); bytes are the veth's rx + tx counters.`,
      `Defaults: iperf3 every ${probe.intervalMs / 1000} s ± ${probe.jitterRatio * 100} % (${iperfRunsPerHour} runs/h), ping ${defaults.rtt.pingCount} × ${defaults.rtt.pingIntervalMs} ms every ${defaults.rtt.intervalMs / 1000} s (${pingRunsPerHour} runs/h), budget ${gib(defaults.budget.maxBytes)} per ${defaults.budget.windowMs / 60_000} min. Per-hour figures are the steady-state run (median of runs 2–${RUNS}) × runs per hour × plugins.`,
      '',
      '| Scenario | runs allowed | per iperf3 run | iperf3 per hour | ping per hour | per node per hour | within budget |',
      '|---|---:|---:|---:|---:|---:|:---:|',
      ...rows,
      `| baseline, same run: the old rule (a whole -t ${probe.durationSeconds} -O ${probe.omitSeconds} run) | ${oldFits ? 'while it fits' : '1, then none (one run > the hourly budget)'} | ${mib(old.wire)} | — | — | — | — |`,
      '',
      `One ping run moves ${pingWire} bytes (${ping.received} replies). Ratio of runs per hour, new / old rule on this link: ${oldFits ? `${iperfRunsPerHour} / ${Math.floor(defaults.budget.maxBytes / old.wire)}` : `${iperfRunsPerHour} / 0 after the first hour`}.`,
    ].join('\n')
    return { title: 'Probe bytes per node per hour at the defaults (unshaped veth)', command: 'node dist/bench/run.js probe-bytes', markdown, targetsMet: met }
  } finally {
    server.kill('SIGKILL')
    teardown()
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const s = await run()
  process.stdout.write(`${s.markdown}\n`)
}
