/**
 * Loads the agent config (YAML or JSON) and validates it against CONFIG_SCHEMA, which also
 * fills every default, then checks the rules across fields. Every problem is collected,
 * none hides another. What is left to code is not a default but a transformation: paths
 * resolved against the config file's folder, the node's host name, the token from the env.
 */
import { readFile } from 'node:fs/promises'
import { hostname } from 'node:os'
import { dirname, resolve } from 'node:path'
import { Ajv } from 'ajv'
import { parse as parseYaml } from 'yaml'
import { isObject } from '../../contract/json.js'
import { KPI_NAMES } from '../../contract/kpis.js'
import type { KpiName } from '../../contract/kpis.js'
import { parseExpectedBandwidth } from '../../contract/bandwidth.js'
import { BUILTIN_PROFILES, CRITERIA } from '../../selector/index.js'
import type { Criterion, CriterionWeights, Demand, Profile, SelectorOptions } from '../../selector/types.js'
import { describeAjvError } from '../validation-messages.js'
import { CONFIG_SCHEMA } from './schema.js'
import type { AgentConfig } from './schema.js'

export type { AgentConfig, CadvisorConfig, CniPathsConfig, IpamConfig, ProbesConfig, StaticKpi, TrafficSourceName } from './schema.js'

/** Thrown for an unusable config; `problems` holds one line per problem, each naming its path. */
export class ConfigError extends Error {
  readonly problems: string[]
  constructor (source: string, problems: string[]) {
    super(`invalid config ${source}: ${problems.length} problem(s)\n${problems.map((p) => `  - ${p}`).join('\n')}`)
    this.name = 'ConfigError'
    this.problems = problems
  }
}

export interface ParseOptions {
  /** where relative paths (audit.dir, kubernetes.kubeconfig) are resolved; the config file's folder */
  baseDir?: string
  /** NETRANK_SELECT_TOKEN is read from here */
  env?: NodeJS.ProcessEnv
  /** used in error messages */
  source?: string
}

// useDefaults: Ajv fills every absent field from the schema's `default` while it validates
const ajv = new Ajv({ allErrors: true, strict: true, useDefaults: true })
const validate = ajv.compile(CONFIG_SCHEMA)

/** Every profile name a config may use: the built-ins plus the operator's. */
export function profileNames (config: AgentConfig): string[] {
  return [...Object.keys(BUILTIN_PROFILES), ...Object.keys(config.selector.profiles)]
}

/**
 * Old profiles weighed KPIs; each KPI now feeds one criterion. A KPI-keyed profile is read
 * through this map (several KPIs of one criterion add up).
 */
export const KPI_CRITERION: Readonly<Record<KpiName, Criterion>> = Object.freeze({
  rxBps: 'utilisation',
  txBps: 'utilisation',
  usageBps: 'utilisation',
  headroomBps: 'utilisation',
  capacityBps: 'capacity',
  capacityRxBps: 'capacity',
  capacityTxBps: 'capacity',
  latencySeconds: 'latency',
  latencyP99Seconds: 'latency',
  loadedLatencySeconds: 'latency',
  responseTimeSeconds: 'latency',
  ipUsed: 'occupancy',
  ipCapacity: 'occupancy',
  ipOccupancy: 'occupancy',
  ipSubnets: 'occupancy',
  ipFree: 'occupancy',
  costPerGiB: 'cost',
  probeFailureRatio: 'probeHealth',
})

type OperatorProfile = AgentConfig['selector']['profiles'][string]

function isCriterionProfile (p: OperatorProfile): p is Extract<OperatorProfile, { weights: unknown }> {
  return isObject(p) && isObject((p as { weights?: unknown }).weights)
}

/** An operator profile's weights by criterion (KPI-keyed ones through KPI_CRITERION). */
function criterionWeights (p: OperatorProfile): CriterionWeights {
  if (isCriterionProfile(p)) return p.weights
  const out: CriterionWeights = {}
  for (const [k, v] of Object.entries(p as Partial<Record<KpiName, number>>)) {
    const c = KPI_CRITERION[k as KpiName]
    out[c] = (out[c] ?? 0) + (v ?? 0)
  }
  return out
}

