/**
 * `netrank lab status [--json]`: what the lab is — agent URL, kubeconfig, CNI conf dir and
 * CNI_PATH, the networks, the pods with their netns, annotations, interfaces and IPs, and
 * the background processes with whether each still runs. The JSON is the interface for
 * programs driving the lab; the text is for people.
 */
import { existsSync } from 'node:fs'
import { isRunning } from './lab-process.js'
import { requireState } from './lab-state.js'
import type { LabPodInterface } from './lab-state.js'

/** One network as status reports it. */
export interface LabStatusNetwork {
  name: string
  plugins: string[]
  bridge: string
  subnet: string
  shaping: { ingressBps: number, egressBps: number } | null
  character: string
}

/** One pod as status reports it. */
export interface LabStatusPod {
  name: string
  namespace: string
  uid: string
  containerId: string
  netns: string
  netnsPath: string
  netnsExists: boolean
  phase: string
  annotations: Record<string, string>
  labels: Record<string, string>
  interfaces: LabPodInterface[]
  selection: { plugins: string[], reason: string, decisionId?: string } | null
  networkStatus: unknown
}

/** The whole `status --json` answer. */
export interface LabStatus {
  dir: string
  phase: string
  createdAt: string
  node: string
  agentUrl: string | null
  kubeApiUrl: string | null
  kubeconfig: string | null
  kubeletUrl: string | null
  /** the lab's containerd CRI socket */
  criSocket: string | null
  confDir: string
  cniPath: string
  stateDir: string
  hostLocalDataDir: string
  logDir: string
  agentConfig: string
  networks: LabStatusNetwork[]
  pods: LabStatusPod[]
  processes: Array<{ role: string, pid: number, alive: boolean, log: string | null }>
}

/** Builds the status of the lab in `dir` (throws when there is none). */
export function labStatus (dir: string): LabStatus {
  const s = requireState(dir)
  return {
    dir: s.dir,
    phase: s.phase,
    createdAt: s.createdAt,
    node: 'lab-node',
    agentUrl: s.agent?.url ?? null,
    kubeApiUrl: s.kubeApi?.url ?? null,
    kubeconfig: s.kubeApi?.kubeconfigPath ?? null,
    kubeletUrl: s.kubelet?.url ?? null,
    criSocket: s.paths.criSocket ?? null,
    confDir: s.paths.confDir,
    cniPath: s.paths.cniPath,
    stateDir: s.paths.stateDir,
    hostLocalDataDir: s.paths.ipamDir,
    logDir: s.paths.logDir,
    agentConfig: s.paths.agentConfig,
    networks: s.networks.map((n) => ({
      name: n.name,
      plugins: n.shapeBps === undefined ? ['bridge', 'host-local'] : ['bridge', 'host-local', 'bandwidth'],
      bridge: n.bridge,
      subnet: n.subnet,
      shaping: n.shapeBps === undefined ? null : { ingressBps: n.shapeBps, egressBps: n.shapeBps },
      character: n.character,
    })),
    pods: s.pods.map((p) => {
      let networkStatus: unknown = null
      const raw = p.annotations['k8s.v1.cni.cncf.io/network-status']
      if (raw !== undefined) { try { networkStatus = JSON.parse(raw) } catch { networkStatus = raw } }
      return {
        name: p.name,
        namespace: p.namespace,
        uid: p.uid,
        containerId: p.containerId,
        netns: p.netns,
        netnsPath: p.netnsPath,
        netnsExists: existsSync(p.netnsPath),
        phase: p.phase,
        annotations: p.annotations,
        labels: p.labels,
        interfaces: p.interfaces,
        selection: p.selection ?? null,
        networkStatus,
      }
    }),
    processes: s.processes.map((p) => ({ role: p.role, pid: p.pid, alive: isRunning(p), log: p.log ?? null })),
  }
}

/** The status as text for people. */
export function formatStatus (st: LabStatus): string {
  const lines: string[] = []
  lines.push(`lab ${st.dir} — ${st.phase} since ${st.createdAt}, node ${st.node}`)
  lines.push(`  agent       ${st.agentUrl ?? '-'}`)
  lines.push(`  kubeconfig  ${st.kubeconfig ?? '-'}  (API stand-in ${st.kubeApiUrl ?? '-'})`)
  lines.push(`  kubelet     ${st.kubeletUrl === null ? '-' : `${st.kubeletUrl}/metrics/cadvisor`} (stand-in)`)
  lines.push(`  runtime     ${st.criSocket === null ? '-' : `containerd, CRI at ${st.criSocket}`}`)
  lines.push(`  CNI conf    ${st.confDir}`)
  lines.push(`  CNI_PATH    ${st.cniPath}`)
  lines.push('', 'Networks:')
  for (const n of st.networks) {
    lines.push(`  ${n.name.padEnd(14)} ${n.plugins.join('+').padEnd(27)} ${n.subnet.padEnd(14)} ${n.shaping === null ? 'not shaped' : `${n.shaping.ingressBps / 1e6} Mbit/s in/out`}`)
  }
  lines.push('', 'Pods:')
  if (st.pods.length === 0) lines.push('  (none)')
  for (const p of st.pods) {
    const ifs = p.interfaces.map((i) => `${i.ifname}=${i.network}:${i.ips.join(',')}`).join(' ')
    const sel = p.selection === null ? '' : ` [${p.selection.reason}]`
    lines.push(`  ${`${p.namespace}/${p.name}`.padEnd(38)} ${p.netns.padEnd(30)} ${p.phase === 'ready' ? ifs : p.phase}${sel}`)
  }
  lines.push('', 'Processes:')
  for (const p of st.processes) lines.push(`  ${p.role.padEnd(52)} pid ${String(p.pid).padEnd(8)} ${p.alive ? 'running' : 'gone'}`)
  return lines.join('\n') + '\n'
}
