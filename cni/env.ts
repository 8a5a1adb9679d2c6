// The CNI_* environment, validated per verb (CNI spec "Parameters"): ADD and CHECK
// need the container id, netns, ifname and path; DEL may omit the netns (the runtime
// may already have removed it); STATUS and GC need only CNI_COMMAND and CNI_PATH.
import { fail } from './errors.js'
import { VERBS, type Verb } from './versions.js'
import { ifnameProblem } from '../contract/names.js'

/** The validated CNI environment. Absent values are ''. */
export interface CniEnv {
  command: Verb
  containerId: string
  netns: string
  ifname: string
  /** CNI_PATH split on ':' (empty entries dropped) */
  path: string[]
  /** CNI_ARGS as given (passed on to delegates unchanged) */
  argsRaw: string
  /** CNI_ARGS as key/value pairs */
  args: Record<string, string>
}

const REQUIRED: Readonly<Record<Verb, readonly string[]>> = Object.freeze({
  ADD: ['CNI_CONTAINERID', 'CNI_NETNS', 'CNI_IFNAME', 'CNI_PATH'],
  CHECK: ['CNI_CONTAINERID', 'CNI_NETNS', 'CNI_IFNAME', 'CNI_PATH'],
  DEL: ['CNI_CONTAINERID', 'CNI_IFNAME', 'CNI_PATH'],
  GC: ['CNI_PATH'],
  STATUS: ['CNI_PATH'],
  VERSION: [],
})

// CNI spec: container ids are alphanumeric plus _ . - (they name our record file, so this also keeps paths safe)
const CONTAINER_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/

/** Throws code 4 unless `name` is a usable Linux interface name (1–15 bytes, no '/', ':' or whitespace, not . or ..). */
export function assertIfname (name: string, where: string): void {
  const problem = ifnameProblem(name)
  if (problem !== undefined) throw fail('NR_CNI_BAD_ENV', `${where} ${problem}`)
}

/** Parses `K=V;K2=V2` (CNI_ARGS). Throws code 4 on a pair without '='. */
export function parseCniArgs (raw: string): Record<string, string> {
  const out: Record<string, string> = {}
  if (raw.trim() === '') return out
  for (const pair of raw.split(';')) {
    if (pair === '') continue
    const eq = pair.indexOf('=')
    if (eq <= 0) throw fail('NR_CNI_BAD_ENV', `CNI_ARGS entry ${JSON.stringify(pair)} is not KEY=VALUE`)
    out[pair.slice(0, eq)] = pair.slice(eq + 1)
  }
  return out
}

/** Reads and validates the CNI environment for the verb in CNI_COMMAND. */
export function readEnv (env: NodeJS.ProcessEnv): CniEnv {
  const command = env.CNI_COMMAND
  if (command === undefined || command === '') throw fail('NR_CNI_BAD_ENV', 'CNI_COMMAND is not set')
  if (!(VERBS as readonly string[]).includes(command)) {
    throw fail('NR_CNI_UNKNOWN_COMMAND', `${JSON.stringify(command)}; expected one of ${VERBS.join(', ')}`)
  }
  const verb = command as Verb
  const missing = REQUIRED[verb].filter((k) => env[k] === undefined || env[k] === '')
  if (missing.length > 0) throw fail('NR_CNI_BAD_ENV', `${verb} needs ${missing.join(', ')}`)
  const containerId = env.CNI_CONTAINERID ?? ''
  if (containerId !== '' && !CONTAINER_ID.test(containerId)) {
    throw fail('NR_CNI_BAD_ENV', `CNI_CONTAINERID ${JSON.stringify(containerId)} may hold only letters, digits, '_', '.' and '-'`)
  }
  const ifname = env.CNI_IFNAME ?? ''
  if (REQUIRED[verb].includes('CNI_IFNAME')) assertIfname(ifname, 'CNI_IFNAME')
  const argsRaw = env.CNI_ARGS ?? ''
  return {
    command: verb,
    containerId,
    netns: env.CNI_NETNS ?? '',
    ifname,
    path: (env.CNI_PATH ?? '').split(':').filter((p) => p !== ''),
    argsRaw,
    args: parseCniArgs(argsRaw),
  }
}
