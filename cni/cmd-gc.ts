// GC (CNI 1.1.0): every attachment record whose (containerID, ifname) is not in
// `cni.dev/valid-attachments` is deleted through its delegates (DEL from the record)
// and removed; delegate networks that speak 1.1.0 then get their own GC with the
// attachments that are still valid on them. Never asks the agent or the API server.
// Fail-closed: when any record cannot be read (corrupt, or written by a newer shim), the
// valid lists handed to the delegates would lack its attachments and their GC would tear
// down live pods' networks — so no delegate GC runs and GC fails naming the files; the
// readable stale records are still deleted. A 'planned' record whose ADD is still running
// (its owner process alive, cni/owner.ts) is not stale: it is left alone and counted valid.
import { existsSync } from 'node:fs'
import { readAttachmentRecords } from '../contract/attachment-record.js'
import { deleteFromRecord } from './cmd-del.js'
import { loadNetworks } from './delegate-conf.js'
import { gcNetwork } from './delegate-network.js'
import type { CniEnv } from './env.js'
import { fail } from './errors.js'
import { log } from './log.js'
import { ownerAlive } from './owner.js'
import type { ShimConf } from './shim-conf.js'

/** The GC verb. Prints nothing on success; code 110 when some stale attachment could not be deleted. */
export async function cmdGc (conf: ShimConf, env: CniEnv): Promise<void> {
  if (conf.validAttachments === undefined) throw fail('NR_CNI_BAD_CONF', 'GC needs "cni.dev/valid-attachments" (an empty list means none is valid)')
  const valid = new Set(conf.validAttachments.map((a) => `${a.containerID}\u0000${a.ifname}`))
  const { records, skipped } = readAttachmentRecords(conf.stateDir)
  if (skipped.length > 0) log.warn({ skipped }, 'GC found unreadable records: no delegate GC this time')
  const failures: string[] = []
  const kept = []
  for (const record of records) {
    if (valid.has(`${record.containerId}\u0000${record.ifname}`)) { kept.push(record); continue }
    // an ADD still running wrote this plan: the runtime lists a sandbox only once its ADD returned
    if (record.state === 'planned' && ownerAlive(record.owner)) {
      log.info({ containerId: record.containerId, ifname: record.ifname, ownerPid: record.owner?.pid }, 'GC left an attachment alone: its ADD is still running')
      kept.push(record)
      continue
    }
    // the sandbox may be long gone; delegates handle an empty netns on DEL
    const netns = record.netns !== '' && existsSync(record.netns) ? record.netns : ''
    try {
      await deleteFromRecord(conf.stateDir, record, { containerId: record.containerId, netns, argsRaw: env.argsRaw, cniPath: env.path, timeoutMs: conf.delegateTimeoutMs })
      log.info({ containerId: record.containerId, ifname: record.ifname, plugins: record.plugins }, 'GC removed a stale attachment')
    } catch (err) {
      failures.push(`${record.containerId}/${record.ifname}: ${(err as Error).message}`)
    }
  }
  if (skipped.length > 0) {
    throw fail('NR_CNI_IO', `unreadable attachment record(s) in ${conf.stateDir}: ${skipped.join(', ')}; stale readable records were deleted${failures.length > 0 ? ` (${failures.join('; ')})` : ''}, but no delegate network was GC'd: its valid attachments are not known. Fix or remove the file(s)`)
  }
  const catalog = loadNetworks(conf.confDir, { name: conf.name, type: conf.type })
  for (const network of catalog.networks) {
    const stillValid = kept.flatMap((r) => r.attachments.filter((a) => a.network === network.name).map((a) => ({ containerID: r.containerId, ifname: a.ifname })))
    try {
      await gcNetwork(network, stillValid, { argsRaw: env.argsRaw, cniPath: env.path, timeoutMs: conf.delegateTimeoutMs })
    } catch (err) {
      failures.push(`GC of ${network.name}: ${(err as Error).message}`)
    }
  }
  if (failures.length > 0) throw fail('NR_CNI_DELEGATE_DEL_FAILED', failures.join('; '))
}
