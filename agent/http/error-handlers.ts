/**
 * Every error leaves the agent as `{error:{code, message}}` with a registry code:
 * ours (AgentError), fastify's own (validation, body limits, bad JSON) and the unexpected.
 */
import type { FastifyError, FastifyInstance } from 'fastify'
import { AgentError, errorBody, ERRORS } from '../errors.js'
import type { ErrorCode } from '../errors.js'

function codeFor (err: FastifyError): ErrorCode {
  if (err.validation !== undefined) return 'NR_VALIDATION_FAILED'
  switch (err.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return 'NR_BODY_TOO_LARGE'
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return 'NR_UNSUPPORTED_MEDIA_TYPE'
    default:
      break
  }
  const status = err.statusCode ?? 500
  if (status === 413) return 'NR_BODY_TOO_LARGE'
  if (status === 415) return 'NR_UNSUPPORTED_MEDIA_TYPE'
  if (status >= 400 && status < 500) return 'NR_BAD_REQUEST'
  return 'NR_INTERNAL'
}

/** Installs the error and not-found handlers. */
export function installErrorHandlers (app: FastifyInstance): void {
  app.setErrorHandler((err: FastifyError, request, reply) => {
    if (err instanceof AgentError) {
      if (err.statusCode >= 500) request.log.warn({ code: err.code }, err.message)
      return reply.code(err.statusCode).send(errorBody(err.code, err.message))
    }
    const code = codeFor(err)
    const status = code === 'NR_BAD_REQUEST' ? (err.statusCode ?? 400) : ERRORS[code].statusCode
    if (code === 'NR_INTERNAL') {
      request.log.error({ err }, 'unhandled error')
      return reply.code(status).send(errorBody(code))
    }
    const message = code === 'NR_BODY_TOO_LARGE'
      ? `the request body is larger than the limit of ${app.initialConfig.bodyLimit ?? 0} bytes`
      : code === 'NR_UNSUPPORTED_MEDIA_TYPE'
        ? `the request body must be application/json, not ${request.headers['content-type'] ?? 'unset'}`
        : err.message
    return reply.code(status).send(errorBody(code, message))
  })
  app.setNotFoundHandler((request, reply) => {
    return reply.code(404).send(errorBody('NR_NOT_FOUND', `no route ${request.method} ${request.url.split('?')[0] ?? ''}`))
  })
}
