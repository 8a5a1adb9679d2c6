// POST /v1/select: the question the shim asks the agent, and the answer's shape
// (docs/api.md). The shim validates every answer with validateSelectAnswer.
import { isObject } from './json.js'
import { isCniName } from './names.js'

/** The body of POST /v1/select. */
export interface SelectRequest {
  namespace: string
  pod: string
  podUid?: string
  containerId: string
  ifname?: string
  profile?: string
  /** the pod's netrank.io/expected-bandwidth annotation, as written (the agent parses it) */
  expectedBandwidth?: string
}

/** The longest expected-bandwidth value the shim passes on (the agent's request schema limit). */
export const EXPECTED_BANDWIDTH_MAX_LENGTH = 256

/** The agent's decision. */
export interface SelectAnswer { plugins: string[], reason: string, decisionId: string }

/** Why the agent's answer could not be used; the shim's reason becomes `fallback-<why>`. */
export const SELECT_FAILURES = ['agent-down', 'agent-timeout', 'agent-error', 'agent-garbage'] as const
export type SelectFailure = typeof SELECT_FAILURES[number]

/** Checks the shape of a /v1/select answer; undefined when it is not one. */
export function validateSelectAnswer (v: unknown): SelectAnswer | undefined {
  if (!isObject(v)) return undefined
  if (!Array.isArray(v.plugins) || v.plugins.length === 0 || !v.plugins.every(isCniName)) return undefined
  if (typeof v.reason !== 'string' || typeof v.decisionId !== 'string') return undefined
  return { plugins: v.plugins as string[], reason: v.reason, decisionId: v.decisionId }
}