function demandOf (s: string): Demand {
  const d = parseExpectedBandwidth(s)
  if (!d.ok) throw new Error(`expected bandwidth '${s}' is invalid: ${d.why}`) // validated at load: a bug if reached
  return { rxBps: d.rxBps, txBps: d.txBps }
}

/** A profile as the selector uses it, built-in or operator-defined; undefined when unknown. */
export function profileOf (config: AgentConfig, name: string): Profile | undefined {
  const sel = config.selector
  const base = { targets: { ...sel.targets }, demand: demandOf(sel.expectedBandwidth) }
  if (Object.hasOwn(sel.profiles, name)) {
    const p = sel.profiles[name] as OperatorProfile
    if (!isCriterionProfile(p)) return { ...base, weights: criterionWeights(p) }
    return {
      weights: p.weights,
      targets: { ...base.targets, ...p.targets },
      demand: p.expectedBandwidth !== undefined ? demandOf(p.expectedBandwidth) : base.demand,
    }
  }
  if (Object.hasOwn(BUILTIN_PROFILES, name)) return { ...base, weights: (BUILTIN_PROFILES as Record<string, CriterionWeights>)[name] as CriterionWeights }
  return undefined
}

/** Reads and validates a config file; `.json` is parsed as JSON, anything else as YAML (a superset). */
export async function loadConfig (file: string, env: NodeJS.ProcessEnv = process.env): Promise<AgentConfig> {
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (err) {
    throw new ConfigError(file, [`cannot read the file: ${(err as Error).message}`])
  }
  let raw: unknown
  try {
    raw = file.endsWith('.json') ? JSON.parse(text) : parseYaml(text)
  } catch (err) {
    throw new ConfigError(file, [`not valid ${file.endsWith('.json') ? 'JSON' : 'YAML'}: ${(err as Error).message}`])
  }
  return parseConfig(raw, { baseDir: dirname(resolve(file)), env, source: file })
}

/** Validates an already parsed config object and fills in defaults. */
export function parseConfig (raw: unknown, opts: ParseOptions = {}): AgentConfig {
  const source = opts.source ?? '(inline)'
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new ConfigError(source, ['/: must be an object with at least `plugins`'])
  }
  // Ajv writes the defaults into what it validates: work on a copy, never the caller's object
  const filled = structuredClone(raw) as Record<string, unknown>
  const problems = expandStaleAfterMs(filled)
  // an if/then/else failure is said by the branch's own errors; its summary line would repeat them
  if (!validate(filled)) problems.push(...(validate.errors ?? []).filter((e) => e.keyword !== 'if').map((e) => describeAjvError(e)))
  problems.push(...crossFieldProblems(filled))
  if (problems.length > 0) throw new ConfigError(source, [...new Set(problems)])
  return resolved(filled as unknown as AgentConfig, opts)
}

/** The selector's options from a validated config. */
export function selectorOptions (config: AgentConfig): SelectorOptions {
  const { tieBand, maxOccupancy, hysteresisSnapshots, spreadWindowMs, exploreEvery, singleSampleUncertainty, priors } = config.selector
  return { tieBand, maxOccupancy, hysteresisSnapshots, spreadWindowMs, exploreEvery, singleSampleUncertainty, priors: { ...priors } }
}

// `staleAfterMs: 60000` in the file means that many ms for every KPI.
function expandStaleAfterMs (raw: Record<string, unknown>): string[] {
  const sel = raw.selector
  if (!isObject(sel) || typeof sel.staleAfterMs !== 'number') return []
  const ms = sel.staleAfterMs
  if (!Number.isInteger(ms) || ms < 1) {
    delete sel.staleAfterMs
    return ['/selector/staleAfterMs: must be an integer number of ms ≥ 1, or a map {kpi: ms}']
  }
  sel.staleAfterMs = Object.fromEntries(KPI_NAMES.map((k) => [k, ms]))
  return []
}


