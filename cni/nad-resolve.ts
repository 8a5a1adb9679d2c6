// NetworkAttachmentDefinition → delegate network. A NAD with an empty spec.config
// means the conf file in confDir whose `name` equals the NAD's name (docs/contract.md#pod-annotations).
import type { NadRequest } from './annotations.js'
import { findNetwork, normalizeNetwork, type NetworkCatalog } from './delegate-conf.js'
import { type DelegateNetwork } from '../contract/attachment-record.js'
import { fail } from './errors.js'

/**
 * Namespace isolation: a pod may name a NAD of its own namespace or of one of the global
 * namespaces, nothing else. The shim fetches NADs with its own rights and runs their config
 * as root: without this, any pod could attach itself to another tenant's network. Checked
 * before the NAD is fetched.
 */
export function assertNadAllowed (req: NadRequest, podNamespace: string, isolation: { enabled: boolean, globalNamespaces: readonly string[] }): void {
  if (!isolation.enabled || req.namespace === podNamespace || isolation.globalNamespaces.includes(req.namespace)) return
  throw fail('NR_CNI_NAD_FORBIDDEN', `a pod in ${podNamespace} may not use ${req.namespace}/${req.name}: NADs of its own namespace or of ${isolation.globalNamespaces.length > 0 ? isolation.globalNamespaces.join(', ') : '(no global namespace)'} only (shim conf nadNamespaceIsolation, nadGlobalNamespaces)`)
}

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
