// Up-front checks of the selector's input: a bad input is a caller bug and gets a
// TypeError/RangeError that names the field, never a silently odd ranking.
import { isObject } from '../contract/json.js'
import { KPI_NAMES } from '../contract/kpis.js'
import { isCniName } from '../contract/names.js'
import type { RankInput, SelectInput } from './types.js'

const KPI_SET: ReadonlySet<string> = new Set(KPI_NAMES)
const isFiniteNumber = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x)

function checkWeights (weights: unknown, profile: string): void {
  if (!isObject(weights)) throw new TypeError(`selector: weights of profile "${profile}" must be an object KPI → weight`)
  let positive = 0
  for (const [k, v] of Object.entries(weights)) {
    if (!KPI_SET.has(k)) throw new RangeError(`selector: weights.${k} of profile "${profile}" is not a KPI; known: ${KPI_NAMES.join(', ')}`)
    if (!isFiniteNumber(v) || v < 0) throw new RangeError(`selector: weights.${k} of profile "${profile}" must be a finite number ≥ 0, got ${String(v)}`)
    if (v > 0) positive++
  }
  if (positive === 0) throw new RangeError(`selector: profile "${profile}" weighs no KPI (every weight is 0 or missing)`)
}

function checkOptions (o: unknown): void {
  if (!isObject(o)) throw new TypeError('selector: options must be an object')
  const inRange = (name: string, lo: number, hi: number, loOpen = false): void => {
    const v = o[name]
    if (!isFiniteNumber(v) || v > hi || (loOpen ? v <= lo : v < lo)) {
      throw new RangeError(`selector: options.${name} must be a number in ${loOpen ? '(' : '['}${lo}, ${hi}], got ${String(v)}`)
    }
  }
  inRange('tieBand', 0, 1)
  inRange('maxOccupancy', 0, 1, true)
  inRange('hysteresisMargin', 0, 1)
  inRange('spreadWindowMs', 0, Number.MAX_SAFE_INTEGER)
}

function checkSnapshot (s: unknown): void {
  if (!isObject(s)) throw new TypeError('selector: snapshot must be an object')
  if (!isFiniteNumber(s.atMs)) throw new RangeError(`selector: snapshot.atMs must be finite ms since the epoch, got ${String(s.atMs)}`)
  if (!isObject(s.plugins)) throw new TypeError('selector: snapshot.plugins must be an object plugin → readings')
  for (const [plugin, readings] of Object.entries(s.plugins)) {
    if (!isObject(readings)) throw new TypeError(`selector: snapshot.plugins.${plugin} must be an object KPI → reading`)
    for (const [kpi, r] of Object.entries(readings)) {
      if (r === undefined) continue
      const at = `snapshot.plugins.${plugin}.${kpi}`
      if (!KPI_SET.has(kpi)) throw new RangeError(`selector: ${at} is not a KPI`)
      if (!isObject(r)) throw new TypeError(`selector: ${at} must be a reading object`)
      if (!isFiniteNumber(r.value)) throw new RangeError(`selector: ${at}.value must be a finite number, got ${String(r.value)}`)
      if (!isFiniteNumber(r.ageMs) || r.ageMs < 0) throw new RangeError(`selector: ${at}.ageMs must be a finite number ≥ 0, got ${String(r.ageMs)}`)
      if (typeof r.stale !== 'boolean') throw new TypeError(`selector: ${at}.stale must be a boolean`)
      if (!isFiniteNumber(r.samples) || r.samples < 0) throw new RangeError(`selector: ${at}.samples must be a number ≥ 0`)
    }
  }
}

function checkCatalog (c: unknown): void {
  if (!Array.isArray(c)) throw new TypeError('selector: catalog must be an array of {name}')
  const seen = new Set<string>()
  c.forEach((e: unknown, i) => {
    if (!isObject(e) || typeof e.name !== 'string' || e.name === '') throw new TypeError(`selector: catalog[${i}].name must be a non-empty string`)
    if (!isCniName(e.name)) throw new RangeError(`selector: catalog[${i}].name "${e.name}" is not a CNI network name (letters, digits, _ . -; a letter or digit first)`)
    if (seen.has(e.name)) throw new RangeError(`selector: catalog[${i}].name "${e.name}" appears twice; plugin names must be unique`)
    seen.add(e.name)
    if (e.costPerGiB !== undefined && (!isFiniteNumber(e.costPerGiB) || e.costPerGiB < 0)) {
      throw new RangeError(`selector: catalog[${i}].costPerGiB must be a finite number ≥ 0, got ${String(e.costPerGiB)}`)
    }
  })
}

/** Throws TypeError/RangeError naming the first bad field of a rank() input. */
export function validateRankInput (input: RankInput): void {
  if (!isObject(input)) throw new TypeError('selector: input must be an object')
  if (typeof input.profileName !== 'string' || input.profileName === '') throw new TypeError('selector: profileName must be a non-empty string')
  checkSnapshot(input.snapshot)
  checkCatalog(input.catalog)
  checkWeights(input.weights, input.profileName)
  checkOptions(input.options)
}

/** Throws TypeError/RangeError naming the first bad field of a select() input (rank() checks the rest). */
export function validateSelectInput (input: SelectInput): void {
  if (!isObject(input)) throw new TypeError('selector: input must be an object')
  if (!Array.isArray(input.recent)) throw new TypeError('selector: recent must be an array of {plugin, atMs}')
  input.recent.forEach((p: unknown, i) => {
    if (!isObject(p) || typeof p.plugin !== 'string' || !isFiniteNumber(p.atMs)) {
      throw new TypeError(`selector: recent[${i}] must be {plugin: string, atMs: finite ms}`)
    }
  })
  if (input.previousLeader !== undefined && typeof input.previousLeader !== 'string') {
    throw new TypeError('selector: previousLeader must be a plugin name or undefined')
  }
}

