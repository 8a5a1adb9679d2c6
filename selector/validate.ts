// Up-front checks of the selector's input: a bad input is a caller bug and gets a
// TypeError/RangeError that names the field, never a silently odd ranking.
import { isObject } from '../contract/json.js'
import { KPI_NAMES } from '../contract/kpis.js'
import { isCniName } from '../contract/names.js'
import { CRITERIA } from './types.js'
import type { RankInput, SelectInput } from './types.js'

const KPI_SET: ReadonlySet<string> = new Set(KPI_NAMES)
const isFiniteNumber = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x)

const CRITERIA_SET: ReadonlySet<string> = new Set(CRITERIA)

function checkProfile (profile: unknown, name: string): void {
  if (!isObject(profile)) throw new TypeError(`selector: profile "${name}" must be an object {weights, targets, demand}`)
  const weights = profile.weights
  if (!isObject(weights)) throw new TypeError(`selector: weights of profile "${name}" must be an object criterion → weight`)
  let positive = 0
  for (const [k, v] of Object.entries(weights)) {
    if (!CRITERIA_SET.has(k)) throw new RangeError(`selector: weights.${k} of profile "${name}" is not a criterion; known: ${CRITERIA.join(', ')}`)
    if (!isFiniteNumber(v) || v < 0) throw new RangeError(`selector: weights.${k} of profile "${name}" must be a finite number ≥ 0, got ${String(v)}`)
    if (v > 0) positive++
  }
  if (positive === 0) throw new RangeError(`selector: profile "${name}" weighs no criterion (every weight is 0 or missing)`)
  const t = profile.targets
  if (!isObject(t)) throw new TypeError(`selector: targets of profile "${name}" must be an object`)
  for (const k of ['latencySeconds', 'capacityBps', 'costPerGiB']) {
    if (!isFiniteNumber(t[k]) || t[k] <= 0) throw new RangeError(`selector: targets.${k} of profile "${name}" must be a finite number > 0, got ${String(t[k])}`)
  }
  checkDemand(profile.demand, `demand of profile "${name}"`)
}

function checkDemand (d: unknown, what: string | (() => string)): void {
  const name = (): string => typeof what === 'string' ? what : what()
  if (!isObject(d)) throw new TypeError(`selector: ${name()} must be {rxBps, txBps}`)
  const { rxBps, txBps } = d
  if (!isFiniteNumber(rxBps) || rxBps < 0) throw new RangeError(`selector: ${name()}.rxBps must be a finite number ≥ 0, got ${String(rxBps)}`)
  if (!isFiniteNumber(txBps) || txBps < 0) throw new RangeError(`selector: ${name()}.txBps must be a finite number ≥ 0, got ${String(txBps)}`)
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
  inRange('spreadWindowMs', 0, Number.MAX_SAFE_INTEGER)
  inRange('singleSampleUncertainty', 0, 1)
  for (const k of ['hysteresisSnapshots', 'exploreEvery']) {
    const v = o[k]
    if (!Number.isInteger(v) || (v as number) < (k === 'exploreEvery' ? 0 : 1)) {
      throw new RangeError(`selector: options.${k} must be an integer ≥ ${k === 'exploreEvery' ? 0 : 1}, got ${String(v)}`)
    }
  }
  const p = o.priors
  if (!isObject(p)) throw new TypeError('selector: options.priors must be an object')
  for (const [k, hi] of [['latencySeconds', Infinity], ['capacityBps', Infinity], ['probeFailureRatio', 1], ['ipOccupancy', 1], ['costFactor', Infinity]] as const) {
    const v = p[k]
    if (!isFiniteNumber(v) || v < 0 || v > hi) throw new RangeError(`selector: options.priors.${k} must be a finite number in [0, ${hi}], got ${String(v)}`)
  }
}

