// CNI versions: which the shim speaks, which verbs each version allows, and the
// result conversion between them. Internally every result is held in the 1.x shape
// (no `ips[].version`); convertResult adds or drops fields for the conf's cniVersion.
import { fail } from './errors.js'
import { isObject } from '../contract/json.js'

/** The cniVersions netrank-cni accepts in its conf, oldest first. */
export const SUPPORTED_VERSIONS = Object.freeze(['0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'] as const)
/** The newest version, reported by VERSION. */
export const CURRENT_VERSION = '1.1.0'

/** The CNI verbs. */
export const VERBS = ['ADD', 'DEL', 'CHECK', 'VERSION', 'STATUS', 'GC'] as const
/** One of VERBS. */
export type Verb = typeof VERBS[number]

// The first version that allows each verb (CHECK came in 0.4.0, STATUS and GC in 1.1.0).
const VERB_SINCE: Readonly<Record<Verb, string>> = Object.freeze({
  ADD: '0.1.0', DEL: '0.1.0', VERSION: '0.1.0', CHECK: '0.4.0', STATUS: '1.1.0', GC: '1.1.0',
})

/** Compares dotted numeric versions: negative, 0 or positive. Non-numeric parts count as 0. */
export function compareVersions (a: string, b: string): number {
  const pa = a.split('.').map(Number)
  const pb = b.split('.').map(Number)
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (Number.isFinite(pa[i]) ? pa[i] ?? 0 : 0) - (Number.isFinite(pb[i]) ? pb[i] ?? 0 : 0)
    if (d !== 0) return d
  }
  return 0
}

/** Throws code 1 unless `version` is one the shim speaks. */
export function assertSupportedVersion (version: unknown, where = 'cniVersion'): string {
  if (typeof version !== 'string' || !(SUPPORTED_VERSIONS as readonly string[]).includes(version)) {
    throw fail('NR_CNI_INCOMPATIBLE_VERSION', `${where} ${JSON.stringify(version)} is not one of ${SUPPORTED_VERSIONS.join(', ')}`)
  }
  return version
}

/** True when `verb` exists in `version` (e.g. CHECK needs ≥ 0.4.0). */
export function verbAllowed (verb: Verb, version: string): boolean {
  return compareVersions(version, VERB_SINCE[verb]) >= 0
}

/** Throws code 1 when `verb` is not defined for `version`. */
export function assertVerbAllowed (verb: Verb, version: string): void {
  if (!verbAllowed(verb, version)) {
    throw fail('NR_CNI_VERB_NOT_IN_VERSION', `${verb} needs cniVersion ${VERB_SINCE[verb]} or newer, the conf says ${version}`)
  }
}

/** A CNI interface entry. */
export interface CniInterface { name: string, mac?: string, mtu?: number, sandbox?: string, socketPath?: string, pciID?: string }
/** A CNI IP entry (1.x shape; `version` is added only when converting down). */
export interface CniIp { address: string, gateway?: string, interface?: number, version?: string }
/** A CNI route. mtu…scope are CNI 1.1.0 fields. */
export interface CniRoute { dst: string, gw?: string, mtu?: number, advmss?: number, priority?: number, table?: number, scope?: number }
/** CNI DNS settings. */
export interface CniDns { nameservers?: string[], domain?: string, search?: string[], options?: string[] }
/** A CNI ADD result. */
export interface CniResult { cniVersion: string, interfaces?: CniInterface[], ips?: CniIp[], routes?: CniRoute[], dns?: CniDns }

/**
 * Reads a result a plugin printed in `fromVersion` into the internal 1.x shape.
 * Accepts the 0.1/0.2 `ip4`/`ip6` form too (old delegates). Throws on a result that is not an object.
 */
export function normalizeResult (raw: unknown, fromVersion: string): CniResult {
  if (!isObject(raw)) throw new Error('result is not a JSON object')
  const out: CniResult = { cniVersion: '1.0.0' }
  if (Array.isArray(raw.interfaces)) out.interfaces = raw.interfaces.filter(isObject).map((i) => ({ ...i }) as unknown as CniInterface)
  const ips: CniIp[] = []
  if (Array.isArray(raw.ips)) {
    for (const ip of raw.ips.filter(isObject)) {
      if (typeof ip.address !== 'string') throw new Error('result ips[] entry without an address')
      const copy: CniIp = { address: ip.address }
      if (typeof ip.gateway === 'string') copy.gateway = ip.gateway
      if (typeof ip.interface === 'number') copy.interface = ip.interface
      ips.push(copy)
    }
  }
  const routes: CniRoute[] = Array.isArray(raw.routes) ? raw.routes.filter(isObject).map((r) => ({ ...r }) as unknown as CniRoute) : []
  // CNI 0.1/0.2: {ip4: {ip, gateway, routes}, ip6: {...}}
  if (compareVersions(fromVersion, '0.3.0') < 0) {
    for (const key of ['ip4', 'ip6']) {
      const v = raw[key]
      if (!isObject(v) || typeof v.ip !== 'string') continue
      ips.push({ address: v.ip, ...(typeof v.gateway === 'string' ? { gateway: v.gateway } : {}) })
      if (Array.isArray(v.routes)) routes.push(...v.routes.filter(isObject).map((r) => ({ ...r }) as unknown as CniRoute))
    }
  }
  if (ips.length > 0) out.ips = ips
  if (routes.length > 0) out.routes = routes
  if (isObject(raw.dns)) out.dns = { ...raw.dns } as CniDns
  return out
}

/** 4 or 6, from an address in CIDR or plain notation. */
export function ipFamily (address: string): '4' | '6' {
  return address.includes(':') ? '6' : '4'
}

const ROUTE_1_1_FIELDS = ['mtu', 'advmss', 'priority', 'table', 'scope'] as const

/** The result as `toVersion` prints it: `ips[].version` below 1.0.0, no 1.1.0-only fields below 1.1.0. */
export function convertResult (result: CniResult, toVersion: string): CniResult {
  const out: CniResult = { cniVersion: toVersion }
  const old = compareVersions(toVersion, '1.0.0') < 0
  const pre11 = compareVersions(toVersion, '1.1.0') < 0
  if (result.interfaces !== undefined) {
    out.interfaces = result.interfaces.map((i) => {
      const c: CniInterface = { ...i }
      if (pre11) { delete c.socketPath; delete c.pciID }
      return c
    })
  }
  if (result.ips !== undefined) {
    out.ips = result.ips.map((ip) => {
      const c: CniIp = old ? { version: ipFamily(ip.address), address: ip.address } : { address: ip.address }
      if (ip.gateway !== undefined) c.gateway = ip.gateway
      if (ip.interface !== undefined) c.interface = ip.interface
      return c
    })
  }
  if (result.routes !== undefined) {
    out.routes = result.routes.map((r) => {
      const c: CniRoute = { ...r }
      if (pre11) for (const f of ROUTE_1_1_FIELDS) delete c[f]
      return c
    })
  }
  if (result.dns !== undefined) out.dns = { ...result.dns }
  return out
}
