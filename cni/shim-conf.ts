// The shim's own network conf (docs/contract.md#shim-conf), read from stdin: validated up front with
// messages that say how to fix it, defaults filled from one frozen object.
import { fail } from './errors.js'
import { LOG_LEVELS, type LogLevel } from './log.js'
import { assertSupportedVersion, CURRENT_VERSION } from './versions.js'
import { isObject } from '../contract/json.js'
import { DEFAULT_AGENT_URL, NODE_PATHS } from '../contract/node-defaults.js'

/** Defaults for every optional conf field. */
export const SHIM_DEFAULTS = Object.freeze({
  confDir: NODE_PATHS.confDir,
  stateDir: NODE_PATHS.stateDir,
  logFile: '/var/log/netrank/cni.log',
  logLevel: 'info' as LogLevel,
  selectorUrl: DEFAULT_AGENT_URL,
  selectorTimeoutMs: 300, // 0.3 s: a pod must not wait on a slow agent
  agentSocket: NODE_PATHS.agentSocket, // the fast path (docs/cni-shim.md#two-paths); '' turns it off
  // 1 s for the whole plan (a selection and, on an informer miss, the agent's GET); then the direct path
  agentTimeoutMs: 1_000,
  apiBudgetMs: 2_500, // 2.5 s: all Kubernetes API attempts of one operation together, then code 11
  apiAttemptTimeoutMs: 800, // 0.8 s per API request
  // 30 s per delegate call: a hung plugin is killed (its process group) and the ADD rolls
  // back well before the kubelet's 2 min runtime-request timeout gives up on the sandbox
  delegateTimeoutMs: 30_000,
  delegateMaxOutputBytes: 1024 * 1024, // 1 MiB of stdout or stderr: a result is a few KiB
  // a pod may name NADs of its own namespace and of these (Multus' convention for shared networks)
  nadGlobalNamespaces: Object.freeze(['default']) as readonly string[],
})

/** The validated shim conf. `raw` is the stdin object as given. */
export interface ShimConf {
  cniVersion: string
  name: string
  type: string
  kubeconfig: string | undefined
  /** accept an http:// API server in the kubeconfig (default false: refused) */
  allowInsecureApi: boolean
  confDir: string
  defaultPlugins: string[]
  selector: { url: string, timeoutMs: number }
  /** the agent's unix socket ('' = off) and how long a plan may take before the direct path is taken */
  agent: { socket: string, timeoutMs: number }
  stateDir: string
  logFile: string
  logLevel: LogLevel
  apiBudgetMs: number
  delegateTimeoutMs: number
  /** NAD namespace isolation: own namespace + globalNamespaces only */
  nadIsolation: { enabled: boolean, globalNamespaces: readonly string[] }
  runtimeConfig: Record<string, unknown>
  prevResult: unknown
  /** CNI 1.1.0 GC: `cni.dev/valid-attachments` */
  validAttachments: Array<{ containerID: string, ifname: string }> | undefined
  raw: Record<string, unknown>
}

/** Parses stdin bytes to a JSON object; code 6 when it is not one. */
export function decodeStdin (text: string): Record<string, unknown> {
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch (err) {
    throw fail('NR_CNI_DECODE', `stdin is not JSON (${(err as Error).message})`)
  }
  if (!isObject(parsed)) throw fail('NR_CNI_DECODE', 'stdin must be a JSON object (the network conf)')
  return parsed
}

function optString (raw: Record<string, unknown>, key: string, dflt: string): string {
  const v = raw[key]
  if (v === undefined) return dflt
  if (typeof v !== 'string' || v === '') throw fail('NR_CNI_BAD_CONF', `"${key}" must be a non-empty string`)
  return v
}

