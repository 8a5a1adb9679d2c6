/**
 * Status annotations the agent took from the shim and lost (killed before it patched them):
 * on start, once its informer has listed this node's pods, every 'added' attachment record
 * that carries the status it handed over (`record.status`, the agent path) is compared with
 * its pod; a pod of the same uid whose netrank.io/selection is not the record's gets the
 * record's status queued again. A pod that is gone or recreated (another uid) is left alone.
 */
import { ANNOTATIONS } from '../contract/annotations.js'
import { readAttachmentRecords } from '../contract/attachment-record.js'
import type { PodStatusRequest } from '../contract/plan-api.js'
import type { PlanPodObject } from './plan-kube.js'

/** The statuses to queue again: records whose pod (same uid) lacks the status they carry. */
export async function lostStatuses (stateDir: string, cachedPod: (namespace: string, name: string) => Promise<PlanPodObject | undefined>): Promise<PodStatusRequest[]> {
  const out: PodStatusRequest[] = []
  for (const r of readAttachmentRecords(stateDir).records) {
    if (r.state !== 'added' || r.status === undefined || r.pod === null) continue
    const want = r.status[ANNOTATIONS.selection]
    if (want === undefined) continue
    const pod = await cachedPod(r.pod.namespace, r.pod.name)
    if (pod === undefined || (r.pod.uid !== '' && pod.metadata?.uid !== r.pod.uid)) continue
    if (pod.metadata?.annotations?.[ANNOTATIONS.selection] === want) continue
    out.push({ namespace: r.pod.namespace, name: r.pod.name, uid: r.pod.uid, annotations: r.status })
  }
  return out
}
