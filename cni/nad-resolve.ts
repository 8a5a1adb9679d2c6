// NetworkAttachmentDefinition → delegate network. A NAD with an empty spec.config
// means the conf file in confDir whose `name` equals the NAD's name (docs/contract.md#pod-annotations).
import type { NadRequest } from './annotations.js'
import { findNetwork, normalizeNetwork, type NetworkCatalog } from './delegate-conf.js'
import { type DelegateNetwork } from '../contract/attachment-record.js'
import { fail } from './errors.js'

/** Resolves one NAD object (already fetched; undefined = not found) to the network it describes. */
export function nadToNetwork (req: NadRequest, nad: Record<string, unknown> | undefined, catalog: NetworkCatalog, confDir: string): DelegateNetwork {
  const id = `${req.namespace}/${req.name}`
  if (nad === undefined) throw fail('NR_CNI_NAD_NOT_FOUND', `${id} does not exist`)
  const spec = nad.spec
  const config = typeof spec === 'object' && spec !== null ? (spec as Record<string, unknown>).config : undefined
  if (config === undefined || (typeof config === 'string' && config.trim() === '')) {
    try {
      return findNetwork(catalog, req.name, confDir)
    } catch (err) {
      throw fail('NR_CNI_BAD_NAD', `${id} has no spec.config and ${(err as Error).message}`)
    }
  }
  if (typeof config !== 'string') throw fail('NR_CNI_BAD_NAD', `${id}: spec.config must be a JSON string`)
  let raw: unknown
  try {
    raw = JSON.parse(config)
  } catch (err) {
    throw fail('NR_CNI_BAD_NAD', `${id}: spec.config is not JSON (${(err as Error).message})`)
  }
  try {
    return normalizeNetwork(raw, `nad:${id}`, req.name)
  } catch (err) {
    throw fail('NR_CNI_BAD_NAD', `${id}: ${(err as Error).message}`)
  }
}
