/**
 * The lab plays the kubelet (`netrank lab serve-kubelet`, a background process): it watches
 * the API stand-in for pods bound to the lab node and, for each, asks containerd's CRI for
 * a pod sandbox — RunPodSandbox with the pod's metadata, labels, annotations and a pod
 * cgroup parent, as the kubelet does, so containerd makes the netns and runs the node's
 * first CNI conf (netrank-cni) itself. The sandbox's IPs go to the pod's status
 * (`status.podIP`/`podIPs` from PodSandboxStatus) and the sandbox to the lab state (the
 * kubelet stand-in, `lab traffic` and `down` read it there). A deleted pod's sandbox is
 * stopped (CNI DEL) and removed. A failed RunPodSandbox leaves nothing: the sandbox the
 * runtime kept is removed, the pod's status says why, and the state keeps the CNI error
 * for `lab pod add` (no retry: the lab reports, a real kubelet would retry with backoff).
 */
import { closeSync, openSync, readSync, statSync } from 'node:fs'
import { basename, join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { CriClient } from '../collectors/cri/cri-client.js'
import type { SandboxStatus } from '../collectors/cri/cri-client.js'
import { loadKubeConfig, watchNodePods } from '../collectors/kube-watch.js'
import type { PodObject } from '../collectors/kube-watch.js'
import { readAttachmentRecords } from '../contract/attachment-record.js'
import { containerdPaths, podCgroupParent, removePodCgroups } from './lab-containerd.js'
import { LAB_DEFAULTS } from './lab-defaults.js'
import type { CniErrorJson } from './lab-cni.js'
import { resultInterfaces } from './lab-cni.js'
import { kubeRequest } from './lab-kube-client.js'
import { readState, requireState, updateState } from './lab-state.js'
import type { LabPod, LabState } from './lab-state.js'

/** The labels the kubelet puts on every sandbox (and filters them by). */
export const SANDBOX_LABELS = { name: 'io.kubernetes.pod.name', namespace: 'io.kubernetes.pod.namespace', uid: 'io.kubernetes.pod.uid' } as const

/** The RunPodSandbox error's sandbox id: containerd says `failed to setup network for sandbox "<id>"`. */
export function sandboxIdOfError (message: string): string | undefined {
  return /sandbox \\?"([0-9a-f]{64})\\?"/.exec(message)?.[1]
}

/**
 * The shim's own error for a container, from its log (JSON lines, `operation failed` with
 * the CNI code): the runtime's message keeps the CNI msg and details but not the code.
 * Reads at most the last 256 KiB.
 */
export function shimErrorFromLog (logFile: string, containerId: string, command = 'ADD'): CniErrorJson | undefined {
  let text: string
  try {
    const size = statSync(logFile).size
    const len = Math.min(size, 256 * 1024)
    const fd = openSync(logFile, 'r')
    try {
      const buf = Buffer.alloc(len)
      readSync(fd, buf, 0, len, size - len)
      text = buf.toString('utf8')
    } finally { closeSync(fd) }
  } catch { return undefined }
  const lines = text.split('\n').reverse()
  for (const l of lines) {
    if (!l.includes(containerId) || !l.includes('operation failed')) continue
    try {
      const e = JSON.parse(l) as { containerId?: string, command?: string, code?: number, error?: string, details?: string, err?: { message?: string } | string }
      if (e.containerId !== containerId || e.command !== command || typeof e.code !== 'number') continue
      const msg = typeof e.err === 'string' ? e.err : e.err?.message ?? e.error ?? ''
      return { code: e.code, msg, ...(e.details === undefined ? {} : { details: `${e.error ?? ''}: ${e.details}` }) }
    } catch { /* a torn line: older ones follow */ }
  }
  return undefined
}

/** The netns path from containerd's verbose sandbox info (runtimeSpec.linux.namespaces). */
export function netnsPathOf (s: SandboxStatus): string {
  try {
    const info = JSON.parse(s.info.info ?? '{}') as { runtimeSpec?: { linux?: { namespaces?: Array<{ type?: string, path?: string }> } } }
    return info.runtimeSpec?.linux?.namespaces?.find((n) => n.type === 'network')?.path ?? ''
  } catch { return '' }
}

/** The CNI result containerd kept (verbose info `cniResult`), in the CNI 1.0 shape the lab reads. */
export function cniResultOf (s: SandboxStatus): Record<string, unknown> | undefined {
  try {
    const info = JSON.parse(s.info.info ?? '{}') as { cniResult?: { Interfaces?: Record<string, { IPConfigs?: Array<{ IP?: string }>, Mac?: string, Sandbox?: string }> } }
    const ifs = info.cniResult?.Interfaces
    if (ifs === undefined) return undefined
    const interfaces: Array<{ name: string, mac?: string, sandbox?: string }> = []
    const ips: Array<{ address: string, interface: number }> = []
    for (const [name, i] of Object.entries(ifs)) {
      if (i.Sandbox === undefined || i.Sandbox === '' || name === 'lo') continue // lo: containerd's own loopback network
      interfaces.push({ name, ...(i.Mac === undefined ? {} : { mac: i.Mac }), sandbox: i.Sandbox })
      for (const c of i.IPConfigs ?? []) if (c.IP !== undefined) ips.push({ address: c.IP, interface: interfaces.length - 1 })
    }
    return { interfaces, ips }
  } catch { return undefined }
}

const podKey = (p: { namespace: string, name: string }): string => `${p.namespace}/${p.name}`

export interface LabKubelet { stop: () => Promise<void> }

/** Starts the kubelet role for the lab in `dir` (its state must name the stand-in and containerd). */
export async function startLabKubelet (dir: string, log: (line: string) => void): Promise<LabKubelet> {
  const s0 = requireState(dir)
  if (s0.kubeApi === undefined) throw new Error(`the lab in ${dir} has no API stand-in`)
  const kubeconfig = s0.kubeApi.kubeconfigPath
  const ctd = containerdPaths(dir, s0.paths.logDir)
  const cri = new CriClient(ctd.socket, { timeoutMs: 10_000, runTimeoutMs: 120_000 })
  const kc = await loadKubeConfig({ kubeconfig, inCluster: false })
  const pods = watchNodePods(kc, LAB_DEFAULTS.node)
  await pods.start()
  /** the pods (by uid) a create or remove is running for */
  const busy = new Set<string>()
  let stopped = false

  const patchStatus = async (p: { namespace: string, name: string }, status: Record<string, unknown>): Promise<void> => {
    const a = await kubeRequest(kubeconfig, 'PATCH', `/api/v1/namespaces/${encodeURIComponent(p.namespace)}/pods/${encodeURIComponent(p.name)}`, { status })
    if (a.status !== 200 && a.status !== 404) log(`status of ${podKey(p)}: HTTP ${a.status}`)
  }

  const shimLog = (st: LabState): string => join(st.paths.logDir, 'cni.log')

  const create = async (obj: PodObject): Promise<void> => {
    const md = obj.metadata ?? {}
    const p = { name: md.name ?? '', namespace: md.namespace ?? 'default', uid: md.uid ?? '' }
    const pod: LabPod = {
      ...p,
      containerId: '',
      netns: '',
      netnsPath: '',
      annotations: md.annotations ?? {},
      labels: md.labels ?? {},
      phase: 'adding',
      interfaces: [],
    }
    // recorded before the runtime is asked, so `down` knows the pod even if this process dies now
    const st = updateState(dir, (s) => { s.pods = s.pods.filter((x) => x.uid !== p.uid); s.pods.push(pod) })
    const t0 = Date.now()
    try {
      const id = await cri.runPodSandbox({
        metadata: p,
        labels: { ...pod.labels, [SANDBOX_LABELS.name]: p.name, [SANDBOX_LABELS.namespace]: p.namespace, [SANDBOX_LABELS.uid]: p.uid },
        annotations: pod.annotations,
        cgroupParent: podCgroupParent(p.uid),
      })
      const status = await cri.podSandboxStatus(id, true)
      pod.containerId = id
      pod.netnsPath = netnsPathOf(status)
      pod.netns = basename(pod.netnsPath)
      const record = readAttachmentRecords(st.paths.stateDir).records.find((r) => r.containerId === id && r.ifname === LAB_DEFAULTS.ifname)
      const networkOf = (ifname: string): string => record?.attachments.find((a) => a.ifname === ifname)?.network ?? ''
      const result = cniResultOf(status)
      pod.interfaces = result === undefined ? [] : resultInterfaces(result, networkOf)
      if (record !== undefined) pod.selection = { plugins: record.plugins, reason: record.reason, ...(record.decisionId === undefined ? {} : { decisionId: record.decisionId }) }
      pod.phase = 'ready'
      const ips = [status.ip, ...status.additionalIps].filter((x) => x !== '')
      await patchStatus(p, {
        phase: 'Running',
        hostIP: '127.0.0.1',
        ...(ips.length > 0 ? { podIP: ips[0], podIPs: ips.map((ip) => ({ ip })) } : {}),
        conditions: [{ type: 'PodReadyToStartContainers', status: 'True' }, { type: 'Ready', status: 'True' }],
        startTime: new Date(t0).toISOString().replace(/\.\d+Z$/, 'Z'),
      })
      log(`sandbox ${id.slice(0, 12)} for ${podKey(p)}: ${ips.join(', ')} in ${Date.now() - t0} ms`)
    } catch (err) {
      const message = (err as Error).message
      const id = sandboxIdOfError(message)
      const shim = id === undefined ? undefined : shimErrorFromLog(shimLog(st), id)
      pod.phase = 'failed'
      pod.error = { code: shim?.code ?? -1, msg: message, ...(shim?.details === undefined ? {} : { details: shim.details }) }
      // the runtime keeps a sandbox whose network setup failed (NOTREADY, its name reserved): remove it
      await removeSandboxesOf(p.uid).catch((e: unknown) => { log(`cleaning up after ${podKey(p)}: ${(e as Error).message}`) })
      await patchStatus(p, {
        phase: 'Pending',
        conditions: [{ type: 'PodReadyToStartContainers', status: 'False', reason: 'FailedCreatePodSandBox', message }],
      }).catch(() => undefined)
      log(`RunPodSandbox for ${podKey(p)} failed: ${message}`)
    }
    updateState(dir, (s) => { s.pods = s.pods.map((x) => (x.uid === p.uid ? pod : x)) })
  }

  const removeSandboxesOf = async (uid: string): Promise<void> => {
    const mine = await cri.listPodSandbox({ [SANDBOX_LABELS.uid]: uid })
    for (const sb of mine) {
      await cri.stopPodSandbox(sb.id)
      await cri.removePodSandbox(sb.id)
    }
    removePodCgroups(uid)
  }

  const remove = async (pod: LabPod): Promise<void> => {
    try {
      await removeSandboxesOf(pod.uid)
      updateState(dir, (s) => { s.pods = s.pods.filter((x) => x.uid !== pod.uid) })
      log(`sandbox of ${podKey(pod)} stopped and removed`)
    } catch (err) {
      // kept in the state with the error; the next round tries again, `down` by force
      const e = err as Error
      updateState(dir, (s) => { const x = s.pods.find((y) => y.uid === pod.uid); if (x !== undefined) x.error = { code: -1, msg: e.message } })
      log(`removing the sandbox of ${podKey(pod)}: ${e.message}`)
      await sleep(1_000)
    }
  }

  const round = (): void => {
    let st: LabState | undefined
    try { st = readState(dir) } catch { return }
    if (st === undefined || !pods.synced) return
    const wanted = new Map<string, PodObject>()
    for (const o of pods.list()) {
      const uid = o.metadata?.uid
      if (uid !== undefined && uid !== '' && o.spec?.nodeName === LAB_DEFAULTS.node && (o.metadata as { deletionTimestamp?: string }).deletionTimestamp === undefined) wanted.set(uid, o)
    }
    const known = new Set(st.pods.map((p) => p.uid))
    const go = (uid: string, fn: () => Promise<void>): void => {
      if (busy.has(uid)) return
      busy.add(uid)
      void fn().catch((err: unknown) => { log(`pod ${uid}: ${(err as Error).message}`) }).finally(() => { busy.delete(uid) })
    }
    for (const [uid, o] of wanted) if (!known.has(uid)) go(uid, async () => { await create(o) })
    for (const p of st.pods) if (!wanted.has(p.uid) && p.phase !== 'adding') go(p.uid, async () => { await remove(p) })
  }

  const loop = (async () => {
    while (!stopped) {
      round()
      await sleep(LAB_DEFAULTS.kubeletPollMs)
    }
  })()

  return {
    async stop () {
      stopped = true
      await loop
      for (let i = 0; i < 600 && busy.size > 0; i++) await sleep(50)
      await pods.stop()
      cri.close()
    },
  }
}

/** Runs the kubelet role until SIGTERM or SIGINT. */
export async function serveKubelet (dir: string): Promise<void> {
  const say = (l: string): void => { process.stdout.write(`${new Date().toISOString()} ${l}\n`) }
  const k = await startLabKubelet(dir, say)
  say(`lab kubelet up: node ${LAB_DEFAULTS.node}, containerd ${containerdPaths(dir, requireState(dir).paths.logDir).socket}`)
  await new Promise<void>((resolve) => {
    process.once('SIGTERM', resolve)
    process.once('SIGINT', resolve)
  })
  await k.stop()
}
