// What an ADD needs from outside the node's conf dir — the pod's uid and annotations, the
// NADs it names, the smart selection — by one of two paths (docs/cni-shim.md#two-paths):
//   agent:  one POST /v1/plan on the agent's root-only unix socket; no TLS, no API wait;
//   direct: the shim's own GETs to the API server (Node's TLS verification) and
//           POST /v1/select to selector.url — taken when the agent is down, slow (agent.timeoutMs)
//           or answers garbage, and when the agent socket is turned off.
// Both feed the same planning rules (choose-networks.ts).
import type { NadRequest } from './annotations.js'
import { askPlan, selectNetwork, type SelectOutcome } from './agent-client.js'
import type { CniEnv } from './env.js'
import { podAnnotations, type KubeClient } from './kube-client.js'
import { log } from './log.js'
import type { PodRef } from './pod-identity.js'
import type { ShimConf } from './shim-conf.js'
import type { PlanAnswer } from '../contract/plan-api.js'
import type { SelectRequest } from '../contract/select-api.js'

/** The ADD's outside inputs, whichever path brought them. */
export interface AddInputs {
  path: 'agent' | 'direct'
  /** why the direct path was taken (agent-down: …), for the log */
  fallbackWhy?: string
  /** undefined: no pod object (no kubeconfig, no pod args, or not in the API) */
  pod: { uid: string, annotations: Record<string, string> } | undefined
  nad: (req: NadRequest) => Promise<Record<string, unknown> | undefined>
  select: (body: SelectRequest) => Promise<SelectOutcome>
}

/** A lazily made API client (undefined without kubeconfig): the agent path makes none unless it must. */
export type ClientSource = () => Promise<KubeClient | undefined>

function directSelect (conf: ShimConf): AddInputs['select'] {
  return (body) => selectNetwork(conf.selector.url, body, conf.selector.timeoutMs)
}

/** The agent's plan as inputs; what it lacks (a NAD beyond its cap, a selection it did not make) comes the direct way. */
function fromPlan (conf: ShimConf, answer: PlanAnswer, client: ClientSource): AddInputs {
  return {
    path: 'agent',
    pod: answer.pod.found ? { uid: answer.pod.uid, annotations: answer.pod.annotations } : undefined,
    async nad (req) {
      const hit = answer.nads.find((n) => n.namespace === req.namespace && n.name === req.name)
      if (hit !== undefined) return hit.object ?? undefined
      return await (await client())?.getNad(req.namespace, req.name)
    },
    async select (body) {
      const s = answer.selection
      if (s === undefined) return await directSelect(conf)(body)
      if (s.ok) return { ok: true, answer: s.answer }
      return { ok: false, why: 'agent-error', detail: `${s.code}: ${s.message}` }
    },
  }
}

/** The direct path: GET the pod (its answer overlapping `whileWaiting`), NADs and /v1/select as asked. */
async function direct (conf: ShimConf, pod: PodRef | null, client: ClientSource, whileWaiting: () => void, fallbackWhy?: string): Promise<AddInputs> {
  const c = pod === null ? undefined : await client()
  const podPromise = c !== undefined && pod !== null ? c.getPod(pod.namespace, pod.name) : undefined
  // a rejection is awaited below; until then it must not count as unhandled
  podPromise?.catch(() => {})
  // one turn of the event loop sends the TLS hello; the local work then overlaps the server's answer
  if (podPromise !== undefined) await new Promise<void>((resolve) => setImmediate(resolve))
  whileWaiting()
  let podState: AddInputs['pod']
  if (podPromise !== undefined) {
    const obj = await podPromise
    if (obj === undefined) log.warn({ pod }, 'pod not found in the API; using the node defaults')
    else {
      const meta = obj.metadata as { uid?: unknown } | undefined
      podState = { uid: typeof meta?.uid === 'string' ? meta.uid : '', annotations: podAnnotations(obj) }
    }
  }
  return {
    path: 'direct',
    ...(fallbackWhy !== undefined ? { fallbackWhy } : {}),
    pod: podState,
    nad: async (req) => await (await client())?.getNad(req.namespace, req.name),
    select: directSelect(conf),
  }
}

/**
 * The inputs of one ADD. The agent path is tried for pods when the conf has a kubeconfig (so
 * the direct path, its fallback, reads the same annotations) and agent.socket is set.
 * `whileWaiting` runs once while the first answer is on its way (the conf dir is read then).
 */
export async function addInputs (conf: ShimConf, env: CniEnv, pod: PodRef | null, client: ClientSource, whileWaiting: () => void, mark: (phase: string) => void = () => {}): Promise<AddInputs> {
  if (pod === null || conf.kubeconfig === undefined || conf.agent.socket === '') return await direct(conf, pod, client, whileWaiting)
  const planning = askPlan(conf.agent.socket, {
    containerId: env.containerId,
    ifname: env.ifname,
    pod: { namespace: pod.namespace, name: pod.name, uid: pod.uid },
    smartByDefault: conf.defaultPlugins.length === 0,
  }, conf.agent.timeoutMs)
  // one turn of the event loop puts the request on the socket; the conf dir is read meanwhile
  await new Promise<void>((resolve) => setImmediate(resolve))
  mark('planAsked')
  whileWaiting()
  mark('confsRead')
  const outcome = await planning
  mark('planAnswered')
  if (outcome.ok) return fromPlan(conf, outcome.answer, client)
  const why = `${outcome.why}: ${outcome.detail}`
  log.warn({ socket: conf.agent.socket, why }, 'agent plan unavailable; taking the direct path to the API')
  return await direct(conf, pod, client, () => {}, why)
}
