/**
 * The agent's error registry: one stable code per failure an HTTP client or the CLI can see.
 * Codes do not change once published (clients and dashboards match on them; the `NR_`
 * prefix was added once, in December 2026); a test checks that every key equals its code.
 */

import createError from '@fastify/error'
import type { FastifyErrorConstructor } from '@fastify/error'

/**
 * The base of every registry error: `instanceof AgentError` tells ours from fastify's own.
 * Instances are made by @fastify/error constructors (one per code): agentError(code, msg).
 */
export class AgentError extends Error {
  declare readonly code: ErrorCode
  declare readonly statusCode: number
}

export interface ErrorDef {
  readonly code: string
  /** HTTP status the code is answered with */
  readonly statusCode: number
  /** default wording when the thrower gives none */
  readonly message: string
  /** the @fastify/error constructor of this code */
  readonly Error: FastifyErrorConstructor<{ code: string, statusCode: number }, [string]>
}

function def (code: string, statusCode: number, message: string): ErrorDef {
  // '%s': the thrower's message, or the default wording
  const ctor = createError(code, '%s', statusCode, AgentError as unknown as ErrorConstructor) as unknown as ErrorDef['Error']
  return Object.freeze({ code, statusCode, message, Error: ctor })
}

/** Every error code the agent answers with, keyed by itself; `NR_` like the shim's `NR_CNI_…`. */
export const ERRORS = Object.freeze({
  NR_BAD_REQUEST: def('NR_BAD_REQUEST', 400, 'the request is malformed'),
  NR_VALIDATION_FAILED: def('NR_VALIDATION_FAILED', 400, 'a field of the request is missing or has the wrong type'),
  NR_UNKNOWN_PROFILE: def('NR_UNKNOWN_PROFILE', 400, 'the profile is not known'),
  NR_BAD_WINDOW: def('NR_BAD_WINDOW', 400, 'the window is not a valid duration'),
  NR_BAD_EXPECTED_BANDWIDTH: def('NR_BAD_EXPECTED_BANDWIDTH', 400, 'expectedBandwidth is not a rate'),
  NR_FORBIDDEN: def('NR_FORBIDDEN', 403, 'this route answers loopback callers or callers with the bearer token only'),
  NR_NOT_FOUND: def('NR_NOT_FOUND', 404, 'no such route'),
  NR_POD_UNKNOWN: def('NR_POD_UNKNOWN', 404, 'the agent knows nothing of this pod'),
  NR_POLICY_DISABLED: def('NR_POLICY_DISABLED', 404, 'the network policy engine does not run on this agent (policy.enabled with kubernetes)'),
  NR_BODY_TOO_LARGE: def('NR_BODY_TOO_LARGE', 413, 'the request body is too large'),
  NR_UNSUPPORTED_MEDIA_TYPE: def('NR_UNSUPPORTED_MEDIA_TYPE', 415, 'the request body must be application/json'),
  NR_AUDIT_WRITE_FAILED: def('NR_AUDIT_WRITE_FAILED', 500, 'the decision could not be written to the audit log'),
  NR_INTERNAL: def('NR_INTERNAL', 500, 'internal error'),
  NR_NO_ELIGIBLE_PLUGIN: def('NR_NO_ELIGIBLE_PLUGIN', 503, 'no plugin is eligible right now'),
  NR_NOT_READY: def('NR_NOT_READY', 503, 'the agent is not ready'),
  NR_KUBERNETES_UNAVAILABLE: def('NR_KUBERNETES_UNAVAILABLE', 503, 'the Kubernetes API could not be read'),
  NR_NO_KUBERNETES: def('NR_NO_KUBERNETES', 503, 'the agent has no Kubernetes access configured (kubernetes.kubeconfig or inCluster)'),
  NR_QUEUE_FULL: def('NR_QUEUE_FULL', 503, 'too many pod status patches are waiting'),
})

export type ErrorCode = keyof typeof ERRORS

/** An error that maps to `{error:{code, message}}` with the registry's HTTP status. */
export function agentError (code: ErrorCode, message?: string): AgentError {
  return new ERRORS[code].Error(message ?? ERRORS[code].message) as unknown as AgentError
}

/** The wire shape of every error answer. */
export interface ErrorBody {
  error: { code: string, message: string }
}

export function errorBody (code: ErrorCode, message?: string): ErrorBody {
  return { error: { code, message: message ?? ERRORS[code].message } }
}