/** Validates the shim conf. Code 1 for a cniVersion we do not speak, 7 for anything else wrong. */
export function parseShimConf (raw: Record<string, unknown>): ShimConf {
  if (raw.cniVersion === undefined) throw fail('NR_CNI_BAD_CONF', `"cniVersion" is missing; set it to e.g. "${CURRENT_VERSION}"`)
  const cniVersion = assertSupportedVersion(raw.cniVersion)
  if (typeof raw.name !== 'string' || raw.name === '') throw fail('NR_CNI_BAD_CONF', '"name" is missing or not a string')
  if (typeof raw.type !== 'string' || raw.type === '') throw fail('NR_CNI_BAD_CONF', '"type" is missing or not a string')
  if (raw.type.includes('/')) throw fail('NR_CNI_BAD_CONF', `"type" ${JSON.stringify(raw.type)} must be a plain binary name without '/'`)

  let kubeconfig: string | undefined
  if (raw.kubeconfig !== undefined) kubeconfig = optString(raw, 'kubeconfig', '')

  const allowInsecureApi = raw.allowInsecureApi ?? false
  if (typeof allowInsecureApi !== 'boolean') throw fail('NR_CNI_BAD_CONF', '"allowInsecureApi" must be true or false')

  let defaultPlugins: string[] = []
  if (raw.defaultPlugins !== undefined) {
    if (!Array.isArray(raw.defaultPlugins) || !raw.defaultPlugins.every((p) => typeof p === 'string' && p !== '')) {
      throw fail('NR_CNI_BAD_CONF', '"defaultPlugins" must be a list of network names, e.g. ["bridge-fast"]')
    }
    defaultPlugins = raw.defaultPlugins as string[]
  }

  let url: string = SHIM_DEFAULTS.selectorUrl
  let timeoutMs: number = SHIM_DEFAULTS.selectorTimeoutMs
  if (raw.selector !== undefined) {
    if (!isObject(raw.selector)) throw fail('NR_CNI_BAD_CONF', '"selector" must be an object {url, timeoutMs}')
    url = optString(raw.selector, 'url', url)
    if (!/^https?:\/\//.test(url)) throw fail('NR_CNI_BAD_CONF', `"selector.url" ${JSON.stringify(url)} must start with http:// or https://`)
    const t = raw.selector.timeoutMs
    if (t !== undefined) {
      if (typeof t !== 'number' || !Number.isFinite(t) || t <= 0 || t > 60_000) {
        throw fail('NR_CNI_BAD_CONF', '"selector.timeoutMs" must be a number of milliseconds between 1 and 60000')
      }
      timeoutMs = t
    }
  }

  let agentSocket: string = SHIM_DEFAULTS.agentSocket
  let agentTimeoutMs: number = SHIM_DEFAULTS.agentTimeoutMs
  if (raw.agent !== undefined) {
    if (!isObject(raw.agent)) throw fail('NR_CNI_BAD_CONF', '"agent" must be an object {socket, timeoutMs}')
    const sock = raw.agent.socket
    if (sock !== undefined) {
      if (typeof sock !== 'string' || (sock !== '' && !sock.startsWith('/'))) throw fail('NR_CNI_BAD_CONF', '"agent.socket" must be an absolute path of the agent\'s unix socket, or "" to turn the fast path off')
      if (Buffer.byteLength(sock) > 107) throw fail('NR_CNI_BAD_CONF', `"agent.socket" ${JSON.stringify(sock)} is longer than a unix socket path may be (107 bytes)`)
      agentSocket = sock
    }
    const t = raw.agent.timeoutMs
    if (t !== undefined) {
      if (typeof t !== 'number' || !Number.isFinite(t) || t <= 0 || t > 60_000) {
        throw fail('NR_CNI_BAD_CONF', '"agent.timeoutMs" must be a number of milliseconds between 1 and 60000')
      }
      agentTimeoutMs = t
    }
  }

  let delegateTimeoutMs: number = SHIM_DEFAULTS.delegateTimeoutMs
  if (raw.delegateTimeoutMs !== undefined) {
    const d = raw.delegateTimeoutMs
    if (typeof d !== 'number' || !Number.isInteger(d) || d < 100 || d > 600_000) {
      throw fail('NR_CNI_BAD_CONF', '"delegateTimeoutMs" must be an integer number of milliseconds between 100 and 600000')
    }
    delegateTimeoutMs = d
  }

  const isolation = raw.nadNamespaceIsolation ?? true
  if (typeof isolation !== 'boolean') throw fail('NR_CNI_BAD_CONF', '"nadNamespaceIsolation" must be true or false')
  let globalNamespaces: readonly string[] = SHIM_DEFAULTS.nadGlobalNamespaces
  if (raw.nadGlobalNamespaces !== undefined) {
    const g = raw.nadGlobalNamespaces
    if (!Array.isArray(g) || !g.every((n) => typeof n === 'string' && /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(n))) {
      throw fail('NR_CNI_BAD_CONF', '"nadGlobalNamespaces" must be a list of namespace names, e.g. ["default", "net-shared"]')
    }
    globalNamespaces = g as string[]
  }

  const logLevel = optString(raw, 'logLevel', SHIM_DEFAULTS.logLevel)
  if (!(LOG_LEVELS as readonly string[]).includes(logLevel)) {
    throw fail('NR_CNI_BAD_CONF', `"logLevel" must be one of ${LOG_LEVELS.join(', ')}`)
  }

  let runtimeConfig: Record<string, unknown> = {}
  if (raw.runtimeConfig !== undefined) {
    if (!isObject(raw.runtimeConfig)) throw fail('NR_CNI_BAD_CONF', '"runtimeConfig" must be an object')
    runtimeConfig = raw.runtimeConfig
  }

  let validAttachments: ShimConf['validAttachments']
  const va = raw['cni.dev/valid-attachments']
  if (va !== undefined) {
    if (!Array.isArray(va) || !va.every((a) => isObject(a) && typeof a.containerID === 'string' && typeof a.ifname === 'string')) {
      throw fail('NR_CNI_BAD_CONF', '"cni.dev/valid-attachments" must be a list of {containerID, ifname}')
    }
    validAttachments = va as Array<{ containerID: string, ifname: string }>
  }

  return {
    cniVersion,
    name: raw.name,
    type: raw.type,
    kubeconfig,
    allowInsecureApi,
    confDir: optString(raw, 'confDir', SHIM_DEFAULTS.confDir),
    defaultPlugins,
    selector: { url, timeoutMs },
    agent: { socket: agentSocket, timeoutMs: agentTimeoutMs },
    stateDir: optString(raw, 'stateDir', SHIM_DEFAULTS.stateDir),
    logFile: optString(raw, 'logFile', SHIM_DEFAULTS.logFile),
    logLevel: logLevel as LogLevel,
    apiBudgetMs: SHIM_DEFAULTS.apiBudgetMs,
    delegateTimeoutMs,
    nadIsolation: { enabled: isolation, globalNamespaces },
    runtimeConfig,
    prevResult: raw.prevResult,
    validAttachments,
    raw,
  }
}
