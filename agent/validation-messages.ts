/**
 * Turns ajv errors into one line per problem that names the path and what is expected,
 * shared by the config loader and the HTTP validation errors.
 */
import type { ErrorObject } from 'ajv'

/** `/selector/tieBand: must be ≤ 1` — the path, then fix-it wording. */
export function describeAjvError (e: ErrorObject, root = ''): string {
  const path = `${root}${e.instancePath}` || '/'
  const p = e.params as Record<string, unknown>
  switch (e.keyword) {
    case 'required':
      return `${root}${e.instancePath}/${String(p.missingProperty)}: is required`
    case 'additionalProperties':
      return `${path}: unknown property '${String(p.additionalProperty)}'`
    case 'enum':
      return `${path}: must be one of ${(p.allowedValues as unknown[]).map(String).join(', ')}`
    case 'type':
      return `${path}: must be ${article(String(p.type))}`
    case 'minimum':
      return `${path}: must be ≥ ${String(p.limit)}`
    case 'maximum':
      return `${path}: must be ≤ ${String(p.limit)}`
    case 'exclusiveMinimum':
      return `${path}: must be > ${String(p.limit)}`
    case 'exclusiveMaximum':
      return `${path}: must be < ${String(p.limit)}`
    case 'minItems':
      return `${path}: must have at least ${String(p.limit)} item(s)`
    case 'minLength':
      return Number(p.limit) <= 1 ? `${path}: must not be empty` : `${path}: must be at least ${String(p.limit)} characters`
    case 'maxLength':
      return `${path}: must be at most ${String(p.limit)} characters`
    case 'pattern':
      return `${path}: must match ${String(p.pattern)}`
    default:
      return `${path}: ${e.message ?? 'is invalid'}`
  }
}

function article (type: string): string {
  const kinds = type.split(',')
  return kinds.map((k) => (/^[aeiou]/.test(k) ? `an ${k}` : `a ${k}`)).join(' or ')
}
