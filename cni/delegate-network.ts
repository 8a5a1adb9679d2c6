// Running one delegate network (a conflist) the way libcni does: ADD through the
// plugins in order, each plugin's result the next one's prevResult; DEL in reverse;
// CHECK in order with the cached result; runtimeConfig filtered by each plugin's
// `capabilities`. DEL goes on past a failing plugin and reports every failure.
import type { DelegateNetwork, PluginConf } from '../contract/attachment-record.js'
import { runDelegate } from './delegate-exec.js'
import { CniError, fail } from './errors.js'
import { log } from './log.js'
import { compareVersions } from './versions.js'

/** Where and as whom the delegates run. */
export interface DelegateContext {
  containerId: string
  netns: string
  argsRaw: string
  cniPath: readonly string[]
  /** each delegate is killed after this long (the shim conf's delegateTimeoutMs) */
  timeoutMs?: number
}

/** libcni's injection: name, cniVersion, prevResult and the capability-filtered runtimeConfig. */
export function buildPluginConf (network: DelegateNetwork, plugin: PluginConf, prevResult: unknown, runtimeConfig: Record<string, unknown> | undefined): PluginConf {
  const conf: PluginConf = { ...plugin, name: network.name, cniVersion: network.cniVersion }
  if (prevResult !== undefined) conf.prevResult = prevResult
  else delete conf.prevResult
  const caps = plugin.capabilities
  if (runtimeConfig !== undefined && typeof caps === 'object' && caps !== null) {
    const rc: Record<string, unknown> = {}
    for (const [cap, on] of Object.entries(caps as Record<string, unknown>)) {
      if (on === true && cap in runtimeConfig) rc[cap] = runtimeConfig[cap]
    }
    if (Object.keys(rc).length > 0) conf.runtimeConfig = rc
  }
  return conf
}

/** ADD of every plugin of `network` on `ifname`; returns the last plugin's result as printed (in the network's cniVersion). */
export async function addNetwork (network: DelegateNetwork, ifname: string, ctx: DelegateContext, runtimeConfig?: Record<string, unknown>): Promise<unknown> {
  let prev: unknown
  for (const plugin of network.plugins) {
    const conf = buildPluginConf(network, plugin, prev, runtimeConfig)
    const result = await runDelegate({ command: 'ADD', conf, ifname, ...ctx })
    if (result === undefined) throw fail('NR_CNI_BAD_DELEGATE_RESULT', `${plugin.type} ADD on ${ifname} printed no result`)
    prev = result
  }
  return prev
}

/**
 * DEL of every plugin of `network` in reverse; prevResult (≥ 0.4.0) is the cached ADD result,
 * runtimeConfig the one the ADD got (a portmap DEL needs its portMappings). Returns the
 * failures (empty = clean). A plugin that is no longer in CNI_PATH can never DEL: that is
 * logged (what may be left behind, and where) and dropped, so an uninstalled plugin does not
 * block pod deletion forever; every other failure is returned and keeps the record for a retry.
 */
export async function delNetwork (network: DelegateNetwork, ifname: string, ctx: DelegateContext, cachedResult: unknown, runtimeConfig?: Record<string, unknown>): Promise<Error[]> {
  const errors: Error[] = []
  const withPrev = compareVersions(network.cniVersion, '0.4.0') >= 0 && cachedResult !== undefined
  for (const plugin of [...network.plugins].reverse()) {
    const conf = buildPluginConf(network, plugin, withPrev ? cachedResult : undefined, runtimeConfig)
    try {
      await runDelegate({ command: 'DEL', conf, ifname, ...ctx })
    } catch (err) {
      if (err instanceof CniError && err.code === 'NR_CNI_PLUGIN_NOT_FOUND') {
        log.warn({ network: network.name, plugin: plugin.type, ifname, containerId: ctx.containerId, err: err.details, dropped: true },
          'DEL: the plugin is no longer installed; its part of the attachment cannot be cleaned up and is dropped (check the node for what it left)')
        continue
      }
      errors.push(err as Error)
    }
  }
  return errors
}

/** CHECK of every plugin of `network` with the cached result; skipped below 0.4.0 or with disableCheck. Throws on the first failure. */
export async function checkNetwork (network: DelegateNetwork, ifname: string, ctx: DelegateContext, cachedResult: unknown, runtimeConfig?: Record<string, unknown>): Promise<boolean> {
  if (network.disableCheck || compareVersions(network.cniVersion, '0.4.0') < 0) return false
  for (const plugin of network.plugins) {
    const conf = buildPluginConf(network, plugin, cachedResult, runtimeConfig)
    await runDelegate({ command: 'CHECK', conf, ifname, ...ctx })
  }
  return true
}

/** GC of every plugin of a 1.1.0 `network` with its valid attachments; skipped for older versions or disableGC. */
export async function gcNetwork (network: DelegateNetwork, valid: Array<{ containerID: string, ifname: string }>, ctx: Omit<DelegateContext, 'containerId' | 'netns'>): Promise<boolean> {
  if (network.disableGC || compareVersions(network.cniVersion, '1.1.0') < 0) return false
  for (const plugin of network.plugins) {
    const conf = buildPluginConf(network, plugin, undefined, undefined)
    conf['cni.dev/valid-attachments'] = valid
    await runDelegate({ command: 'GC', conf, ifname: '', containerId: '', netns: '', ...ctx })
  }
  return true
}
