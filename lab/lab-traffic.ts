/**
 * `netrank lab traffic`: real iperf3 between two lab pods. A one-off server (`iperf3 -s -1`)
 * on a free port in the `--to` pod's netns (never the probes' 5201, so the agent's probes
 * are not refused), the client in the `--from` pod's netns. In the foreground it prints the
 * achieved rate; with `--background` both stay running, recorded for `--stop` and `down`.
 */
import { spawn } from 'node:child_process'
import { join } from 'node:path'
import { runInNetns } from '../collectors/netns-exec.js'
import { parseIperf3Output } from '../collectors/probes/iperf3-result.js'
import { LAB_DEFAULTS } from './lab-defaults.js'
import { findPod } from './lab-pods.js'
import { isRunning, spawnDetached, stopProcess } from './lab-process.js'
import { requireState, updateState } from './lab-state.js'
import type { LabPod, LabProcess } from './lab-state.js'
import { setTimeout as sleep } from 'node:timers/promises'

export interface TrafficOptions {
  from: string
  to: string
  seconds: number
  parallel: number
  background: boolean
}

/** A finished foreground run. */
export interface TrafficResult {
  from: string
  to: string
  toAddress: string
  port: number
  seconds: number
  parallel: number
  bitsPerSecond: number
  bytes: number
  retransmits: number | null
}

/** A started background run. */
export interface TrafficStarted {
  from: string
  to: string
  toAddress: string
  port: number
  seconds: number
  serverPid: number
  clientPid: number
}

const SERVER_READY_MS = 5_000 // 5 s for the one-off server to listen

function addressOf (pod: LabPod): string {
  const cidr = pod.interfaces.find((i) => i.ips.some((a) => !a.includes(':')))?.ips.find((a) => !a.includes(':'))
  if (cidr === undefined) throw new Error(`pod ${pod.namespace}/${pod.name} has no IPv4 address (phase ${pod.phase})`)
  return cidr.split('/')[0] ?? cidr
}

const serverRole = (pod: LabPod, port: number): string => `traffic-server:${pod.namespace}/${pod.name}:${port}`

/** Picks a port no running traffic server of this pod uses, and reserves it in the state with `reserve`. */
function pickPort (dir: string, to: LabPod, reserve: (port: number) => LabProcess | undefined): { port: number, proc: LabProcess | undefined } {
  let out: { port: number, proc: LabProcess | undefined } | undefined
  updateState(dir, (s) => {
    const used = new Set(s.processes.filter((p) => p.role.startsWith(`traffic-server:${to.namespace}/${to.name}:`) && isRunning(p)).map((p) => Number(p.role.split(':').pop())))
    let port = LAB_DEFAULTS.trafficPortBase
    while (used.has(port)) port++
    const proc = reserve(port)
    if (proc !== undefined) s.processes.push(proc)
    out = { port, proc }
  })
  if (out === undefined) throw new Error('no port picked')
  return out
}

/** Resolves once something listens on TCP `port` inside the netns; throws after 5 s. */
export async function waitListening (netnsPath: string, port: number): Promise<void> {
  const deadline = Date.now() + SERVER_READY_MS
  while (Date.now() < deadline) {
    const r = await runInNetns({ netnsPath, argv: ['ss', '-Hltn', `sport = :${port}`], timeoutMs: 2_000 })
    if (r.code === 0 && r.stdout.trim() !== '') return
    await sleep(50)
  }
  throw new Error(`nothing listened on port ${port} in ${netnsPath} within ${SERVER_READY_MS / 1000} s`)
}

function validate (o: TrafficOptions): void {
  if (!Number.isInteger(o.seconds) || o.seconds < 1 || o.seconds > 86_400) throw new Error(`--seconds must be an integer 1–86400, got ${String(o.seconds)}`)
  if (!Number.isInteger(o.parallel) || o.parallel < 1 || o.parallel > 128) throw new Error(`--parallel must be an integer 1–128, got ${String(o.parallel)}`)
  if (o.from === o.to) throw new Error('--from and --to name the same pod: traffic needs two pods')
}