// Rules a JSON schema cannot say well, on the defaulted config. Each guards on the shape,
// so a type error is reported once, by the schema.
function crossFieldProblems (raw: Record<string, unknown>): string[] {
  const problems: string[] = []
  const plugins = Array.isArray(raw.plugins) ? raw.plugins : []
  const names = plugins.map((p) => (isObject(p) ? p.name : undefined))
  const known = new Set(names.filter((n): n is string => typeof n === 'string'))
  const seen = new Set<string>()
  names.forEach((n, i) => {
    if (typeof n !== 'string') return
    if (seen.has(n)) problems.push(`/plugins/${i}/name: '${n}' is listed twice; plugin names must be unique`)
    seen.add(n)
  })
  const collectors = isObject(raw.collectors) ? raw.collectors : {}
  const kpis = isObject(collectors.static) ? collectors.static.kpis : undefined
  if (Array.isArray(kpis)) {
    kpis.forEach((k, i) => {
      if (isObject(k) && typeof k.plugin === 'string' && known.size > 0 && !known.has(k.plugin)) {
        problems.push(`/collectors/static/kpis/${i}/plugin: '${k.plugin}' is not in plugins (known: ${[...known].join(', ')})`)
      }
    })
  }
  const selector = isObject(raw.selector) ? raw.selector : {}
  const builtins = Object.keys(BUILTIN_PROFILES)
  const profiles = isObject(selector.profiles) ? selector.profiles : {}
  const operator = Object.keys(profiles)
  for (const [name, p] of Object.entries(profiles)) {
    if (builtins.includes(name)) {
      problems.push(`/selector/profiles/${name}: '${name}' is a built-in profile; give yours another name (built-ins: ${builtins.join(', ')})`)
    }
    const w = isObject(p) && isObject(p.weights) ? p.weights : p
    if (isObject(w)) {
      const values = Object.values(w)
      if (values.every((v) => typeof v === 'number' && v >= 0) && values.reduce((a: number, v) => a + (v as number), 0) <= 0) {
        problems.push(`/selector/profiles/${name}: weights must have a positive sum (set at least one of ${CRITERIA.join(', ')} above 0)`)
      }
    }
    if (isObject(p) && typeof p.expectedBandwidth === 'string') problems.push(...bandwidthProblem(`/selector/profiles/${name}/expectedBandwidth`, p.expectedBandwidth))
  }
  if (typeof selector.expectedBandwidth === 'string') problems.push(...bandwidthProblem('/selector/expectedBandwidth', selector.expectedBandwidth))
  const dp = selector.defaultProfile
  if (typeof dp === 'string' && !builtins.includes(dp) && !operator.includes(dp)) {
    problems.push(`/selector/defaultProfile: '${dp}' is not a profile (known: ${[...builtins, ...operator].join(', ')})`)
  }
  const kube = isObject(raw.kubernetes) ? raw.kubernetes : {}
  if (kube.inCluster === true && typeof kube.kubeconfig === 'string') {
    problems.push('/kubernetes: set either kubeconfig or inCluster: true, not both')
  }
  const hasKube = typeof kube.kubeconfig === 'string' || kube.inCluster === true
  problems.push(...collectorProblems(collectors, hasKube))
  if (isObject(raw.shimToken) && raw.shimToken.enabled === true && !hasKube) {
    problems.push('/shimToken: the shim\'s token is minted through the Kubernetes API (TokenRequest); set kubernetes.kubeconfig or kubernetes.inCluster: true')
  }
  return problems
}

function bandwidthProblem (path: string, s: string): string[] {
  const d = parseExpectedBandwidth(s)
  return d.ok ? [] : [`${path}: ${d.why}`]
}

const num = (o: Record<string, unknown>, key: string): number | undefined => (typeof o[key] === 'number' ? o[key] : undefined)