function checkSnapshot (s: unknown): void {
  if (!isObject(s)) throw new TypeError('selector: snapshot must be an object')
  if (!isFiniteNumber(s.atMs)) throw new RangeError(`selector: snapshot.atMs must be finite ms since the epoch, got ${String(s.atMs)}`)
  if (!isObject(s.plugins)) throw new TypeError('selector: snapshot.plugins must be an object plugin → readings')
  // Object.keys rather than entries: this runs on every /v1/select, over every reading
  const plugins = s.plugins
  for (const plugin of Object.keys(plugins)) {
    const readings = plugins[plugin]
    if (!isObject(readings)) throw new TypeError(`selector: snapshot.plugins.${plugin} must be an object KPI → reading`)
    for (const kpi of Object.keys(readings)) {
      const r = readings[kpi] as Record<string, unknown> | undefined
      if (r === undefined) continue
      if (!KPI_SET.has(kpi) || typeof r !== 'object' || r === null || !isFiniteNumber(r.value) || !isFiniteNumber(r.ageMs) || r.ageMs < 0 ||
        typeof r.stale !== 'boolean' || !isFiniteNumber(r.samples) || r.samples < 0) badReading(`snapshot.plugins.${plugin}.${kpi}`, kpi, r)
    }
  }
}

/** Names what is wrong with a reading that failed the fast check (only built on failure). */
function badReading (at: string, kpi: string, r: unknown): never {
  if (!KPI_SET.has(kpi)) throw new RangeError(`selector: ${at} is not a KPI`)
  if (!isObject(r)) throw new TypeError(`selector: ${at} must be a reading object`)
  if (!isFiniteNumber(r.value)) throw new RangeError(`selector: ${at}.value must be a finite number, got ${String(r.value)}`)
  if (!isFiniteNumber(r.ageMs) || r.ageMs < 0) throw new RangeError(`selector: ${at}.ageMs must be a finite number ≥ 0, got ${String(r.ageMs)}`)
  if (typeof r.stale !== 'boolean') throw new TypeError(`selector: ${at}.stale must be a boolean`)
  throw new RangeError(`selector: ${at}.samples must be a number ≥ 0`)
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
  checkProfile(input.profile, input.profileName)
  checkOptions(input.options)
  if (input.demand !== undefined) checkDemand(input.demand, 'demand')
  checkRecent(input.recent)
}

// Runs on every decision over up to 2,048 placements: a plain loop with the cheap test first,
// the named error only for the entry that fails it.
function checkRecent (recent: unknown): void {
  if (!Array.isArray(recent)) throw new TypeError('selector: recent must be an array of {plugin, atMs, rxBps, txBps}')
  for (let i = 0; i < recent.length; i++) {
    const p: unknown = recent[i]
    if (isObject(p) && typeof p.plugin === 'string' && isFiniteNumber(p.atMs) && isFiniteNumber(p.rxBps) && p.rxBps >= 0 && isFiniteNumber(p.txBps) && p.txBps >= 0) continue
    if (!isObject(p) || typeof p.plugin !== 'string' || !isFiniteNumber(p.atMs)) {
      throw new TypeError(`selector: recent[${i}] must be {plugin: string, atMs: finite ms, rxBps, txBps}`)
    }
    checkDemand(p, `recent[${i}]`)
  }
}

/** Throws TypeError/RangeError naming the first bad field of a select() input's own fields (rank() checks the rest, recent included). */
export function validateSelectInput (input: SelectInput): void {
  if (!isObject(input)) throw new TypeError('selector: input must be an object')
  if (!Number.isSafeInteger(input.seed)) throw new TypeError(`selector: seed must be a safe integer, got ${String(input.seed)}`)
  if (!Number.isInteger(input.sinceExplore) || input.sinceExplore < 0) throw new RangeError(`selector: sinceExplore must be an integer ≥ 0, got ${String(input.sinceExplore)}`)
  const p: unknown = input.previous
  if (p !== undefined) {
    if (!isObject(p) || typeof p.leader !== 'string' || !Number.isInteger(p.leads) || (p.leads as number) < 0 || !isFiniteNumber(p.snapshotAtMs) ||
      (p.challenger !== undefined && typeof p.challenger !== 'string')) {
      throw new TypeError('selector: previous must be {leader: string, challenger?: string, leads: integer ≥ 0, snapshotAtMs: ms} or undefined')
    }
  }
}
