// Delegate network confs: found by network `name` in confDir (.conf, .conflist and
// .json files, in file-name order like libcni), netrank's own conf skipped. A single
// plugin .conf is held as a one-plugin list so every delegate runs the same way.
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import type { DelegateNetwork, PluginConf } from '../contract/attachment-record.js'
import { fail } from './errors.js'
import { log } from './log.js'
import { assertSupportedVersion } from './versions.js'
import { isObject } from '../contract/json.js'

const CONF_EXTENSIONS = ['.conf', '.conflist', '.json']

function checkType (p: Record<string, unknown>, source: string): PluginConf {
  if (typeof p.type !== 'string' || p.type === '') throw fail('NR_CNI_BAD_DELEGATE_CONF', `${source}: a plugin has no "type"`)
  if (p.type.includes('/') || p.type === '.' || p.type === '..') {
    throw fail('NR_CNI_BAD_DELEGATE_CONF', `${source}: plugin type ${JSON.stringify(p.type)} must be a plain binary name without '/'`)
  }
  return p as PluginConf
}

/** Turns a parsed .conf or .conflist object into a DelegateNetwork. `fallbackName` names a conf without "name" (NADs). */
export function normalizeNetwork (raw: unknown, source: string, fallbackName?: string): DelegateNetwork {
  if (!isObject(raw)) throw fail('NR_CNI_BAD_DELEGATE_CONF', `${source}: not a JSON object`)
  const name = typeof raw.name === 'string' && raw.name !== '' ? raw.name : fallbackName
  if (name === undefined) throw fail('NR_CNI_BAD_DELEGATE_CONF', `${source}: no "name"`)
  let cniVersion: string
  try {
    cniVersion = assertSupportedVersion(raw.cniVersion, `${source}: cniVersion`)
  } catch (err) {
    throw fail('NR_CNI_BAD_DELEGATE_CONF', (err as Error).message)
  }
  let plugins: PluginConf[]
  if (raw.plugins !== undefined) {
    if (!Array.isArray(raw.plugins) || raw.plugins.length === 0 || !raw.plugins.every(isObject)) {
      throw fail('NR_CNI_BAD_DELEGATE_CONF', `${source}: "plugins" must be a non-empty list of objects`)
    }
    plugins = (raw.plugins as Array<Record<string, unknown>>).map((p) => checkType(p, source))
  } else {
    const { cniVersion: _v, name: _n, ...single } = raw
    plugins = [checkType(single, source)]
  }
  return {
    name,
    cniVersion,
    plugins,
    disableCheck: raw.disableCheck === true,
    disableGC: raw.disableGC === true,
    source,
  }
}

/** The conf files of confDir, in libcni's order (by file name). Empty when the dir is missing. */
export function listConfFiles (confDir: string): string[] {
  let names: string[]
  try {
    names = readdirSync(confDir)
  } catch {
    return []
  }
  return names.filter((n) => CONF_EXTENSIONS.some((e) => n.endsWith(e))).sort().map((n) => join(confDir, n))
}

function isOwn (raw: Record<string, unknown>, own: { name: string, type: string }): boolean {
  if (raw.name === own.name) return true
  if (raw.type === own.type) return true
  return Array.isArray(raw.plugins) && raw.plugins.some((p) => isObject(p) && p.type === own.type)
}

/** The delegate networks of confDir, and the files that could not be used (kept to explain a lookup). */
export interface NetworkCatalog {
  networks: DelegateNetwork[]
  broken: Array<{ file: string, name: string | undefined, error: Error }>
}

/** Every delegate network in confDir, skipping netrank's own conf. Unusable files are logged and listed in `broken`. */
export function loadNetworks (confDir: string, own: { name: string, type: string }): NetworkCatalog {
  const catalog: NetworkCatalog = { networks: [], broken: [] }
  for (const file of listConfFiles(confDir)) {
    let raw: unknown
    try {
      raw = JSON.parse(readFileSync(file, 'utf8'))
    } catch (err) {
      log.warn({ file, err }, 'skipping unreadable conf file')
      catalog.broken.push({ file, name: undefined, error: fail('NR_CNI_BAD_DELEGATE_CONF', `${file}: ${(err as Error).message}`) })
      continue
    }
    if (isObject(raw) && isOwn(raw, own)) continue
    try {
      catalog.networks.push(normalizeNetwork(raw, file))
    } catch (err) {
      log.warn({ file, err }, 'skipping invalid conf file')
      const name = isObject(raw) && typeof raw.name === 'string' ? raw.name : undefined
      catalog.broken.push({ file, name, error: err as Error })
    }
  }
  return catalog
}

/** The network named `name`; code 112 when its file is invalid, 103 (listing the names that exist) when there is none. */
export function findNetwork (catalog: NetworkCatalog, name: string, confDir: string): DelegateNetwork {
  const hit = catalog.networks.find((n) => n.name === name)
  if (hit !== undefined) return hit
  const broken = catalog.broken.find((b) => b.name === name)
  if (broken !== undefined) throw broken.error
  const known = catalog.networks.map((n) => n.name)
  throw fail('NR_CNI_NETWORK_NOT_FOUND', `no conf with "name": ${JSON.stringify(name)} in ${confDir} (found: ${known.length > 0 ? known.join(', ') : 'none'})`)
}
