// The end-to-end proof, driven only through the lab CLI and the agent's HTTP API,
// as root on a real lab node: real CNI plugins with tbf shaping, real iperf3 traffic and
// probes, the built shim and agent. Each scenario brings its own lab up and takes it down,
// then checks that nothing is left (e). The lab networks (lab/lab-defaults.ts): bridge-fast
// and bridge-wide 1 Gbit/s twins (/24), bridge-capped 200 Mbit/s, bridge-small 500 Mbit/s
// with a /28 (13 addresses). ONE lab per machine: the file holds the machine's lab lock.
import t, { type Test } from 'tap'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { loadConfig } from '../../agent/config/load-config.js'
import type { LabStatus } from '../../lab/lab-status.js'
import type { RankAnswer } from '../../cli/rank-table.js'
import { assertLabClean, firstIp, LAB_BUILD, labCli, labLogTail, labStatusJson, pidAlive } from '../support/lab-cli.js'
import type { LabRun } from '../support/lab-cli.js'
import { withLabLock } from '../support/lab-lock.js'
import { cniPluginDir, hostLocalAllocations, skip, skipUnlessRoot } from '../support/netns.js'
import { setTimeout as sleep } from 'node:timers/promises'
import { runPingProbe } from '../../collectors/probes/ping-probe.js'
import { netnsPath } from '../../lab/lab-kernel.js'

const BRIDGES = ['nrbr-fast', 'nrbr-wide', 'nrbr-capped', 'nrbr-small']
// every network probed first: one without a capacity yet scores on the pessimistic prior
const ALL = ['bridge-fast', 'bridge-wide', 'bridge-capped', 'bridge-small']
const SMALL_ADDRESSES = 13 // a /28 less network, broadcast and gateway
const RANK_WAIT_MS = 120_000 // 2 min at most for the first probe of every network (one probe at a time)

type Row = RankAnswer['plugins'][number] & { criteria: Record<string, { score: number, weight: number, band: number, value?: number } | undefined> }
interface PodJson { name: string, netns: string, interfaces: Array<{ network: string, ifname: string, ips: string[] }>, annotations: Record<string, string>, selection?: { plugins: string[], reason: string, decisionId?: string } }
interface Lab { dir: string, status: LabStatus, url: string, cadvisorIntervalMs: number, cadvisorWindowMs: number, selectorWindowMs: number, tieBand: number }


async function rank (url: string): Promise<RankAnswer> {
  const res = await fetch(`${url}/rank`, { signal: AbortSignal.timeout(5_000) })
  if (!res.ok) throw new Error(`/rank answered ${res.status}`)
  return await res.json() as RankAnswer
}

const row = (r: RankAnswer, plugin: string): Row => {
  const p = r.plugins.find((x) => x.plugin === plugin)
  if (p === undefined) throw new Error(`/rank has no ${plugin}: ${r.plugins.map((x) => x.plugin).join(', ')}`)
  return p as Row
}

/** Polls /rank until `ok`; throws with the last answer after `waitMs` (a bound, not a timed assertion). */
async function rankUntil (url: string, what: string, ok: (r: RankAnswer) => boolean, waitMs = RANK_WAIT_MS): Promise<RankAnswer> {
  const deadline = Date.now() + waitMs
  let last: RankAnswer | undefined
  while (Date.now() < deadline) {
    last = await rank(url).catch(() => undefined)
    if (last !== undefined && ok(last)) return last
    await sleep(500)
  }
  throw new Error(`${what}: not seen within ${waitMs / 1000} s; last /rank: ${JSON.stringify(last?.plugins.map((p) => ({ plugin: p.plugin, eligible: p.eligible, kpis: Object.keys(p.kpis) })))}`)
}

const measured = (...plugins: string[]) => (r: RankAnswer): boolean =>
  plugins.every((p) => { const k = row(r, p).kpis; return k.capacityBps !== undefined && !k.capacityBps.stale && k.usageBps !== undefined })

/** Runs `fn` over `items` with at most `width` at a time, results in item order. */
async function inBatches<T, R> (items: T[], width: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = []
  for (let i = 0; i < items.length; i += width) out.push(...await Promise.all(items.slice(i, i + width).map(fn)))
  return out
}

async function addPod (lab: Lab, name: string, cni: string, more: Record<string, string> = {}): Promise<{ run: LabRun, pod: PodJson | undefined }> {
  const extra = Object.entries(more).flatMap(([k, v]) => ['--annotation', `${k}=${v}`])
  const run = await labCli(lab.dir, ['pod', 'add', name, '--annotation', `cni=${cni}`, ...extra, '--json'])
  return { run, pod: run.code === 0 ? JSON.parse(run.stdout) as PodJson : undefined }
}