function pods (dir: string, o: TrafficOptions): { from: LabPod, to: LabPod, logDir: string } {
  const s = requireState(dir)
  const from = findPod(s, o.from)
  const to = findPod(s, o.to)
  if (from === undefined) throw new Error(`no lab pod named ${o.from} (see \`netrank lab status\`)`)
  if (to === undefined) throw new Error(`no lab pod named ${o.to} (see \`netrank lab status\`)`)
  return { from, to, logDir: s.paths.logDir }
}

/** Runs iperf3 from → to for `seconds` and resolves with the measured rate. */
export async function runTraffic (dir: string, o: TrafficOptions): Promise<TrafficResult> {
  validate(o)
  const { from, to } = pods(dir, o)
  const toAddress = addressOf(to)
  const { port } = pickPort(dir, to, () => undefined)
  const server = spawn('nsenter', [`--net=${to.netnsPath}`, '--', 'iperf3', '-s', '-1', '-p', String(port)], { stdio: 'ignore' })
  const serverGone = new Promise<void>((resolve) => server.once('close', () => resolve()))
  try {
    await waitListening(to.netnsPath, port)
    const r = await runInNetns({
      netnsPath: from.netnsPath,
      argv: ['iperf3', '-c', toAddress, '-p', String(port), '-t', String(o.seconds), '-P', String(o.parallel), '-J'],
      timeoutMs: (o.seconds + LAB_DEFAULTS.trafficGraceSeconds) * 1000,
    })
    const parsed = parseIperf3Output(r.stdout)
    if (!parsed.ok || parsed.throughputBps === undefined) throw new Error(`iperf3 ${from.name} → ${to.name} failed: ${parsed.error ?? (r.stderr.trim() || `exit ${String(r.code)}`)}`)
    let bytes = 0
    try {
      const end = (JSON.parse(r.stdout) as { end?: { sum_received?: { bytes?: number }, sum_sent?: { bytes?: number } } }).end
      bytes = end?.sum_received?.bytes ?? end?.sum_sent?.bytes ?? 0
    } catch { /* the parser above accepted it; bytes stay 0 */ }
    return { from: from.name, to: to.name, toAddress, port, seconds: o.seconds, parallel: o.parallel, bitsPerSecond: parsed.throughputBps, bytes, retransmits: parsed.retransmits ?? null }
  } finally {
    if (server.exitCode === null && server.signalCode === null) server.kill('SIGTERM')
    await serverGone
  }
}

/** Starts iperf3 from → to in the background (server and client recorded in the state). */
export async function startTraffic (dir: string, o: TrafficOptions): Promise<TrafficStarted> {
  validate(o)
  const { from, to, logDir } = pods(dir, o)
  const toAddress = addressOf(to)
  const { port, proc: server } = pickPort(dir, to, (p) => spawnDetached(serverRole(to, p),
    ['nsenter', `--net=${to.netnsPath}`, '--', 'iperf3', '-s', '-1', '-p', String(p)], join(logDir, `traffic-${to.name}-${p}.log`)))
  if (server === undefined) throw new Error('the traffic server did not start')
  try {
    await waitListening(to.netnsPath, port)
  } catch (err) {
    await stopProcess(server)
    throw err
  }
  const client = spawnDetached(`traffic-client:${from.name}->${to.name}:${port}`,
    ['nsenter', `--net=${from.netnsPath}`, '--', 'iperf3', '-c', toAddress, '-p', String(port), '-t', String(o.seconds), '-P', String(o.parallel)],
    join(logDir, `traffic-${from.name}-${to.name}-${port}.log`))
  updateState(dir, (s) => { s.processes.push(client) })
  return { from: from.name, to: to.name, toAddress, port, seconds: o.seconds, serverPid: server.pid, clientPid: client.pid }
}

/** Stops every background traffic process; resolves with how many were running. */
export async function stopTraffic (dir: string): Promise<number> {
  const s = requireState(dir)
  const traffic = s.processes.filter((p) => p.role.startsWith('traffic-'))
  // counted before: a one-off server may end by itself as soon as its client is stopped
  const stopped = traffic.filter(isRunning).length
  await Promise.all(traffic.map(async (p) => await stopProcess(p)))
  updateState(dir, (st) => { st.processes = st.processes.filter((p) => !p.role.startsWith('traffic-')) })
  return stopped
}
