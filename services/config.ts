/**
 * Loads the agent config (YAML or JSON), validates it against CONFIG_SCHEMA plus the
 * cross-field rules, and merges DEFAULTS. Every problem is collected, none hides another.
 */
import { readFile } from 'node:fs/promises'
import { hostname } from 'node:os'
import { dirname, resolve } from 'node:path'
import { Ajv } from 'ajv'
import { parse as parseYaml } from 'yaml'
import { BUILTIN_PROFILES } from '../selector/index.js'
import { KPI_NAMES } from '../selector/types.js'
import type { KpiName, PluginEntry, ProfileWeights } from '../selector/types.js'
import { DEFAULTS } from './config-defaults.js'
import { CONFIG_SCHEMA } from './config-schema.js'
import { describeAjvError } from './validation-messages.js'

export interface StaticKpi {
  plugin: string
  kpi: KpiName
  value: number
}

/** Where the cadvisor collector reads pod interface counters (docs/collectors.md). */
export type TrafficSourceName = 'kubelet-metrics' | 'node-proxy-metrics' | 'kubelet-summary' | 'cadvisor-v1' | 'cadvisor-v2'

export interface CadvisorConfig {
  enabled: boolean
  source: TrafficSourceName
  /** kubelet base URL; the API server's for node-proxy-metrics; cAdvisor's for cadvisor-* */
  url: string
  /** bearer token file, re-read every cycle (service-account tokens rotate) */
  tokenFile?: string
  caFile?: string
  insecureSkipTlsVerify: boolean
  intervalMs: number
  windowMs: number
  timeoutMs: number
  maxResponseBytes: number
}

export interface ProbesConfig {
  enabled: boolean
  podLabel: string
  port: number
  iperf3: { intervalMs: number, durationSeconds: number, omitSeconds: number, timeoutMs: number, jitterRatio: number }
  rtt: { intervalMs: number, count: number, connectTimeoutMs: number }
  budget: { maxBytes: number, windowMs: number }
  samples: number
}

export interface IpamConfig {
  enabled: boolean
  intervalMs: number
  whereabouts: boolean
}

/** Where this node's CNI state is. */
export interface CniPathsConfig {
  confDir: string
  stateDir: string
  hostLocalDataDir: string
}

/** The validated config with every default filled in. */
export interface AgentConfig {
  node: string
  listen: { host: string, port: number }
  plugins: PluginEntry[]
  collectors: {
    static: { intervalMs: number, kpis: StaticKpi[] }
    cadvisor: CadvisorConfig
    probes: ProbesConfig
    ipam: IpamConfig
  }
  cni: CniPathsConfig
  selector: {
    /** operator profiles only; the built-ins come from the selector */
    profiles: Record<string, ProfileWeights>
    tieBand: number
    maxOccupancy: number
    hysteresisMargin: number
    spreadWindowMs: number
    staleAfterMs: number | Partial<Record<KpiName, number>>
    windowMs: number
    maxSamplesPerSeries: number
    defaultProfile: string
  }
  audit: { dir: string, maxFileBytes: number, maxFiles: number }
  kubernetes: { kubeconfig?: string, inCluster: boolean }
  auth: { selectToken?: string }
}

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

const ajv = new Ajv({ allErrors: true, strict: true })
const validate = ajv.compile(CONFIG_SCHEMA)

/** Every profile name a config may use: the built-ins plus the operator's. */
export function profileNames (config: AgentConfig): string[] {
  return [...Object.keys(BUILTIN_PROFILES), ...Object.keys(config.selector.profiles)]
}

/** The weights of a profile, built-in or operator-defined; undefined when unknown. */
export function profileWeights (config: AgentConfig, name: string): ProfileWeights | undefined {
  if (Object.hasOwn(config.selector.profiles, name)) return config.selector.profiles[name]
  if (Object.hasOwn(BUILTIN_PROFILES, name)) return (BUILTIN_PROFILES as Record<string, ProfileWeights>)[name]
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
  const problems: string[] = []
  if (!validate(raw)) problems.push(...(validate.errors ?? []).map((e) => describeAjvError(e)))
  problems.push(...crossFieldProblems(raw as RawConfig))
  if (problems.length > 0) throw new ConfigError(source, [...new Set(problems)])
  return withDefaults(raw as RawConfig, opts)
}