const networkOf = (p: PodJson | undefined): string => p?.interfaces[0]?.network ?? '(none)'

function countBy (keys: string[]): Record<string, number> {
  const c: Record<string, number> = {}
  for (const k of keys) c[k] = (c[k] ?? 0) + 1
  return c
}

const tally = (pods: Array<PodJson | undefined>): Record<string, number> => countBy(pods.map(networkOf))

/** One scenario on its own lab: up, `fn`, then down and (e) nothing left behind. */
async function scenario (t: Test, name: string, fn: (t: Test, lab: Lab) => Promise<void>): Promise<void> {
  await t.test(name, async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'nr-e2e-'))
    // one teardown, in this order: the lab down (also when the scenario failed), then its dir
    t.teardown(async () => {
      await labCli(dir, ['down'])
      rmSync(dir, { recursive: true, force: true })
    })
    const up = await labCli(dir, ['up'])
    if (up.code !== 0) t.fail(`lab up failed (exit ${up.code}):\n${up.stdout}\n${up.stderr}\n${labLogTail(dir, 'agent.log')}`)
    if (up.code !== 0) return
    const status = await labStatusJson(dir)
    // the config as the agent reads it: the lab's file with the schema's defaults filled in
    const agentConfig = await loadConfig(status.agentConfig)
    const lab: Lab = { dir, status, url: status.agentUrl ?? '', cadvisorIntervalMs: agentConfig.collectors.cadvisor.intervalMs, cadvisorWindowMs: agentConfig.collectors.cadvisor.windowMs, selectorWindowMs: agentConfig.selector.windowMs, tieBand: agentConfig.selector.tieBand }
    try {
      await fn(t, lab)
    } finally {
      // (e) after every scenario: down leaves no netns, link, reservation or process
      const before = await labStatusJson(dir).catch(() => undefined)
      const down = await labCli(dir, ['down'])
      t.equal(down.code, 0, `lab down succeeds ${down.stderr}`)
      assertLabClean(t, dir, before, BRIDGES)
    }
  })
}

// up to 10 min waiting for another test file's lab, then ~2 min of scenarios
t.setTimeout(20 * 60_000)

