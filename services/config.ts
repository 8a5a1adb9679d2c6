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

/** cadvisor, probes, ipam: kept as given until their issue defines them. */
export interface OpenCollectorConfig {
  enabled: boolean
  [key: string]: unknown
}

/** The validated config with every default filled in. */
export interface AgentConfig {
  node: string
  listen: { host: string, port: number }
  plugins: PluginEntry[]
  collectors: {
    static: { intervalMs: number, kpis: StaticKpi[] }
    cadvisor: OpenCollectorConfig
    probes: OpenCollectorConfig
    ipam: OpenCollectorConfig
  }
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

// The raw shape after the schema passed; fields may be absent.
interface RawConfig {
  node?: string
  listen?: { host?: string, port?: number }
  plugins?: PluginEntry[]
  collectors?: {
    static?: { intervalMs?: number, kpis?: StaticKpi[] }
    cadvisor?: Partial<OpenCollectorConfig>
    probes?: Partial<OpenCollectorConfig>
    ipam?: Partial<OpenCollectorConfig>
  }
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
  return problems
}

function openCollector (c: Partial<OpenCollectorConfig> | undefined): OpenCollectorConfig {
  return { ...c, enabled: c?.enabled ?? false }
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
      cadvisor: openCollector(raw.collectors?.cadvisor),
      probes: openCollector(raw.collectors?.probes),
      ipam: openCollector(raw.collectors?.ipam),
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
