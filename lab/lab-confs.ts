/**
 * The files `lab up` writes: the four network confs and the shim's `00-netrank.conflist`
 * in `<dir>/net.d`, the CNI_PATH dir `<dir>/bin` (the real plugins and netrank-cni), and
 * the agent config `<dir>/agent.yaml` (collectors-config shape, short lab intervals).
 */
import { existsSync, mkdirSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { stringify } from 'yaml'
import { LAB_DEFAULTS } from './lab-defaults.js'
import type { LabNetworkSpec } from './lab-defaults.js'
import type { LabState } from './lab-state.js'

const PLUGIN_DIRS = ['/usr/lib/cni', '/opt/cni/bin'] // Debian's containernetworking-plugins, then upstream's
const REQUIRED_PLUGINS = ['bridge', 'host-local', 'bandwidth', 'loopback']

/** The directory with the real CNI plugins; throws with the fix when there is none. */
export function findPluginDir (): string {
  const dir = PLUGIN_DIRS.find((d) => REQUIRED_PLUGINS.every((p) => existsSync(join(d, p))))
  if (dir === undefined) throw new Error(`the CNI plugins ${REQUIRED_PLUGINS.join(', ')} are not in ${PLUGIN_DIRS.join(' or ')} (apt-get install containernetworking-plugins)`)
  return dir
}

/** The tbf bucket for a rate, bits: 10 ms worth of it, at least 2 Mbit. */
export function shapeBurstBits (rateBps: number): number {
  return Math.max(LAB_DEFAULTS.shapeBurstBits, Math.round(rateBps * LAB_DEFAULTS.shapeBurstSeconds))
}

/** The conflist of one lab network: bridge + host-local, plus bandwidth when shaped. */
export function networkConf (net: LabNetworkSpec, ipamDir: string): Record<string, unknown> {
  const plugins: Array<Record<string, unknown>> = [{
    type: 'bridge',
    bridge: net.bridge,
    isGateway: true,
    ipMasq: false, // lab traffic stays on the node: no NAT rules to clean up
    ipam: { type: 'host-local', ranges: [[{ subnet: net.subnet }]], dataDir: ipamDir, routes: [{ dst: '0.0.0.0/0' }] },
  }]
  if (net.shapeBps !== undefined) {
    plugins.push({
      type: 'bandwidth',
      ingressRate: net.shapeBps, // bits/s
      ingressBurst: shapeBurstBits(net.shapeBps), // bits
      egressRate: net.shapeBps,
      egressBurst: shapeBurstBits(net.shapeBps),
    })
  }
  return { cniVersion: LAB_DEFAULTS.cniVersion, name: net.name, plugins }
}

/** The shim conf (docs/contract.md#shim-conf) as the node's first conflist. */
export function shimConflist (s: LabState, agentUrl: string): Record<string, unknown> {
  return {
    cniVersion: LAB_DEFAULTS.cniVersion,
    name: 'netrank',
    plugins: [{
      type: 'netrank-cni',
      kubeconfig: join(s.paths.kubeDir, 'kubeconfig.json'),
      confDir: s.paths.confDir,
      defaultPlugins: LAB_DEFAULTS.defaultPlugins,
      selector: { url: agentUrl, timeoutMs: LAB_DEFAULTS.selectorTimeoutMs },
      agent: { socket: s.paths.agentSocket },
      stateDir: s.paths.stateDir,
      logFile: join(s.paths.logDir, 'cni.log'),
      logLevel: 'info',
    }],
  }
}

/** What a runtime puts on the shim's stdin for a one-plugin conflist: `{cniVersion, name, ...plugin}`. */
export function pluginStdin (conflist: Record<string, unknown>): Record<string, unknown> {
  const plugins = conflist.plugins
  if (!Array.isArray(plugins) || plugins.length !== 1 || typeof plugins[0] !== 'object' || plugins[0] === null) {
    throw new Error('the netrank conflist must hold exactly one plugin')
  }
  return { cniVersion: conflist.cniVersion, name: conflist.name, ...(plugins[0] as Record<string, unknown>) }
}

/** Writes the network confs (10-, 20-, 30-…) into confDir. */
export function writeNetworkConfs (s: LabState): void {
  mkdirSync(s.paths.confDir, { recursive: true })
  s.networks.forEach((net, i) => {
    writeFileSync(join(s.paths.confDir, `${String(10 * (i + 1))}-${net.name}.conflist`), JSON.stringify(networkConf(net, s.paths.ipamDir), null, 2) + '\n')
  })
}

/** Writes `00-netrank.conflist`. */
export function writeShimConf (s: LabState, agentUrl: string): void {
  writeFileSync(s.paths.shimConf, JSON.stringify(shimConflist(s, agentUrl), null, 2) + '\n')
}

/** `<dir>/bin`: a symlink per real plugin plus `netrank-cni` → the build's executable. */
export function writeCniPath (s: LabState): void {
  if (!existsSync(s.paths.shim)) throw new Error(`the shim ${s.paths.shim} is missing: run \`npm run build\` first`)
  const pluginDir = findPluginDir()
  rmSync(s.paths.cniPath, { recursive: true, force: true })
  mkdirSync(s.paths.cniPath, { recursive: true })
  for (const f of readdirSync(pluginDir)) symlinkSync(join(pluginDir, f), join(s.paths.cniPath, f))
  symlinkSync(s.paths.shim, join(s.paths.cniPath, 'netrank-cni'))
}

/** The agent config (docs/contract.md#agent-config plus the collectors' sections) for this lab. */
export function agentConfig (s: LabState, opts: { port: number, kubeletUrl: string, kubeconfig: string }): Record<string, unknown> {
  const a = LAB_DEFAULTS.agent
  return {
    node: LAB_DEFAULTS.node,
    listen: { host: '127.0.0.1', port: opts.port, socket: s.paths.agentSocket },
    plugins: s.networks.map((n) => ({ name: n.name })),
    cni: { confDir: s.paths.confDir, stateDir: s.paths.stateDir, hostLocalDataDir: s.paths.ipamDir },
    kubernetes: { kubeconfig: opts.kubeconfig },
    collectors: {
      cadvisor: {
        enabled: true,
        // containerd's ListPodSandboxStats: the sandbox id is the CNI container id, so
        // attribution to the shim's records is exact (the kubelet stand-in still serves
        // /metrics/cadvisor, for that format's tests and `source: kubelet-metrics`)
        source: 'cri',
        criSocket: s.paths.criSocket ?? join(s.dir, 'containerd', 'containerd.sock'),
        url: opts.kubeletUrl,
        intervalMs: a.cadvisorIntervalMs,
        windowMs: a.cadvisorWindowMs,
        timeoutMs: 5_000,
      },
      probes: {
        enabled: true,
        podLabel: LAB_DEFAULTS.probeLabel,
        port: LAB_DEFAULTS.probePort,
        iperf3: { intervalMs: a.iperf3IntervalMs, durationSeconds: a.iperf3DurationSeconds, omitSeconds: a.iperf3OmitSeconds, timeoutMs: 15_000, jitterRatio: a.iperf3JitterRatio },
        rtt: { intervalMs: a.rttIntervalMs, count: 5, connectTimeoutMs: 1_000 },
        tcpRr: { enabled: true, intervalMs: a.tcpRrIntervalMs, port: LAB_DEFAULTS.probeRrPort, seconds: 1, ratePerSecond: 1000 },
        // the default 2 GiB/h is for real links; lab probes stay on this machine: one 3 s
        // probe of a 1 Gbit/s network moves ~375 MB, four networks every ~17.5 s ~300 GB/h
        budget: { maxBytes: a.probeBudgetBytes, windowMs: a.probeBudgetWindowMs },
        samples: a.probeSamples,
      },
      ipam: { enabled: true, intervalMs: a.ipamIntervalMs, whereabouts: false },
    },
    selector: { windowMs: LAB_DEFAULTS.selector.windowMs },
    audit: { dir: join(s.dir, 'audit') },
    // CNI-Genie's network policy engine: logical networks + genieNetworkpolicy → the netrank nftables tables
    policy: { enabled: true, intervalMs: 500 },
  }
}

/** Writes `<dir>/agent.yaml`. */
export function writeAgentConfig (s: LabState, opts: { port: number, kubeletUrl: string, kubeconfig: string }): void {
  const header = '# written by `netrank lab up`: the agent of the lab node (removed by `netrank lab down`)\n'
  writeFileSync(s.paths.agentConfig, header + stringify(agentConfig(s, opts)))
}
