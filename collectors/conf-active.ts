/**
 * Is netrank's conf the one the container runtime uses? Runtimes (containerd, CRI-O through
 * libcni's ConfFiles) take the FIRST file of the conf dir with a .conf, .conflist or .json
 * extension in lexicographic (byte) order: netrank's conf is active when that file's (first)
 * plugin is of type `netrank-cni`. Another CNI installing `00-calico.conflist` or
 * `05-cilium.conflist` beside `00-netrank.conflist` silently takes every new pod away from netrank.
 */
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'

/** The shim's binary name (`type` in its conf). */
export const SHIM_TYPE = 'netrank-cni'
const CONF_EXTENSIONS = ['.conf', '.conflist', '.json']

/** What the conf dir shows. */
export interface ConfActive {
  active: boolean
  /** the file the runtime would use ('' when the dir has none) */
  first: string
  /** why netrank's conf is not active; undefined when it is */
  why?: string
}

/** The first conf file's plugin type, from its text (undefined when it is not a readable conf). */
function typeOf (text: string): string | undefined {
  let v: unknown
  try {
    v = JSON.parse(text)
  } catch {
    return undefined
  }
  if (typeof v !== 'object' || v === null) return undefined
  const o = v as { type?: unknown, plugins?: unknown }
  if (Array.isArray(o.plugins)) {
    const p = o.plugins[0] as { type?: unknown } | undefined
    return typeof p?.type === 'string' ? p.type : undefined
  }
  return typeof o.type === 'string' ? o.type : undefined
}

/** Looks at `confDir` now (a readdir and one small file). */
export function confActive (confDir: string, readdir: (d: string) => string[] = readdirSync, readFile: (f: string) => string = (f) => readFileSync(f, 'utf8')): ConfActive {
  let names: string[]
  try {
    names = readdir(confDir)
  } catch (err) {
    return { active: false, first: '', why: `cannot list ${confDir}: ${(err as Error).message}` }
  }
  // byte order, as Go's sort.Strings: not localeCompare
  const confs = names.filter((n) => CONF_EXTENSIONS.some((e) => n.endsWith(e))).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
  const first = confs[0]
  if (first === undefined) return { active: false, first: '', why: `${confDir} holds no .conf, .conflist or .json file` }
  let text: string
  try {
    text = readFile(join(confDir, first))
  } catch (err) {
    return { active: false, first, why: `cannot read ${first}: ${(err as Error).message}` }
  }
  const type = typeOf(text)
  if (type === SHIM_TYPE) return { active: true, first }
  return { active: false, first, why: type === undefined ? `${first}, the first conf, is not a readable CNI conf` : `${first}, the first conf, is of type ${type}, not ${SHIM_TYPE}` }
}
