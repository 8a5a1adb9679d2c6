/**
 * Lab pods: thin wrappers over the kubelet flow. `addPod` creates the pod object in the API
 * stand-in and waits while the lab kubelet has containerd's CRI make its sandbox (netns,
 * CNI ADD through the shim); `delPod` deletes the object and waits for the sandbox to go.
 */
import { setTimeout as sleep } from 'node:timers/promises'
import { randomUUID } from 'node:crypto'
import { LAB_DEFAULTS } from './lab-defaults.js'
import type { CniErrorJson } from './lab-cni.js'
import { createPod, deletePod, getPod } from './lab-kube-client.js'
import { readState, requireState, updateState } from './lab-state.js'
import type { LabPod, LabState } from './lab-state.js'

/** A failed CNI operation, carrying the shim's CNI error. */
export class LabCniError extends Error {
  readonly cni: CniErrorJson
  constructor (what: string, cni: CniErrorJson) {
    super(`${what}: ${describeCniError(cni)}`)
    this.name = 'LabCniError'
    this.cni = cni
  }
}

/** `CNI error 103 (NR_CODE): msg`, the details left out when they only repeat the msg. */
export function describeCniError (e: CniErrorJson): string {
  const d = e.details?.trim() ?? ''
  const coded = /^([A-Z][A-Z0-9_]+): (.*)$/s.exec(d)
  if (coded !== null && e.msg.includes(coded[2] ?? '')) return `CNI error ${e.code} (${coded[1] ?? ''}): ${e.msg}`
  return `CNI error ${e.code}: ${e.msg}${d === '' || e.msg.includes(d) ? '' : ` (${d})`}`
}

export interface AddPodOptions {
  name: string
  namespace?: string
  annotations?: Record<string, string>
  labels?: Record<string, string>
}

const POD_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/ // a DNS-1123 label, as Kubernetes wants pod names

/** The stand-in's kubeconfig of a lab that is up. */
function kubeconfigOf (s: LabState): string {
  if (s.kubeApi === undefined) throw new Error(`the lab in ${s.dir} has no API stand-in yet (is \`lab up\` still running?)`)
  return s.kubeApi.kubeconfigPath
}

export function findPod (s: LabState, name: string, namespace?: string): LabPod | undefined {
  const hits = s.pods.filter((p) => p.name === name && (namespace === undefined || p.namespace === namespace))
  if (hits.length > 1) throw new Error(`more than one lab pod is named ${name} (${hits.map((p) => p.namespace).join(', ')}): give --namespace`)
  return hits[0]
}

/** Polls the state until `done` gives a value (the lab kubelet's work shows there), or `waitMs` passes. */
async function untilState<T> (dir: string, what: string, waitMs: number, done: (s: LabState) => T | undefined): Promise<T> {
  const deadline = Date.now() + waitMs
  for (;;) {
    const s = readState(dir)
    if (s === undefined) throw new Error(`the lab in ${dir} went away while waiting for ${what}`)
    const v = done(s)
    if (v !== undefined) return v
    if (Date.now() > deadline) {
      const kubelet = s.processes.find((p) => p.role === 'kubelet')
      throw new Error(`${what}: not done within ${waitMs / 1000} s${kubelet?.log === undefined ? '' : `; see ${kubelet.log}`}`)
    }
    await sleep(50)
  }
}

/**
 * Creates the pod object bound to the lab node and waits for the lab kubelet
 * (lab-kubelet.ts) to network it through containerd's CRI: RunPodSandbox, which runs the
 * node's first CNI conf — the shim. On failure the object is deleted (the kubelet then
 * removes what is left) and a {@link LabCniError} thrown with the shim's CNI error.
 */