type RawProbes = Partial<Omit<ProbesConfig, 'iperf3' | 'rtt' | 'budget'>> & {
  iperf3?: Partial<ProbesConfig['iperf3']>
  rtt?: Partial<ProbesConfig['rtt']>
  budget?: Partial<ProbesConfig['budget']>
}

// The raw shape after the schema passed; fields may be absent.
interface RawConfig {
  node?: string
  listen?: { host?: string, port?: number }
  plugins?: PluginEntry[]
  collectors?: {
    static?: { intervalMs?: number, kpis?: StaticKpi[] }
    cadvisor?: Partial<CadvisorConfig>
    probes?: RawProbes
    ipam?: Partial<IpamConfig>
  }
  cni?: Partial<CniPathsConfig>
  selector?: Partial<AgentConfig['selector']>
  audit?: Partial<AgentConfig['audit']>
  kubernetes?: { kubeconfig?: string, inCluster?: boolean }
  auth?: { selectToken?: string }
}

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v)

// Rules a JSON schema cannot say well. Each guards on the shape so a type error is reported once, by the schema.
function crossFieldProblems (raw: RawConfig): string[] {
  const problems: string[] = []
  const names = Array.isArray(raw.plugins) ? raw.plugins.map((p) => (isObject(p) ? p.name : undefined)) : []
  const known = new Set(names.filter((n): n is string => typeof n === 'string'))
  const seen = new Set<string>()
  names.forEach((n, i) => {
    if (typeof n !== 'string') return
    if (seen.has(n)) problems.push(`/plugins/${i}/name: '${n}' is listed twice; plugin names must be unique`)
    seen.add(n)
  })

  const kpis = raw.collectors?.static?.kpis
  if (Array.isArray(kpis)) {
    kpis.forEach((k, i) => {
      if (isObject(k) && typeof k.plugin === 'string' && known.size > 0 && !known.has(k.plugin)) {
        problems.push(`/collectors/static/kpis/${i}/plugin: '${k.plugin}' is not in plugins (known: ${[...known].join(', ')})`)
      }
    })
  }

  const builtins = Object.keys(BUILTIN_PROFILES)
  const profiles = raw.selector?.profiles
  const operator = isObject(profiles) ? Object.keys(profiles) : []
  if (isObject(profiles)) {
    for (const [name, w] of Object.entries(profiles)) {
      if (builtins.includes(name)) {
        problems.push(`/selector/profiles/${name}: '${name}' is a built-in profile; give yours another name (built-ins: ${builtins.join(', ')})`)
      }
      if (isObject(w)) {
        const values = Object.values(w)
        if (values.every((v) => typeof v === 'number' && v >= 0) && values.reduce((a: number, v) => a + (v as number), 0) <= 0) {
          problems.push(`/selector/profiles/${name}: weights must have a positive sum (set at least one of ${KPI_NAMES.join(', ')} above 0)`)
        }
      }
    }
  }
  const dp = raw.selector?.defaultProfile
  if (typeof dp === 'string' && !builtins.includes(dp) && !operator.includes(dp)) {
    problems.push(`/selector/defaultProfile: '${dp}' is not a profile (known: ${[...builtins, ...operator].join(', ')})`)
  }

  const stale = raw.selector?.staleAfterMs
  if (stale !== undefined) {
    if (isObject(stale)) {
      for (const [k, v] of Object.entries(stale)) {
        if (!(KPI_NAMES as readonly string[]).includes(k)) {
          problems.push(`/selector/staleAfterMs/${k}: not a KPI (known: ${KPI_NAMES.join(', ')})`)
        } else if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) {
          problems.push(`/selector/staleAfterMs/${k}: must be an integer number of ms ≥ 1`)
        }
      }
    } else if (typeof stale !== 'number' || !Number.isInteger(stale) || stale < 1) {
      problems.push('/selector/staleAfterMs: must be an integer number of ms ≥ 1, or a map {kpi: ms}')
    }
  }

  if (raw.kubernetes?.inCluster === true && typeof raw.kubernetes.kubeconfig === 'string') {
    problems.push('/kubernetes: set either kubeconfig or inCluster: true, not both')
  }
  problems.push(...collectorProblems(raw))
  return problems
}

