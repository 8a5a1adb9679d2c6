// The shim's fast path to the agent (docs/cni-shim.md#two-paths): on the agent's root-only
// unix socket, POST /v1/plan answers the whole question an ADD asks the API and the selector
// — the pod (from the agent's informer), the NADs it names, the smart selection when one
// applies — and POST /v1/pod-status takes the status annotations to patch after the ADD, so
// the shim never waits for the API. The shim validates every answer (validatePlanAnswer):
// anything else is garbage and the shim takes the direct path instead.
import { isObject } from './json.js'
import { validateSelectAnswer, type SelectAnswer } from './select-api.js'

/** The pod an ADD is for (CNI_ARGS K8S_POD_*). */
export interface PlanPod { namespace: string, name: string, uid: string }

/** The body of POST /v1/plan. */
export interface PlanRequest {
  containerId: string
  ifname: string
  pod: PlanPod
  /** the shim conf has no defaultPlugins: a pod without a `cni` annotation gets smart selection */
  smartByDefault: boolean
}

/** What the agent knows of the pod: absent from the API, or its uid and annotations. */
export type PlanPodState = { found: false } | { found: true, uid: string, annotations: Record<string, string> }

/** One NAD the pod names: its object, or null when the API has none of that name. */
export interface PlanNad { namespace: string, name: string, object: Record<string, unknown> | null }

/** The answer of POST /v1/plan. */
export interface PlanAnswer {
  pod: PlanPodState
  /** where the pod came from: the agent's informer, or a GET it made on a cache miss */
  podSource: 'cache' | 'api'
  nads: PlanNad[]
  /** the decision when smart selection applies: the answer /v1/select would give, or why there is none */
  selection?: { ok: true, answer: SelectAnswer } | { ok: false, code: string, message: string }
}

/** The body of POST /v1/pod-status: annotations to merge into the pod, only if it still has `uid`. */
export interface PodStatusRequest {
  namespace: string
  name: string
  /** precondition: never onto a pod recreated under the same name ('' = none, for pods without a uid arg) */
  uid: string
  annotations: Record<string, string>
}

function isStringMap (v: unknown): v is Record<string, string> {
  return isObject(v) && Object.values(v).every((x) => typeof x === 'string')
}

/** Checks the shape of a /v1/plan answer; undefined when it is not one. */
export function validatePlanAnswer (v: unknown): PlanAnswer | undefined {
  if (!isObject(v) || !isObject(v.pod)) return undefined
  let pod: PlanPodState
  if (v.pod.found === false) pod = { found: false }
  else if (v.pod.found === true && typeof v.pod.uid === 'string' && isStringMap(v.pod.annotations)) pod = { found: true, uid: v.pod.uid, annotations: v.pod.annotations }
  else return undefined
  if (v.podSource !== 'cache' && v.podSource !== 'api') return undefined
  if (!Array.isArray(v.nads)) return undefined
  const nads: PlanNad[] = []
  for (const n of v.nads) {
    if (!isObject(n) || typeof n.namespace !== 'string' || typeof n.name !== 'string') return undefined
    if (n.object !== null && !isObject(n.object)) return undefined
    nads.push({ namespace: n.namespace, name: n.name, object: n.object })
  }
  const answer: PlanAnswer = { pod, podSource: v.podSource, nads }
  if (v.selection !== undefined) {
    const s = v.selection
    if (!isObject(s)) return undefined
    if (s.ok === true) {
      const sel = validateSelectAnswer(s.answer)
      if (sel === undefined) return undefined
      answer.selection = { ok: true, answer: sel }
    } else if (s.ok === false && typeof s.code === 'string' && typeof s.message === 'string') {
      answer.selection = { ok: false, code: s.code, message: s.message }
    } else {
      return undefined
    }
  }
  return answer
}
