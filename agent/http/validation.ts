/**
 * Request validation for the HTTP routes. Bodies are validated without type coercion
 * (a number where a string belongs is a 400, not silently "123"); query strings are
 * coerced, since every query value arrives as text. Errors name the field.
 */
import { Ajv } from 'ajv'
import type { FastifyInstance } from 'fastify'
import type { ErrorObject } from 'ajv'
import { describeAjvError } from '../validation-messages.js'

/** Installs the validator compilers and the error formatter on an app. */
export function installValidation (app: FastifyInstance): void {
  const bodies = new Ajv({ allErrors: true, coerceTypes: false, useDefaults: true, strict: false })
  const queries = new Ajv({ allErrors: true, coerceTypes: 'array', useDefaults: true, strict: false })
  app.setValidatorCompiler(({ schema, httpPart }) => (httpPart === 'body' ? bodies : queries).compile(schema))
  app.setSchemaErrorFormatter((errors, dataVar) => new Error(formatValidationErrors(errors as ErrorObject[], dataVar)))
}

/** `body/containerId: is required; body/pod: must be a string` */
export function formatValidationErrors (errors: readonly ErrorObject[], dataVar: string): string {
  const root = dataVar === 'querystring' ? 'query' : dataVar
  const lines = errors.map((e) => describeAjvError(e, root).replace(/^\/+/, ''))
  return [...new Set(lines)].join('; ')
}