// The live collectors' rules across fields; only for enabled collectors, so a disabled one stays minimal.
function collectorProblems (collectors: Record<string, unknown>, hasKube: boolean): string[] {
  const problems: string[] = []
  const pr = collectors.probes
  if (isObject(pr) && pr.enabled === true) {
    if (!hasKube) problems.push('/collectors/probes: probe pods are found through the Kubernetes API; set kubernetes.kubeconfig or kubernetes.inCluster: true (or disable probes)')
    const ip = isObject(pr.iperf3) ? pr.iperf3 : {}
    const [dur, omit, timeout, interval] = [num(ip, 'durationSeconds'), num(ip, 'omitSeconds'), num(ip, 'timeoutMs'), num(ip, 'intervalMs')]
    if (dur !== undefined && omit !== undefined && timeout !== undefined && interval !== undefined) {
      // iperf3 runs omit + duration seconds, plus connection set-up: the kill must come later
      if (timeout <= (dur + omit) * 1000) {
        problems.push(`/collectors/probes/iperf3/timeoutMs: ${timeout} ms kills iperf3 before its ${dur + omit} s run (omitSeconds + durationSeconds) ends; make it at least ${(dur + omit + 2) * 1000}`)
      }
      if (interval < timeout) problems.push(`/collectors/probes/iperf3/intervalMs: ${interval} ms is shorter than timeoutMs (${timeout} ms); runs would queue up`)
    }
  }
  const ca = collectors.cadvisor
  if (isObject(ca) && ca.enabled === true) {
    const interval = num(ca, 'intervalMs')
    const win = num(ca, 'windowMs')
    if (interval !== undefined && win !== undefined && win < interval) problems.push(`/collectors/cadvisor/windowMs: ${win} ms is shorter than intervalMs (${interval} ms); a rate needs two scrapes inside the window`)
    if (ca.source === 'node-proxy-metrics' && ca.url === CONFIG_SCHEMA.properties.collectors.properties.cadvisor.properties.url.default) {
      problems.push('/collectors/cadvisor/url: node-proxy-metrics needs the API server\'s URL (e.g. https://10.96.0.1:443)')
    }
    if ((ca.source === 'cadvisor-v1' || ca.source === 'cadvisor-v2') && ca.url === CONFIG_SCHEMA.properties.collectors.properties.cadvisor.properties.url.default) {
      problems.push(`/collectors/cadvisor/url: ${ca.source} needs the cAdvisor's URL (e.g. http://127.0.0.1:8080)`)
    }
  }
  const ipam = collectors.ipam
  if (isObject(ipam) && ipam.enabled === true && ipam.whereabouts === true && !hasKube) {
    problems.push('/collectors/ipam/whereabouts: IPPools are read through the Kubernetes API; set kubernetes.kubeconfig or kubernetes.inCluster: true')
  }
  return problems
}

// The defaulted config made concrete: relative paths against the config file's folder, the
// host name as the node, the select token from the environment when the file has none.
function resolved (c: AgentConfig, opts: ParseOptions): AgentConfig {
  const baseDir = opts.baseDir ?? process.cwd()
  const env = opts.env ?? {}
  const envToken = env.NETRANK_SELECT_TOKEN !== undefined && env.NETRANK_SELECT_TOKEN !== '' ? env.NETRANK_SELECT_TOKEN : undefined
  const token = c.auth.selectToken ?? envToken
  const at = (p: string): string => resolve(baseDir, p)
  const ca = c.collectors.cadvisor
  return {
    ...c,
    node: c.node ?? hostname(),
    collectors: {
      ...c.collectors,
      cadvisor: {
        ...ca,
        url: ca.url.replace(/\/+$/, ''),
        criSocket: at(ca.criSocket),
        ...(ca.tokenFile !== undefined ? { tokenFile: at(ca.tokenFile) } : {}),
        ...(ca.caFile !== undefined ? { caFile: at(ca.caFile) } : {}),
      },
    },
    listen: { ...c.listen, socket: c.listen.socket === '' ? '' : at(c.listen.socket) },
    shimToken: { ...c.shimToken, file: at(c.shimToken.file) },
    cni: { confDir: at(c.cni.confDir), stateDir: at(c.cni.stateDir), hostLocalDataDir: at(c.cni.hostLocalDataDir) },
    audit: { ...c.audit, dir: at(c.audit.dir) },
    kubernetes: { ...c.kubernetes, ...(c.kubernetes.kubeconfig !== undefined ? { kubeconfig: at(c.kubernetes.kubeconfig) } : {}) },
    auth: token !== undefined ? { selectToken: token } : {},
  }
}
