// The shim's errors: CniError, built on the registry of contract/cni-errors.ts (every
// error the shim can return, its stable name and CNI code).
import { errors } from '../contract/cni-errors.js'

export { errors } from '../contract/cni-errors.js'
export type { ErrorSpec } from '../contract/cni-errors.js'

/** A registry error name. */
export type ErrorName = keyof typeof errors

/** An error the shim reports as CNI error JSON (`{cniVersion, code, msg, details}`). */
export class CniError extends Error {
  override readonly name = 'CniError'
  readonly code: ErrorName
  readonly cniCode: number
  readonly details: string

  constructor (code: ErrorName, details: string, options?: { cause?: unknown }) {
    const spec = errors[code]
    super(`${spec.message}: ${details}`, options)
    this.code = code
    this.cniCode = spec.cniCode
    this.details = details
  }
}

/** Shorthand: `throw fail('NR_CNI_BAD_CONF', 'missing "name"')`. */
export function fail (code: ErrorName, details: string, cause?: unknown): CniError {
  return new CniError(code, details, cause === undefined ? undefined : { cause })
}

/** The CNI error JSON for stdout. */
export function toErrorJson (err: CniError, cniVersion: string): { cniVersion: string, code: number, msg: string, details: string } {
  return { cniVersion, code: err.cniCode, msg: err.message, details: `${err.code}: ${err.details}` }
}
