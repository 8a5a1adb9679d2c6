// CHECK: the attachments in the record must match what the runtime cached (prevResult)
// and every delegate's own CHECK must pass (delegates below 0.4.0 or with disableCheck
// are skipped, as libcni does). Uses neither the agent nor the API server.
import { readRecord } from '../contract/attachment-record.js'
import { checkNetwork, type DelegateContext } from './delegate-network.js'
import type { CniEnv } from './env.js'
import { fail } from './errors.js'
import { log } from './log.js'
import type { ShimConf } from './shim-conf.js'
import { normalizeResult, type CniResult } from './versions.js'

/** Differences between the record's results and the runtime's prevResult ([] = consistent). */
export function compareWithPrevResult (recorded: readonly CniResult[], prev: CniResult): string[] {
  const problems: string[] = []
  const prevIfaces = new Set((prev.interfaces ?? []).map((i) => `${i.name}|${i.sandbox ?? ''}`))
  const prevIps = new Set((prev.ips ?? []).map((ip) => ip.address))
  for (const r of recorded) {
    for (const i of r.interfaces ?? []) {
      if (i.sandbox === undefined || i.sandbox === '') continue
      if (!prevIfaces.has(`${i.name}|${i.sandbox}`)) problems.push(`interface ${i.name} is missing from prevResult`)
    }
    for (const ip of r.ips ?? []) if (!prevIps.has(ip.address)) problems.push(`address ${ip.address} is missing from prevResult`)
  }
  return problems
}

/** The CHECK verb. Prints nothing on success. */
export async function cmdCheck (conf: ShimConf, env: CniEnv): Promise<void> {
  const record = readRecord(conf.stateDir, env.containerId, env.ifname)
  if (record === undefined) throw fail('NR_CNI_NO_RECORD', `container ${env.containerId} ${env.ifname} was not added by netrank-cni`)
  if (record.state !== 'added') throw fail('NR_CNI_CHECK_FAILED', `the record is in state ${record.state}, not added`)
  if (conf.prevResult !== undefined) {
    let prev: CniResult
    try {
      prev = normalizeResult(conf.prevResult, conf.cniVersion)
    } catch (err) {
      throw fail('NR_CNI_DECODE', `prevResult: ${(err as Error).message}`)
    }
    const recorded = record.attachments.map((a) => normalizeResult(a.result, a.conf.cniVersion))
    const problems = compareWithPrevResult(recorded, prev)
    if (problems.length > 0) throw fail('NR_CNI_CHECK_FAILED', problems.join('; '))
  }
  const ctx: DelegateContext = { containerId: env.containerId, netns: env.netns, argsRaw: env.argsRaw, cniPath: env.path, timeoutMs: conf.delegateTimeoutMs }
  for (const att of record.attachments) {
    try {
      const ran = await checkNetwork(att.conf, att.ifname, ctx, att.result, att.runtimeConfig)
      if (!ran) log.debug({ network: att.network }, 'delegate CHECK skipped (version below 0.4.0 or disableCheck)')
    } catch (err) {
      throw fail('NR_CNI_CHECK_FAILED', `${att.network} on ${att.ifname}: ${(err as Error).message}`, err)
    }
  }
}
