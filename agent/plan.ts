/**
 * POST /v1/plan: the shim's whole question in one local call (contract/plan-api.ts). The pod
 * comes from the agent's informer of this node's pods, or — when the informer has not seen
 * it, or holds an older pod of that name — from a GET over the agent's warm connection; the
 * NADs it names are fetched the same way; when smart selection applies, the decision is made
 * here, audited, exactly as /v1/select makes it. The shim plans the attachments from this
 * with the same rules as on its direct path (cni/choose-networks.ts).
 */
import { ANNOTATIONS } from '../contract/annotations.js'
import type { PlanAnswer, PlanNad, PlanPodState, PlanRequest } from '../contract/plan-api.js'
import { readPodRequest, type PodRequest } from '../contract/pod-request.js'
import type { Agent } from './agent.js'
import { decide } from './decide.js'
import { AgentError, agentError } from './errors.js'
import type { PlanKube, PlanPodObject } from './plan-kube.js'


/** At most this many NADs are fetched for one pod (an annotation naming more is answered without them: the shim then asks the API itself). */
export const PLAN_MAX_NADS = 32

function podState (obj: PlanPodObject | undefined): PlanPodState {
  if (obj === undefined) return { found: false }
  const annotations: Record<string, string> = {}
  for (const [k, v] of Object.entries(obj.metadata?.annotations ?? {})) if (typeof v === 'string') annotations[k] = v
  return { found: true, uid: typeof obj.metadata?.uid === 'string' ? obj.metadata.uid : '', annotations }
}

function unavailable (what: string, err: unknown): AgentError {
  return agentError('NR_KUBERNETES_UNAVAILABLE', `${what}: ${(err as Error).message}`)
}

/** The plan answer for one ADD; AgentError NR_KUBERNETES_UNAVAILABLE when the pod or a NAD cannot be read. */
export async function planFor (agent: Agent, kube: PlanKube, req: PlanRequest): Promise<PlanAnswer> {
  const { namespace, name, uid } = req.pod
  let obj: PlanPodObject | undefined
  let podSource: PlanAnswer['podSource'] = 'cache'
  try {
    obj = await kube.cachedPod(namespace, name)
  } catch {
    obj = undefined
  }
  // not seen yet, or an older pod of that name (recreated): the API is the truth
  if (obj === undefined || (uid !== '' && obj.metadata?.uid !== uid)) {
    podSource = 'api'
    try {
      obj = await kube.getPod(namespace, name)
    } catch (err) {
      throw unavailable(`GET pod ${namespace}/${name}`, err)
    }
  }
  const pod = podState(obj)
  const answer: PlanAnswer = { pod, podSource, nads: [] }
  // the sandbox is for another pod of this name: the shim refuses it (code 11) from this answer
  if (!pod.found || (uid !== '' && pod.uid !== uid && pod.annotations[ANNOTATIONS.mirror] === undefined)) return answer

  let request: PodRequest
  try {
    request = readPodRequest(pod.annotations, namespace)
  } catch {
    // a malformed annotation: the shim parses the same annotations and fails the ADD with code 101
    return answer
  }
  if (request.mode === 'nad') {
    if (request.nads.length > PLAN_MAX_NADS) return answer
    answer.nads = await Promise.all(request.nads.map(async (n): Promise<PlanNad> => {
      try {
        return { namespace: n.namespace, name: n.name, object: await kube.getNad(n.namespace, n.name) ?? null }
      } catch (err) {
        throw unavailable(`GET NetworkAttachmentDefinition ${n.namespace}/${n.name}`, err)
      }
    }))
  }
  if (request.mode === 'smart' || (request.mode === 'default' && req.smartByDefault)) {
    try {
      const rec = await decide(agent, {
        namespace,
        pod: name,
        ...(uid !== '' ? { podUid: uid } : {}),
        containerId: req.containerId,
        ifname: req.ifname,
        ...(request.profile !== undefined ? { profile: request.profile } : {}),
        ...(request.expectedBandwidth !== undefined ? { expectedBandwidth: request.expectedBandwidth } : {}),
      })
      answer.selection = { ok: true, answer: { plugins: [rec.plugin], reason: rec.reason, decisionId: rec.decisionId } }
    } catch (err) {
      if (!(err instanceof AgentError)) throw err
      answer.selection = { ok: false, code: err.code, message: err.message }
    }
  }
  return answer
}