// The live collectors' rules across fields; only for enabled collectors, so a disabled one stays minimal.
function collectorProblems (raw: RawConfig): string[] {
  const problems: string[] = []
  const hasKube = typeof raw.kubernetes?.kubeconfig === 'string' || raw.kubernetes?.inCluster === true
  const pr = raw.collectors?.probes
  if (isObject(pr) && pr.enabled === true) {
    if (!hasKube) problems.push('/collectors/probes: probe pods are found through the Kubernetes API; set kubernetes.kubeconfig or kubernetes.inCluster: true (or disable probes)')
    const d = DEFAULTS.collectors.probes.iperf3
    const ip = isObject(pr.iperf3) ? pr.iperf3 : {}
    const dur = typeof ip.durationSeconds === 'number' ? ip.durationSeconds : d.durationSeconds
    const omit = typeof ip.omitSeconds === 'number' ? ip.omitSeconds : d.omitSeconds
    const timeout = typeof ip.timeoutMs === 'number' ? ip.timeoutMs : d.timeoutMs
    const interval = typeof ip.intervalMs === 'number' ? ip.intervalMs : d.intervalMs
    // iperf3 runs omit + duration seconds, plus connection set-up: the kill must come later
    if (timeout <= (dur + omit) * 1000) {
      problems.push(`/collectors/probes/iperf3/timeoutMs: ${timeout} ms kills iperf3 before its ${dur + omit} s run (omitSeconds + durationSeconds) ends; make it at least ${(dur + omit + 2) * 1000}`)
    }
    if (interval < timeout) problems.push(`/collectors/probes/iperf3/intervalMs: ${interval} ms is shorter than timeoutMs (${timeout} ms); runs would queue up`)
  }
  const ca = raw.collectors?.cadvisor
  if (isObject(ca) && ca.enabled === true) {
    const d = DEFAULTS.collectors.cadvisor
    const interval = typeof ca.intervalMs === 'number' ? ca.intervalMs : d.intervalMs
    const win = typeof ca.windowMs === 'number' ? ca.windowMs : d.windowMs
    if (win < interval) problems.push(`/collectors/cadvisor/windowMs: ${win} ms is shorter than intervalMs (${interval} ms); a rate needs two scrapes inside the window`)
    if (ca.source === 'node-proxy-metrics' && typeof ca.url !== 'string') problems.push('/collectors/cadvisor/url: node-proxy-metrics needs the API server\'s URL (e.g. https://10.96.0.1:443)')
    if ((ca.source === 'cadvisor-v1' || ca.source === 'cadvisor-v2') && typeof ca.url !== 'string') problems.push(`/collectors/cadvisor/url: ${ca.source} needs the cAdvisor's URL (e.g. http://127.0.0.1:8080)`)
  }
  const ipam = raw.collectors?.ipam
  if (isObject(ipam) && ipam.enabled === true && ipam.whereabouts === true && !hasKube) {
    problems.push('/collectors/ipam/whereabouts: IPPools are read through the Kubernetes API; set kubernetes.kubeconfig or kubernetes.inCluster: true')
  }
  return problems
}

function cadvisorConfig (c: Partial<CadvisorConfig> | undefined, baseDir: string): CadvisorConfig {
  const d = DEFAULTS.collectors.cadvisor
  return {
    enabled: c?.enabled ?? false,
    source: c?.source ?? d.source,
    url: (c?.url ?? d.url).replace(/\/+$/, ''),
    ...(c?.tokenFile !== undefined ? { tokenFile: resolve(baseDir, c.tokenFile) } : {}),
    ...(c?.caFile !== undefined ? { caFile: resolve(baseDir, c.caFile) } : {}),
    insecureSkipTlsVerify: c?.insecureSkipTlsVerify ?? d.insecureSkipTlsVerify,
    intervalMs: c?.intervalMs ?? d.intervalMs,
    windowMs: c?.windowMs ?? d.windowMs,
    timeoutMs: c?.timeoutMs ?? d.timeoutMs,
    maxResponseBytes: c?.maxResponseBytes ?? d.maxResponseBytes,
  }
}

