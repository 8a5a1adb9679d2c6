// STATUS (CNI 1.1.0): ready when the state directory is writable and the default
// network's conf and plugin binaries are there (and its own STATUS passes when it
// speaks 1.1.0). Otherwise code 50 saying what is missing. Never asks the agent.
import { mkdirSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { recordDir } from '../contract/attachment-record.js'
import { defaultNetwork } from './choose-networks.js'
import { loadNetworks } from './delegate-conf.js'
import { findPluginBinary, runDelegate } from './delegate-exec.js'
import { buildPluginConf } from './delegate-network.js'
import type { CniEnv } from './env.js'
import { fail } from './errors.js'
import type { ShimConf } from './shim-conf.js'
import { compareVersions } from './versions.js'

/** The STATUS verb. Prints nothing when ready. */
export async function cmdStatus (conf: ShimConf, env: CniEnv): Promise<void> {
  const dir = recordDir(conf.stateDir)
  try {
    mkdirSync(dir, { recursive: true })
    const probe = join(dir, `.status-probe.${process.pid}`)
    writeFileSync(probe, '')
    rmSync(probe)
  } catch (err) {
    throw fail('NR_CNI_NOT_READY', `state directory ${dir} is not writable: ${(err as Error).message}`)
  }
  let network
  try {
    const catalog = loadNetworks(conf.confDir, { name: conf.name, type: conf.type })
    network = defaultNetwork({ catalog, confDir: conf.confDir, defaultPlugins: conf.defaultPlugins })
    for (const p of network.plugins) findPluginBinary(p.type, env.path)
  } catch (err) {
    throw fail('NR_CNI_NOT_READY', (err as Error).message)
  }
  if (compareVersions(network.cniVersion, '1.1.0') >= 0) {
    for (const plugin of network.plugins) {
      try {
        await runDelegate({ command: 'STATUS', conf: buildPluginConf(network, plugin, undefined, undefined), containerId: '', netns: '', ifname: '', argsRaw: env.argsRaw, cniPath: env.path, timeoutMs: conf.delegateTimeoutMs })
      } catch (err) {
        throw fail('NR_CNI_NOT_READY', `default network ${network.name}: ${(err as Error).message}`)
      }
    }
  }
}