t.test('the lab end to end: saturation, a full pool, a burst, declared demand, a dead agent, and nothing left behind', async (t) => {
  if (skipUnlessRoot(t)) return
  if (cniPluginDir() === undefined) { skip(t, 'needs the CNI plugins (apt-get install containernetworking-plugins)'); return }
  const missing = LAB_BUILD.filter((p) => !existsSync(p))
  if (missing.length > 0) { skip(t, `needs the build (npm run build): missing ${missing.join(', ')}`); return }
  await withLabLock(t)

  await scenario(t, '(a) with bridge-fast saturated by real traffic, new cni: "" pods land elsewhere and the ranking shows why', async (t, lab) => {
    // before the traffic bridge-fast would get pods: within tieBand of the leader. It is the traffic that moves them
    const before = await rankUntil(lab.url, 'every network measured and bridge-fast within tieBand of the leader', (x) => measured(...ALL)(x) &&
      (x.plugins[0]?.score ?? 0) - row(x, 'bridge-fast').score <= lab.tieBand)
    t.comment(`before the traffic: ${before.plugins.map((p) => `${p.plugin} ${p.score.toFixed(3)}`).join(', ')}`)
    const loads: PodJson[] = []
    for (const name of ['load-a', 'load-b']) {
      const r = await addPod(lab, name, 'bridge-fast')
      t.equal(r.run.code, 0, `${name} on bridge-fast ${r.run.stderr}`)
      if (r.pod !== undefined) loads.push(r.pod)
    }
    // ground truth for the idle RTT: the kernel's ping between two pods of the network, before any load
    const [la, lb] = loads
    if (la !== undefined && lb !== undefined) {
      const ping = await runPingProbe({ netnsPath: netnsPath(la.netns), host: firstIp(lb), count: 20, intervalMs: 20 })
      const agentRtt = row(before, 'bridge-fast').kpis.latencySeconds?.value ?? NaN
      t.comment(`idle RTT on bridge-fast: ping load-a → load-b p50 ${((ping.p50Seconds ?? NaN) * 1e3).toFixed(3)} ms; the agent's ${(agentRtt * 1e3).toFixed(3)} ms`)
      t.ok(ping.ok && agentRtt <= 2 * (ping.p50Seconds ?? 0) && agentRtt >= (ping.p50Seconds ?? 0) / 2, 'the agent\'s idle RTT is within 2× of what ping between two of its pods measures')
    }
    const bg = await labCli(lab.dir, ['traffic', '--from', 'load-a', '--to', 'load-b', '--seconds', '120', '--background', '--json'])
    t.equal(bg.code, 0, `background traffic starts ${bg.stderr}`)
    // the pods come two collection intervals after the traffic starts: the first must already avoid it
    await sleep(2 * lab.cadvisorIntervalMs)
    const placed = await inBatches(Array.from({ length: 20 }, (_, i) => `a-${i + 1}`), 4, async (n) => await addPod(lab, n, ''))
    for (const p of placed) t.equal(p.run.code, 0, `${p.pod?.name ?? '?'} is networked ${p.run.stderr}`)
    const pods = placed.map((p) => p.pod)
    const elsewhere = pods.filter((p) => p !== undefined && networkOf(p) !== 'bridge-fast').length
    t.ok(elsewhere >= 19, `at least 95% of 20 pods land off the saturated bridge-fast: ${elsewhere}/20 (${JSON.stringify(tally(pods))})`)
    // a fallback (agent slower than the shim's 0.3 s on a busy machine) lands on bridge-fast: it counts above
    t.comment(`reasons: ${JSON.stringify(countBy(pods.map((p) => p?.selection?.reason ?? '(none)')))}`)

    const r = await rank(lab.url)
    const fast = row(r, 'bridge-fast')
    const wide = row(r, 'bridge-wide')
    const cap = fast.kpis.capacityBps?.value ?? NaN
    const rx = fast.kpis.rxBps?.value ?? NaN
    const tx = fast.kpis.txBps?.value ?? NaN
    const usage = fast.kpis.usageBps?.value ?? NaN
    t.comment(`bridge-fast: rx ${(rx / 1e6).toFixed(0)} / tx ${(tx / 1e6).toFixed(0)} Mbit/s, capacity ${(cap / 1e6).toFixed(0)} Mbit/s, predicted ${JSON.stringify(fast.predicted)}, reasons ${JSON.stringify(fast.reasons)}`)
    // one flow between two pods of the network: X out of load-a, X into load-b — per direction X, never 2X
    t.ok(rx > 0.3 * cap && tx > 0.3 * cap, 'both directions of the traffic are measured')
    t.ok(Math.abs(rx - tx) <= 0.1 * Math.max(rx, tx), 'a pod-to-pod flow on one bridge reads the same in each direction')
    t.equal(usage, Math.max(rx, tx), 'usage is the busier direction, not rx + tx')
    t.ok((fast.predicted.rxUtilisation ?? 0) > (wide.predicted.rxUtilisation ?? 1) + 0.25, `its predicted utilisation is well above its idle twin's (${fast.predicted.rxUtilisation} vs ${wide.predicted.rxUtilisation})`)
    t.ok((fast.criteria.utilisation?.score ?? 1) < (wide.criteria.utilisation?.score ?? 0), 'the utilisation criterion is what ranks it below its idle twin')
    t.ok(fast.rank > wide.rank, `bridge-fast ranks below bridge-wide (${fast.rank} vs ${wide.rank})`)
    t.ok(fast.eligible, 'a busy network stays eligible: it is only ranked lower')
    t.match(fast.reasons.join('; '), /predicted utilisation rx [\d.]+% \/ tx [\d.]+% with this pod's 10 Mbit\/s/, 'a reason names the predicted utilisation per direction')
    const stop = await labCli(lab.dir, ['traffic', '--stop'])
    t.equal(stop.code, 0)

    // Ground truth for "X per direction": a foreground flow whose rate iperf3 itself reports.
    // /rank's rates are the store's mean over its window (selector.windowMs) of cadvisor rates
    // over theirs: read them once both windows lie inside the flow, then compare with iperf3's X.
    const FLOW_S = 20
    const settle = lab.selectorWindowMs + lab.cadvisorWindowMs + 2 * lab.cadvisorIntervalMs
    const flow = labCli(lab.dir, ['traffic', '--from', 'load-a', '--to', 'load-b', '--seconds', String(FLOW_S), '--json'])
    await sleep(settle)
    const reads: Array<{ rx: number, tx: number }> = []
    for (let i = 0; i < 3; i++) {
      const k = row(await rank(lab.url), 'bridge-fast').kpis
      reads.push({ rx: k.rxBps?.value ?? NaN, tx: k.txBps?.value ?? NaN })
      await sleep(lab.cadvisorIntervalMs)
    }
    const done = await flow
    t.equal(done.code, 0, `the foreground flow ran ${done.stderr}`)
    const x = (JSON.parse(done.stdout) as { bitsPerSecond: number }).bitsPerSecond
    const mid = (v: number[]): number => [...v].sort((a, b) => a - b)[1] ?? NaN
    const rxX = mid(reads.map((r) => r.rx))
    const txX = mid(reads.map((r) => r.tx))
    t.comment(`flow load-a → load-b: iperf3 says ${(x / 1e6).toFixed(0)} Mbit/s; bridge-fast reads rx ${(rxX / 1e6).toFixed(0)} / tx ${(txX / 1e6).toFixed(0)} Mbit/s (median of 3 reads ${settle / 1000} s into the flow)`)
    t.ok(Math.abs(rxX - x) <= 0.1 * x, `rx reads X ±10 % (${(rxX / 1e6).toFixed(0)} vs ${(x / 1e6).toFixed(0)} Mbit/s), not 2X`)
    t.ok(Math.abs(txX - x) <= 0.1 * x, `tx reads X ±10 % (${(txX / 1e6).toFixed(0)} vs ${(x / 1e6).toFixed(0)} Mbit/s), not 2X`)
  })

  await scenario(t, '(b) bridge-small is never over-filled, a full pool is ineligible at maxOccupancy, and cni: "" pods avoid it', async (t, lab) => {
    const dataDir = join(lab.dir, 'ipam', 'bridge-small')
    const held = (): number => hostLocalAllocations(join(lab.dir, 'ipam')).filter((a) => a.network === 'bridge-small').length
    t.equal(held(), 2, 'its two probe pods hold two of the 13 addresses')
    // 16 attempts, 4 at a time: host-local must refuse exactly the ones beyond 13, even when they race
    const names = Array.from({ length: 16 }, (_, i) => `s-${i + 1}`)
    const runs: Array<{ name: string, run: LabRun }> = []
    for (let i = 0; i < names.length; i += 4) {
      runs.push(...await Promise.all(names.slice(i, i + 4).map(async (n) => ({ name: n, run: (await addPod(lab, n, 'bridge-small')).run }))))
      t.ok(held() <= SMALL_ADDRESSES, `after ${Math.min(i + 4, names.length)} attempts host-local holds ${held()} ≤ ${SMALL_ADDRESSES} addresses`)
    }
    const ok = runs.filter((r) => r.run.code === 0)
    const refused = runs.filter((r) => r.run.code !== 0)
    t.equal(ok.length, SMALL_ADDRESSES - 2, '11 pods got an address')
    t.equal(refused.length, 5, 'the other 5 were refused')
    for (const r of refused) {
      t.equal(r.run.code, 1, `${r.name}: pod add exits 1`)
      t.match(r.run.stderr, new RegExp(`CNI ADD of default/${r.name} failed: CNI error \\d+`), `${r.name}: the shim returned a CNI error`)
      t.match(r.run.stderr, /no IP addresses available/, `${r.name}: host-local says the range is full`)
    }
    t.equal(held(), SMALL_ADDRESSES, `exactly ${SMALL_ADDRESSES} reservations in ${dataDir}`)
    const ips = new Set(ok.map((r) => firstIp(JSON.parse(r.run.stdout) as PodJson)))
    t.equal(ips.size, ok.length, 'no address was handed out twice')

    const r = await rankUntil(lab.url, 'bridge-small reported ineligible', (x) => !row(x, 'bridge-small').eligible, 30_000)
    const small = row(r, 'bridge-small')
    t.equal(small.kpis.ipUsed?.value, SMALL_ADDRESSES)
    t.equal(small.kpis.ipCapacity?.value, SMALL_ADDRESSES)
    t.match(small.reasons.join('; '), /ip pool 100% full \(≥ maxOccupancy 95%\)/, 'the reason names maxOccupancy')
    t.equal(small.rank, r.plugins.length, 'it ranks last')
    const after = await addPod(lab, 'after-full', '')
    t.equal(after.run.code, 0, `a cni: "" pod is networked ${after.run.stderr}`)
    t.not(networkOf(after.pod), 'bridge-small', `and not on the full bridge-small (${networkOf(after.pod)})`)
    t.equal(after.pod?.selection?.reason, 'smart')
    t.equal(held(), SMALL_ADDRESSES, 'bridge-small still holds 13')
  })

  await scenario(t, '(c) a burst of 40 cni: "" pods spreads over the two equally good networks, at most 60% on one', async (t, lab) => {
    // "equally good": the twins lead, scores within half the tieBand. Right after `up` the
    // first probe's bytes weigh on one twin's usage; the scores meet once both have been probed
    // a few times (about a minute). Phantom load then spreads the burst.
    const r = await rankUntil(lab.url, 'every network measured, the twins leading within tieBand/2 of each other', (x) => measured(...ALL)(x) &&
      [x.plugins[0]?.plugin, x.plugins[1]?.plugin].sort().join() === 'bridge-fast,bridge-wide' &&
      Math.abs(row(x, 'bridge-fast').score - row(x, 'bridge-wide').score) <= lab.tieBand / 2)
    t.comment(`before the burst: ${r.plugins.map((p) => `${p.plugin} ${p.score.toFixed(3)}`).join(', ')}`)
    const placed = await inBatches(Array.from({ length: 40 }, (_, i) => `c-${i + 1}`), 8, async (n) => await addPod(lab, n, ''))
    for (const p of placed) t.equal(p.run.code, 0, `${p.pod?.name ?? '?'} is networked ${p.run.stderr}`)
    const count = tally(placed.map((p) => p.pod))
    const reasons = countBy(placed.map((p) => p.pod?.selection?.reason ?? '(none)'))
    // a fallback (the agent slower than the shim's 0.3 s under a burst on 2 cores) lands on the
    // default network, bridge-fast: it counts against the spread like any other placement
    t.comment(`burst of 40: ${JSON.stringify(count)}; reasons ${JSON.stringify(reasons)}`)
    const most = Math.max(...Object.values(count))
    t.ok(most <= 24, `no more than 60% on one network: ${JSON.stringify(count)}`)
    t.ok((count['bridge-fast'] ?? 0) > 0 && (count['bridge-wide'] ?? 0) > 0, 'both twins got pods')
  })

  await scenario(t, '(e) pods that declare netrank.io/expected-bandwidth are placed by their demand: no network is promised more than it measured', async (t, lab) => {
    await rankUntil(lab.url, 'every network measured', measured(...ALL))
    // 12 pods of 150 Mbit/s each way: 1.8 Gbit/s declared over 1 + 1 + 0.2 + 0.5 Gbit/s measured
    const DEMAND = 150e6
    const placed = await inBatches(Array.from({ length: 12 }, (_, i) => `e-${i + 1}`), 4, async (n) => await addPod(lab, n, '', { 'netrank.io/expected-bandwidth': '150M' }))
    for (const p of placed) t.equal(p.run.code, 0, `${p.pod?.name ?? '?'} is networked ${p.run.stderr}`)
    const count = tally(placed.map((p) => p.pod))
    const r = await rank(lab.url)
    t.comment(`12 × 150M: ${JSON.stringify(count)}; capacities ${ALL.map((n) => `${n} ${((row(r, n).kpis.capacityBps?.value ?? 0) / 1e6).toFixed(0)}M`).join(', ')}`)
    for (const n of ALL) {
      const cap = row(r, n).kpis.capacityBps?.value ?? 0
      t.ok((count[n] ?? 0) * DEMAND <= cap, `${n}: ${count[n] ?? 0} × 150 Mbit/s declared ≤ its ${(cap / 1e6).toFixed(0)} Mbit/s`)
    }
    t.ok((count['bridge-fast'] ?? 0) + (count['bridge-wide'] ?? 0) >= 7, 'the 1 Gbit/s twins (12 of the 16 slots of 150M) take most of them')
    const ids = placed.map((p) => p.pod?.selection?.decisionId ?? '').filter((id) => id !== '')
    const res = await fetch(`${lab.url}/v1/decisions?limit=1000`)
    const decisions = ((await res.json()) as { decisions: Array<{ decisionId: string, demand?: { rxBps: number, txBps: number, source: string } }> }).decisions.filter((d) => ids.includes(d.decisionId))
    t.equal(decisions.length, ids.length, 'every smart placement is in the audit')
    t.ok(decisions.every((d) => d.demand?.rxBps === DEMAND && d.demand.txBps === DEMAND && d.demand.source === 'annotation'), 'each decision records the declared demand')
    // a value that is no rate never fails the pod: the default demand, and the decision says why
    const bad = await addPod(lab, 'e-bad', '', { 'netrank.io/expected-bandwidth': 'fast' })
    t.equal(bad.run.code, 0, `a pod with expected-bandwidth "fast" is networked ${bad.run.stderr}`)
    t.equal(bad.pod?.selection?.reason, 'smart')
    const badId = bad.pod?.selection?.decisionId ?? ''
    const all = ((await (await fetch(`${lab.url}/v1/decisions?limit=1000`)).json()) as { decisions: Array<{ decisionId: string, because?: string[], demand?: { source: string } }> }).decisions
    const d = all.find((x) => x.decisionId === badId)
    t.equal(d?.demand?.source, 'profile')
    t.match(d?.because?.[0], /^netrank\.io\/expected-bandwidth "fast" ignored: /)
  })

  await scenario(t, '(d) with the agent killed or hung, a cni: "" pod is still networked on the default network by fallback', async (t, lab) => {
    const agent = lab.status.processes.find((p) => p.role === 'agent')
    t.ok(agent !== undefined && pidAlive(agent.pid), 'the agent runs')
    if (agent === undefined) return
    process.kill(agent.pid, 'SIGKILL') // by its recorded pid
    for (let i = 0; i < 100 && pidAlive(agent.pid); i++) await sleep(50)
    t.notOk(pidAlive(agent.pid), 'the agent is dead')

    const t0 = Date.now()
    const down = await addPod(lab, 'd-1', '')
    t.comment(`pod add with the agent dead: ${Date.now() - t0} ms (a node process plus the shim's ADD)`)
    t.equal(down.run.code, 0, `the pod add returns success ${down.run.stderr}`)
    t.equal(down.pod?.selection?.reason, 'fallback-agent-down', 'netrank.io/selection says fallback')
    t.equal(networkOf(down.pod), 'bridge-fast', 'on the default network (defaultPlugins)')
    t.match(firstIp(down.pod ?? { interfaces: [] }), /^10\.66\.1\.\d+$/)
    t.equal(JSON.parse(down.pod?.annotations['netrank.io/selection'] ?? '{}').reason, 'fallback-agent-down', 'the annotation on the pod object says so too')

    const start = await labCli(lab.dir, ['agent', 'start'])
    t.equal(start.code, 0, `lab agent start brings it back ${start.stderr}`)
    const again = await labCli(lab.dir, ['agent', 'start'])
    t.equal(again.code, 1, 'a second start refuses')
    t.match(again.stderr, /the agent already runs/)
    const st = await labStatusJson(lab.dir)
    const revived = st.processes.find((p) => p.role === 'agent' && p.alive)
    t.ok(revived !== undefined, 'status shows the new agent running')
    if (revived === undefined) return

    // hung, not dead: the shim gives up after its selector timeout (0.3 s) and falls back
    process.kill(revived.pid, 'SIGSTOP')
    let hung: Awaited<ReturnType<typeof addPod>>
    try {
      hung = await addPod(lab, 'd-2', '')
    } finally {
      process.kill(revived.pid, 'SIGCONT')
    }
    t.equal(hung.run.code, 0, `with the agent hung the pod add returns ${hung.run.stderr}`)
    t.equal(hung.pod?.selection?.reason, 'fallback-agent-timeout', 'netrank.io/selection says it timed out')
    t.equal(networkOf(hung.pod), 'bridge-fast')

    // resumed, the agent first catches up on its timers: wait for /healthz, then smart selection returns
    // (up to 3 pods: one more 0.3 s timeout right after SIGCONT is the shim doing its job)
    for (let i = 0; i < 100; i++) {
      if (await fetch(`${lab.url}/healthz`, { signal: AbortSignal.timeout(1_000) }).then((r) => r.ok, () => false)) break
      await sleep(100)
    }
    const after: string[] = []
    for (let i = 3; i <= 5 && !after.includes('smart'); i++) {
      const p = await addPod(lab, `d-${i}`, '')
      t.equal(p.run.code, 0, `d-${i} is networked ${p.run.stderr}`)
      after.push(p.pod?.selection?.reason ?? '(none)')
    }
    t.ok(after.includes('smart'), `with the agent answering again, selection is smart (${after.join(', ')})`)

    const stop = await labCli(lab.dir, ['agent', 'stop'])
    t.equal(stop.code, 0)
    t.match(stop.stdout, new RegExp(`agent stopped \\(pid ${revived.pid}\\)`))
    t.notOk(pidAlive(revived.pid), 'lab agent stop ends it')
  })
})
