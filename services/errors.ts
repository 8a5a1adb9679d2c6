/**
 * The agent's error registry: one stable code per failure an HTTP client or the CLI can see.
 * Codes never change once published (the shim and dashboards match on them);
 * a test checks that every key equals its code.
 */

export interface ErrorDef {
  readonly code: string
  /** HTTP status the code is answered with */
  readonly statusCode: number
  /** default wording when the thrower gives none */
  readonly message: string
}

function def (code: string, statusCode: number, message: string): ErrorDef {
  return Object.freeze({ code, statusCode, message })
}

/** Every error code the agent answers with, keyed by itself. */
export const ERRORS = Object.freeze({
  BAD_REQUEST: def('BAD_REQUEST', 400, 'the request is malformed'),
  VALIDATION_FAILED: def('VALIDATION_FAILED', 400, 'a field of the request is missing or has the wrong type'),
  UNKNOWN_PROFILE: def('UNKNOWN_PROFILE', 400, 'the profile is not known'),
  BAD_WINDOW: def('BAD_WINDOW', 400, 'the window is not a valid duration'),
  FORBIDDEN: def('FORBIDDEN', 403, 'this route answers loopback callers or callers with the bearer token only'),
  NOT_FOUND: def('NOT_FOUND', 404, 'no such route'),
  BODY_TOO_LARGE: def('BODY_TOO_LARGE', 413, 'the request body is too large'),
  UNSUPPORTED_MEDIA_TYPE: def('UNSUPPORTED_MEDIA_TYPE', 415, 'the request body must be application/json'),
  AUDIT_WRITE_FAILED: def('AUDIT_WRITE_FAILED', 500, 'the decision could not be written to the audit log'),
  INTERNAL: def('INTERNAL', 500, 'internal error'),
  NO_ELIGIBLE_PLUGIN: def('NO_ELIGIBLE_PLUGIN', 503, 'no plugin is eligible right now'),
  NOT_READY: def('NOT_READY', 503, 'the agent is not ready'),
})

export type ErrorCode = keyof typeof ERRORS

/** An error that maps to `{error:{code, message}}` with the registry's HTTP status. */
export class AgentError extends Error {
  readonly code: ErrorCode
  readonly statusCode: number
  constructor (code: ErrorCode, message?: string) {
    super(message ?? ERRORS[code].message)
    this.name = 'AgentError'
    this.code = code
    this.statusCode = ERRORS[code].statusCode
  }
}

/** The wire shape of every error answer. */
export interface ErrorBody {
  error: { code: string, message: string }
}

export function errorBody (code: ErrorCode, message?: string): ErrorBody {
  return { error: { code, message: message ?? ERRORS[code].message } }
}
