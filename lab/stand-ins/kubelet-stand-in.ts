/**
 * A KUBELET STAND-IN for the lab and the tests: it serves `/metrics/cadvisor` in the
 * kubelet's Prometheus text format (the label set `container, id, image, interface,
 * name, namespace, pod` of a real kubelet v1.35 scrape, see test/fixtures/cadvisor/),
 * fed from the lab pods' REAL interface counters, read inside each pod's network
 * namespace with `ip -s -j link show`. A real kubelet cannot run on these machines.
 *
 * Like the kubelet, it reports network series only on each pod's sandbox (pause)
 * container (`container=""`, the pause image, `name` = sandbox id), not per app container,
 * and it does not report `lo`.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { runInNetns } from '../../collectors/netns-exec.js'

/** A lab pod whose interfaces the stand-in reports. */
export interface LabPodSandbox {
  namespace: string
  pod: string
  uid: string
  /** the sandbox (pause) container id: CNI_CONTAINERID */
  containerId: string
  netnsPath: string
}

export interface KubeletStandInOptions {
  /** the pods to report, asked at every scrape */
  pods: () => readonly LabPodSandbox[]
  host?: string
  port?: number
  /** when set, requests must carry `Authorization: Bearer <token>` (as the kubelet wants the agent's SA token) */
  token?: string
}

export interface KubeletStandIn {
  url: string
  scrapes: number
  close: () => Promise<void>
}

export interface InterfaceCounters {
  interface: string
  rxBytes: number
  rxPackets: number
  rxErrors: number
  rxDropped: number
  txBytes: number
  txPackets: number
  txErrors: number
  txDropped: number
}

const PAUSE_IMAGE = 'registry.k8s.io/pause:3.10.1'
const READ_TIMEOUT_MS = 2_000 // per pod: an `ip` call inside the netns
const READ_CONCURRENCY = 8

const FAMILIES: ReadonlyArray<{ name: string, help: string, field: keyof Omit<InterfaceCounters, 'interface'> }> = [
  { name: 'container_network_receive_bytes_total', help: 'Cumulative count of bytes received', field: 'rxBytes' },
  { name: 'container_network_receive_errors_total', help: 'Cumulative count of errors encountered while receiving', field: 'rxErrors' },
  { name: 'container_network_receive_packets_dropped_total', help: 'Cumulative count of packets dropped while receiving', field: 'rxDropped' },
  { name: 'container_network_receive_packets_total', help: 'Cumulative count of packets received', field: 'rxPackets' },
  { name: 'container_network_transmit_bytes_total', help: 'Cumulative count of bytes transmitted', field: 'txBytes' },
  { name: 'container_network_transmit_errors_total', help: 'Cumulative count of errors encountered while transmitting', field: 'txErrors' },
  { name: 'container_network_transmit_packets_dropped_total', help: 'Cumulative count of packets dropped while transmitting', field: 'txDropped' },
  { name: 'container_network_transmit_packets_total', help: 'Cumulative count of packets transmitted', field: 'txPackets' },
]

/** Parses `ip -s -j link show` output into per-interface counters (lo excluded). */
export function parseIpLinkStats (json: string): InterfaceCounters[] {
  const links = JSON.parse(json) as Array<{ ifname?: string, stats64?: { rx?: Record<string, number>, tx?: Record<string, number> } }>
  const out: InterfaceCounters[] = []
  for (const l of links) {
    if (!l.ifname || l.ifname === 'lo' || !l.stats64) continue
    const rx = l.stats64.rx ?? {}
    const tx = l.stats64.tx ?? {}
    out.push({
      interface: l.ifname,
      rxBytes: rx.bytes ?? 0,
      rxPackets: rx.packets ?? 0,
      rxErrors: rx.errors ?? 0,
      rxDropped: rx.dropped ?? 0,
      txBytes: tx.bytes ?? 0,
      txPackets: tx.packets ?? 0,
      txErrors: tx.errors ?? 0,
      txDropped: tx.dropped ?? 0,
    })
  }
  return out
}

/** Reads one pod's interface counters inside its netns; a pod whose netns is gone reports nothing. */
export async function readPodCounters (netnsPath: string): Promise<InterfaceCounters[]> {
  const r = await runInNetns({ netnsPath, argv: ['ip', '-s', '-j', 'link', 'show'], timeoutMs: READ_TIMEOUT_MS })
  if (r.code !== 0) return []
  return parseIpLinkStats(r.stdout)
}

const escapeLabel = (v: string): string => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')

/** Renders the kubelet `/metrics/cadvisor` network families for the given pods. */
export function renderCadvisorNetworkMetrics (pods: ReadonlyArray<{ sandbox: LabPodSandbox, counters: InterfaceCounters[] }>, atMs: number): string {
  const lines: string[] = []
  for (const fam of FAMILIES) {
    lines.push(`# HELP ${fam.name} ${fam.help}`, `# TYPE ${fam.name} counter`)
    for (const { sandbox: s, counters } of pods) {
      const id = `/kubepods/besteffort/pod${s.uid}/${s.containerId}`
      for (const c of counters) {
        const labels = `container="",id="${escapeLabel(id)}",image="${PAUSE_IMAGE}",interface="${escapeLabel(c.interface)}",` +
          `name="${escapeLabel(s.containerId)}",namespace="${escapeLabel(s.namespace)}",pod="${escapeLabel(s.pod)}"`
        lines.push(`${fam.name}{${labels}} ${c[fam.field]} ${atMs}`)
      }
    }
  }
  return lines.join('\n') + '\n'
}

async function mapLimited<T, R> (items: readonly T[], limit: number, fn: (t: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length)
  let next = 0
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++
      out[i] = await fn(items[i] as T)
    }
  }
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker))
  return out
}

/** Starts the stand-in on loopback (port 0 = any free port). */
export async function startKubeletStandIn (opts: KubeletStandInOptions): Promise<KubeletStandIn> {
  const state = { scrapes: 0 }
  const handler = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    if (opts.token && req.headers.authorization !== `Bearer ${opts.token}`) {
      res.writeHead(401, { 'content-type': 'text/plain' }).end('Unauthorized')
      return
    }
    if (req.method !== 'GET' || (req.url ?? '').split('?')[0] !== '/metrics/cadvisor') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('404 page not found')
      return
    }
    state.scrapes++
    const pods = opts.pods()
    const counters = await mapLimited(pods, READ_CONCURRENCY, (p) => readPodCounters(p.netnsPath))
    const body = renderCadvisorNetworkMetrics(pods.map((sandbox, i) => ({ sandbox, counters: counters[i] ?? [] })), Date.now())
    res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' }).end(body)
  }
  const server: Server = createServer((req, res) => {
    handler(req, res).catch((err: unknown) => {
      res.writeHead(500, { 'content-type': 'text/plain' }).end(String(err))
    })
  })
  await new Promise<void>((resolve) => server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://${opts.host ?? '127.0.0.1'}:${port}`,
    get scrapes () { return state.scrapes },
    close: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()) }),
  }
}