export async function addPod (dir: string, o: AddPodOptions): Promise<LabPod> {
  const namespace = o.namespace ?? LAB_DEFAULTS.podNamespace
  if (!POD_NAME.test(o.name) || o.name.length > 63) throw new Error(`pod name "${o.name}" must be a DNS label: lower-case letters, digits and '-', at most 63 characters`)
  if (!POD_NAME.test(namespace)) throw new Error(`namespace "${namespace}" must be a DNS label`)
  const s = requireState(dir)
  if (s.phase === 'failed') throw new Error(`the lab in ${dir} failed to come up: run \`netrank lab down --dir ${dir}\``)
  if (findPod(s, o.name, namespace) !== undefined) throw new Error(`pod ${namespace}/${o.name} already exists in the lab`)
  if (!s.processes.some((p) => p.role === 'kubelet')) throw new Error(`the lab in ${dir} has no kubelet (is \`lab up\` still running?)`)
  const kubeconfig = kubeconfigOf(s)
  const uid = randomUUID()
  await createPod(kubeconfig, {
    metadata: { name: o.name, namespace, uid, annotations: o.annotations ?? {}, labels: o.labels ?? {} },
    spec: { nodeName: LAB_DEFAULTS.node },
  })
  const what = `networking ${namespace}/${o.name}`
  let pod: LabPod
  try {
    pod = await untilState(dir, what, LAB_DEFAULTS.sandboxWaitMs, (st) => st.pods.find((p) => p.uid === uid && p.phase !== 'adding'))
  } catch (err) {
    await deletePod(kubeconfig, namespace, o.name).catch(() => undefined)
    throw err
  }
  if (pod.phase === 'failed') {
    await deletePod(kubeconfig, namespace, o.name).catch(() => undefined)
    // the kubelet drops the failed pod once its object is gone: wait, so a retry with the same name starts clean
    await untilState(dir, `removing the failed ${namespace}/${o.name}`, 10_000, (st) => (st.pods.some((p) => p.uid === uid) ? undefined : true)).catch(() => undefined)
    throw new LabCniError(`CNI ADD of ${namespace}/${o.name} failed`, pod.error ?? { code: -1, msg: 'RunPodSandbox failed without an error' })
  }
  // the agent path hands the status annotations to the agent, which patches them in the
  // background: read the pod back once they are there (or after 2 s, as a kubelet would not wait at all)
  let back = await getPod(kubeconfig, namespace, o.name).catch(() => undefined)
  for (let i = 0; i < 40 && back?.metadata.annotations?.['netrank.io/selection'] === undefined; i++) {
    await sleep(50)
    back = await getPod(kubeconfig, namespace, o.name).catch(() => undefined)
  }
  const selection = back?.metadata.annotations?.['netrank.io/selection']
  if (selection !== undefined) {
    try { pod.selection = JSON.parse(selection) as LabPod['selection'] } catch { /* left out: status shows the raw annotation */ }
  }
  if (back?.metadata.annotations !== undefined) {
    pod.annotations = back.metadata.annotations
    const annotations = back.metadata.annotations
    const sel = pod.selection
    updateState(dir, (st) => { const x = st.pods.find((p) => p.uid === uid); if (x !== undefined) { x.annotations = annotations; if (sel !== undefined) x.selection = sel } })
  }
  return pod
}

/**
 * Deletes the pod object and waits for the lab kubelet to stop and remove its sandbox
 * (StopPodSandbox runs CNI DEL). A DEL that fails keeps the pod with the error (the kubelet
 * retries; `down` removes it by force).
 */
export async function delPod (dir: string, name: string, namespace?: string): Promise<LabPod> {
  const s = requireState(dir)
  const pod = findPod(s, name, namespace)
  if (pod === undefined) throw new Error(`no lab pod ${namespace === undefined ? name : `${namespace}/${name}`} (see \`netrank lab status\`)`)
  await deletePod(kubeconfigOf(s), pod.namespace, pod.name)
  await untilState(dir, `removing ${pod.namespace}/${pod.name}`, LAB_DEFAULTS.sandboxWaitMs, (st) => {
    const x = st.pods.find((p) => p.uid === pod.uid)
    if (x === undefined) return true
    if (x.error !== undefined && x.phase === 'ready') throw new LabCniError(`CNI DEL of ${pod.namespace}/${pod.name} failed`, x.error)
    return undefined
  })
  return pod
}

/** The pods the kubelet stand-in reports (read from the state at every scrape). */
export function sandboxesOf (dir: string): Array<{ namespace: string, pod: string, uid: string, containerId: string, netnsPath: string }> {
  let s: LabState | undefined
  try { s = readState(dir) } catch { return [] }
  return (s?.pods ?? []).filter((p) => p.phase === 'ready').map((p) => ({ namespace: p.namespace, pod: p.name, uid: p.uid, containerId: p.containerId, netnsPath: p.netnsPath }))
}

