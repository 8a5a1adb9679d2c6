/**
 * The node's network confs, as the ipam collector needs them: each network by its `name`
 * in confDir (.conf, .conflist, .json; the first file in lexical order wins, as libcni
 * picks them), with the ipam section of its first plugin that has one. netrank's own
 * shim conf (type netrank-cni) is not a network.
 */
import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'

export interface NetworkConf {
  name: string
  file: string
  /** the first plugin's ipam section that has one */
  ipam: Record<string, unknown> | undefined
  /** the type of the plugin the ipam section belongs to */
  pluginType: string | undefined
}

export interface NetworkConfs {
  byName: Map<string, NetworkConf>
  /** files that could not be read or parsed, with why */
  problems: string[]
}

const isObj = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v)

/** Reads every conf in `confDir`. A missing dir is an error (the node has no CNI confs). */
export async function readNetworkConfs (confDir: string): Promise<NetworkConfs> {
  const names = (await readdir(confDir)).filter((n) => /\.(conf|conflist|json)$/.test(n)).sort()
  const byName = new Map<string, NetworkConf>()
  const problems: string[] = []
  for (const n of names) {
    const file = join(confDir, n)
    let doc: unknown
    try {
      doc = JSON.parse(await readFile(file, 'utf8'))
    } catch (err) {
      problems.push(`${file}: ${(err as Error).message}`)
      continue
    }
    if (!isObj(doc) || typeof doc.name !== 'string') { problems.push(`${file}: no network "name"`); continue }
    const plugins: unknown[] = Array.isArray(doc.plugins) ? doc.plugins : [doc]
    if (plugins.some((p) => isObj(p) && p.type === 'netrank-cni')) continue
    if (byName.has(doc.name)) continue
    const withIpam = plugins.find((p): p is Record<string, unknown> => isObj(p) && isObj(p.ipam))
    byName.set(doc.name, {
      name: doc.name,
      file,
      ipam: withIpam !== undefined ? withIpam.ipam as Record<string, unknown> : undefined,
      pluginType: withIpam !== undefined && typeof withIpam.type === 'string' ? withIpam.type : undefined,
    })
  }
  return { byName, problems }
}
