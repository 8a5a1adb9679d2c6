/**
 * Lab pods: an object in the API stand-in plus a netns networked through the shim, the
 * way kubelet and a container runtime do it (pod object first, then the sandbox netns,
 * then CNI ADD; DEL, netns removal and the object's deletion on the way out).
 */
import { setTimeout as sleep } from 'node:timers/promises'
import { randomBytes, randomUUID } from 'node:crypto'
import { readAttachmentRecords } from '../contract/attachment-record.js'
import { LAB_DEFAULTS } from './lab-defaults.js'
import { runShim, resultInterfaces } from './lab-cni.js'
import type { CniErrorJson } from './lab-cni.js'
import { createNetns, deleteNetns, netnsNameFor, netnsPath } from './lab-kernel.js'
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

/**
 * Creates the pod and runs CNI ADD through the shim. On ADD failure the pod is taken
 * back (DEL, netns, object) and a {@link LabCniError} thrown.
 */
export async function addPod (dir: string, o: AddPodOptions): Promise<LabPod> {
  const namespace = o.namespace ?? LAB_DEFAULTS.podNamespace
  if (!POD_NAME.test(o.name) || o.name.length > 63) throw new Error(`pod name "${o.name}" must be a DNS label: lower-case letters, digits and '-', at most 63 characters`)
  if (!POD_NAME.test(namespace)) throw new Error(`namespace "${namespace}" must be a DNS label`)
  const pod: LabPod = {
    name: o.name,
    namespace,
    uid: randomUUID(),
    containerId: randomBytes(32).toString('hex'), // a sandbox id as containerd makes them: 64 hex
    netns: netnsNameFor(namespace, o.name),
    netnsPath: '',
    annotations: o.annotations ?? {},
    labels: o.labels ?? {},
    phase: 'adding',
    interfaces: [],
  }
  pod.netnsPath = netnsPath(pod.netns)
  // recorded before anything is made, so `down` finds the netns even when this process dies
  const s = updateState(dir, (st) => {
    if (st.phase === 'failed') throw new Error(`the lab in ${dir} failed to come up: run \`netrank lab down --dir ${dir}\``)
    if (findPod(st, o.name, namespace) !== undefined) throw new Error(`pod ${namespace}/${o.name} already exists in the lab`)
    const clash = st.pods.find((p) => p.netns === pod.netns)
    if (clash !== undefined) throw new Error(`pod ${namespace}/${o.name} would share the netns name ${pod.netns} with ${clash.namespace}/${clash.name}: pick another name`)
    kubeconfigOf(st)
    st.pods.push(pod)
  })
  const kubeconfig = kubeconfigOf(s)
  let objectMade = false
  let netnsMade = false
  try {
    await createPod(kubeconfig, {
      metadata: { name: o.name, namespace, uid: pod.uid, annotations: pod.annotations, labels: pod.labels },
      spec: { nodeName: LAB_DEFAULTS.node },
    })
    objectMade = true
    createNetns(pod.netns)
    netnsMade = true
    const add = await runShim(s, 'ADD', pod)
    if (add.error !== undefined || add.result === undefined) {
      // a runtime cleans up a failed ADD with DEL: it releases whatever a delegate reserved
      await runShim(s, 'DEL', pod).catch(() => undefined)
      throw new LabCniError(`CNI ADD of ${namespace}/${o.name} failed`, add.error ?? { code: -1, msg: 'the shim printed no result', details: add.stdout.slice(0, 300) })
    }
    // found by content, not by file name: the record is the shim's, whatever it names its files
    const record = readAttachmentRecords(s.paths.stateDir).records.find((r) => r.containerId === pod.containerId && r.ifname === LAB_DEFAULTS.ifname)
    const networkOf = (ifname: string): string => record?.attachments.find((a) => a.ifname === ifname)?.network ?? ''
    pod.interfaces = resultInterfaces(add.result, networkOf)
    // the agent path hands the status annotations to the agent, which patches them in the
    // background: read the pod back once they are there (or after 2 s, as a kubelet would not wait at all)
    let back = await getPod(kubeconfig, namespace, o.name).catch(() => undefined)
    for (let i = 0; i < 40 && record?.state === 'added' && back?.metadata.annotations?.['netrank.io/selection'] === undefined; i++) {
      await sleep(50)
      back = await getPod(kubeconfig, namespace, o.name).catch(() => undefined)
    }
    const selection = back?.metadata.annotations?.['netrank.io/selection']
    if (selection !== undefined) {
      try { pod.selection = JSON.parse(selection) as LabPod['selection'] } catch { /* left out: status shows the raw annotation */ }
    }
    if (pod.selection === undefined && record !== undefined) {
      pod.selection = { plugins: record.plugins, reason: record.reason, decisionId: record.decisionId }
    }
    if (back?.metadata.annotations !== undefined) pod.annotations = back.metadata.annotations
    pod.phase = 'ready'
    updateState(dir, (st) => { st.pods = st.pods.map((p) => (p.containerId === pod.containerId ? pod : p)) })
    return pod
  } catch (err) {
    if (netnsMade) { try { deleteNetns(pod.netns) } catch { /* down removes it */ } }
    if (objectMade) await deletePod(kubeconfig, namespace, o.name).catch(() => undefined)
    try { updateState(dir, (st) => { st.pods = st.pods.filter((p) => p.containerId !== pod.containerId) }) } catch { /* the lab went away */ }
    throw err
  }
}

/** Runs CNI DEL for the pod, removes its netns and its object. A failed DEL keeps the pod (retry or `down`). */
export async function delPod (dir: string, name: string, namespace?: string): Promise<LabPod> {
  const s = requireState(dir)
  const pod = findPod(s, name, namespace)
  if (pod === undefined) throw new Error(`no lab pod ${namespace === undefined ? name : `${namespace}/${name}`} (see \`netrank lab status\`)`)
  const del = await runShim(s, 'DEL', pod)
  if (del.error !== undefined) throw new LabCniError(`CNI DEL of ${pod.namespace}/${pod.name} failed`, del.error)
  deleteNetns(pod.netns)
  if (s.kubeApi !== undefined) await deletePod(s.kubeApi.kubeconfigPath, pod.namespace, pod.name).catch(() => undefined)
  updateState(dir, (st) => { st.pods = st.pods.filter((p) => p.containerId !== pod.containerId) })
  return pod
}

/** The pods the kubelet stand-in reports (read from the state at every scrape). */
export function sandboxesOf (dir: string): Array<{ namespace: string, pod: string, uid: string, containerId: string, netnsPath: string }> {
  let s: LabState | undefined
  try { s = readState(dir) } catch { return [] }
  return (s?.pods ?? []).filter((p) => p.phase === 'ready').map((p) => ({ namespace: p.namespace, pod: p.name, uid: p.uid, containerId: p.containerId, netnsPath: p.netnsPath }))
}

