// Asking the netrank agent. POST /v1/select (selector.url, the direct path's smart selection)
// within selector.timeoutMs; on the agent's unix socket, POST /v1/plan (the whole question of
// an ADD) and POST /v1/pod-status (the status annotations, patched by the agent). No answer
// is trusted blindly: anything but the contract's shape is "garbage" and the caller falls back.
import { validateSelectAnswer } from '../contract/select-api.js'
import type { SelectAnswer, SelectFailure, SelectRequest } from '../contract/select-api.js'
import { validatePlanAnswer, type PlanAnswer, type PlanRequest, type PodStatusRequest } from '../contract/plan-api.js'
import { postJson } from './agent-http.js'

/** The largest /v1/select answer read (64 KiB; a real one is a few hundred bytes). */
export const MAX_ANSWER_BYTES = 64 * 1024
/** The largest /v1/plan answer read (4 MiB, the API's own answers' cap: it carries NAD objects). */
export const MAX_PLAN_BYTES = 4 * 1024 * 1024

/** Either the answer or why there is none. */
export type SelectOutcome = { ok: true, answer: SelectAnswer } | { ok: false, why: SelectFailure, detail: string }
export type PlanOutcome = { ok: true, answer: PlanAnswer } | { ok: false, why: SelectFailure, detail: string }

/** POSTs /v1/select; resolves (never rejects) within about `timeoutMs`. */
export async function selectNetwork (baseUrl: string, body: SelectRequest, timeoutMs: number): Promise<SelectOutcome> {
  const r = await postJson({ url: baseUrl }, '/v1/select', body, timeoutMs, MAX_ANSWER_BYTES)
  if (!r.ok) return r
  const answer = validateSelectAnswer(r.body)
  if (answer === undefined) return { ok: false, why: 'agent-garbage', detail: `unexpected shape: ${JSON.stringify(r.body).slice(0, 200)}` }
  return { ok: true, answer }
}

/** POSTs /v1/plan on the agent socket; resolves (never rejects) within about `timeoutMs`. */
export async function askPlan (socketPath: string, body: PlanRequest, timeoutMs: number): Promise<PlanOutcome> {
  const r = await postJson({ socketPath }, '/v1/plan', body, timeoutMs, MAX_PLAN_BYTES)
  if (!r.ok) return r
  const answer = validatePlanAnswer(r.body)
  if (answer === undefined) return { ok: false, why: 'agent-garbage', detail: `unexpected shape: ${JSON.stringify(r.body).slice(0, 200)}` }
  return { ok: true, answer }
}

/** Hands the status annotations to the agent (POST /v1/pod-status); true once it queued them. */
export async function handOffStatus (socketPath: string, body: PodStatusRequest, timeoutMs: number): Promise<{ ok: boolean, detail: string }> {
  const r = await postJson({ socketPath }, '/v1/pod-status', body, timeoutMs, MAX_ANSWER_BYTES)
  if (!r.ok) return { ok: false, detail: `${r.why}: ${r.detail}` }
  const queued = typeof r.body === 'object' && r.body !== null && (r.body as { queued?: unknown }).queued === true
  return queued ? { ok: true, detail: 'queued' } : { ok: false, detail: `unexpected answer ${JSON.stringify(r.body).slice(0, 100)}` }
}