function probesConfig (c: RawProbes | undefined): ProbesConfig {
  const d = DEFAULTS.collectors.probes
  return {
    enabled: c?.enabled ?? false,
    podLabel: c?.podLabel ?? d.podLabel,
    port: c?.port ?? d.port,
    iperf3: { ...d.iperf3, ...c?.iperf3 },
    rtt: { ...d.rtt, ...c?.rtt },
    budget: { ...d.budget, ...c?.budget },
    samples: c?.samples ?? d.samples,
  }
}

function withDefaults (raw: RawConfig, opts: ParseOptions): AgentConfig {
  const baseDir = opts.baseDir ?? process.cwd()
  const env = opts.env ?? {}
  const d = DEFAULTS
  const kube = raw.kubernetes ?? {}
  const token = raw.auth?.selectToken ?? (env.NETRANK_SELECT_TOKEN !== undefined && env.NETRANK_SELECT_TOKEN !== '' ? env.NETRANK_SELECT_TOKEN : undefined)
  return {
    node: raw.node ?? hostname(),
    listen: { host: raw.listen?.host ?? d.listen.host, port: raw.listen?.port ?? d.listen.port },
    plugins: (raw.plugins ?? []).map((p) => (p.costPerGiB === undefined ? { name: p.name } : { name: p.name, costPerGiB: p.costPerGiB })),
    collectors: {
      static: {
        intervalMs: raw.collectors?.static?.intervalMs ?? d.collectors.static.intervalMs,
        kpis: (raw.collectors?.static?.kpis ?? []).map((k) => ({ plugin: k.plugin, kpi: k.kpi, value: k.value })),
      },
      cadvisor: cadvisorConfig(raw.collectors?.cadvisor, baseDir),
      probes: probesConfig(raw.collectors?.probes),
      ipam: {
        enabled: raw.collectors?.ipam?.enabled ?? false,
        intervalMs: raw.collectors?.ipam?.intervalMs ?? d.collectors.ipam.intervalMs,
        whereabouts: raw.collectors?.ipam?.whereabouts ?? d.collectors.ipam.whereabouts,
      },
    },
    cni: {
      confDir: resolve(baseDir, raw.cni?.confDir ?? d.cni.confDir),
      stateDir: resolve(baseDir, raw.cni?.stateDir ?? d.cni.stateDir),
      hostLocalDataDir: resolve(baseDir, raw.cni?.hostLocalDataDir ?? d.cni.hostLocalDataDir),
    },
    selector: {
      profiles: { ...(raw.selector?.profiles ?? {}) },
      tieBand: raw.selector?.tieBand ?? d.selector.tieBand,
      maxOccupancy: raw.selector?.maxOccupancy ?? d.selector.maxOccupancy,
      hysteresisMargin: raw.selector?.hysteresisMargin ?? d.selector.hysteresisMargin,
      spreadWindowMs: raw.selector?.spreadWindowMs ?? d.selector.spreadWindowMs,
      staleAfterMs: raw.selector?.staleAfterMs ?? d.selector.staleAfterMs,
      windowMs: raw.selector?.windowMs ?? d.selector.windowMs,
      maxSamplesPerSeries: raw.selector?.maxSamplesPerSeries ?? d.selector.maxSamplesPerSeries,
      defaultProfile: raw.selector?.defaultProfile ?? d.selector.defaultProfile,
    },
    audit: {
      dir: resolve(baseDir, raw.audit?.dir ?? d.audit.dir),
      maxFileBytes: raw.audit?.maxFileBytes ?? d.audit.maxFileBytes,
      maxFiles: raw.audit?.maxFiles ?? d.audit.maxFiles,
    },
    kubernetes: {
      ...(kube.kubeconfig !== undefined ? { kubeconfig: resolve(baseDir, kube.kubeconfig) } : {}),
      inCluster: kube.inCluster ?? d.kubernetes.inCluster,
    },
    auth: token !== undefined ? { selectToken: token } : {},
  }
}
