// Merging the delegates' results into the one result the runtime gets: interfaces
// appended in attachment order, each ip's `interface` index shifted by the number of
// interfaces before it, routes and DNS merged without duplicates.
import type { CniResult } from './versions.js'
import type { CniDns } from '../contract/network-status.js'

function union (a: string[] | undefined, b: string[] | undefined): string[] | undefined {
  if (a === undefined && b === undefined) return undefined
  return [...new Set([...(a ?? []), ...(b ?? [])])]
}

function mergeDns (a: CniDns | undefined, b: CniDns | undefined): CniDns | undefined {
  if (a === undefined) return b === undefined ? undefined : { ...b }
  if (b === undefined) return { ...a }
  const out: CniDns = {}
  const nameservers = union(a.nameservers, b.nameservers)
  const search = union(a.search, b.search)
  const options = union(a.options, b.options)
  if (nameservers !== undefined) out.nameservers = nameservers
  const domain = a.domain !== undefined && a.domain !== '' ? a.domain : b.domain
  if (domain !== undefined) out.domain = domain
  if (search !== undefined) out.search = search
  if (options !== undefined) out.options = options
  return out
}

/** Merges normalized (1.x shape) results in order into one result labelled `cniVersion`. */
export function mergeResults (results: readonly CniResult[], cniVersion: string): CniResult {
  const out: CniResult = { cniVersion, interfaces: [], ips: [], routes: [] }
  const seenRoutes = new Set<string>()
  let dns: CniDns | undefined
  for (const r of results) {
    const offset = out.interfaces?.length ?? 0
    for (const i of r.interfaces ?? []) out.interfaces?.push({ ...i })
    for (const ip of r.ips ?? []) {
      const copy = { ...ip }
      if (copy.interface !== undefined) copy.interface += offset
      out.ips?.push(copy)
    }
    for (const route of r.routes ?? []) {
      const key = `${route.dst}|${route.gw ?? ''}|${route.table ?? ''}`
      if (seenRoutes.has(key)) continue
      seenRoutes.add(key)
      out.routes?.push({ ...route })
    }
    dns = mergeDns(dns, r.dns)
  }
  out.dns = dns ?? {}
  return out
}
