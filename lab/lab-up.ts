/**
 * `netrank lab up`: builds the lab node — four shaped networks with Debian's CNI plugins, the
 * shim as the node's CNI entry point, the two stand-ins and the agent as background
 * processes, and two probe pods per network with `iperf3 -s` inside. Every step is
 * recorded in the state file before the next, so `down` can clean a crashed `up`.
 */
import { execFileSync } from 'node:child_process'
import { mkdirSync, readFileSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { join } from 'node:path'
import { agentArgv, waitAgentHealthy } from './lab-agent.js'
import { LAB_DEFAULTS } from './lab-defaults.js'
import { writeAgentConfig, writeCniPath, writeNetworkConfs, writeShimConf } from './lab-confs.js'
import { labDown } from './lab-down.js'
import type { Progress } from './lab-down.js'
import { kubeRequest } from './lab-kube-client.js'
import { claimOwner } from './lab-owner.js'
import { containerdArgv, containerdPaths, importSandboxImage, prepareContainerd, waitContainerdReady } from './lab-containerd.js'
import { SANDBOX_IMAGE } from './lab-sandbox-image.js'
import { buildPaths, labLayout } from './lab-paths.js'
import { addPod } from './lab-pods.js'
import { isRunning, spawnDetached } from './lab-process.js'
import { readStandInsInfo, standInsInfoPath } from './lab-stand-ins.js'
import { readState, STATE_FORMAT, updateState, writeState, withStateLock } from './lab-state.js'
import { waitListening } from './lab-traffic.js'
import type { LabProcess, LabState } from './lab-state.js'
import { setTimeout as sleep } from 'node:timers/promises'

export type { Progress } from './lab-down.js'


/** The programs the lab runs, checked before anything is made. */
function checkTools (): void {
  for (const [tool, pkg] of [['ip', 'iproute2'], ['nsenter', 'util-linux'], ['iperf3', 'iperf3'], ['sockperf', 'sockperf']] as const) {
    try {
      execFileSync(tool, ['--version'], { stdio: 'ignore' })
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new Error(`\`${tool}\` is not installed (apt-get install ${pkg})`)
    }
  }
}

async function freePort (): Promise<number> {
  return await new Promise<number>((resolve, reject) => {
    const srv = createServer()
    srv.once('error', reject)
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address()
      const port = typeof addr === 'object' && addr !== null ? addr.port : 0
      srv.close(() => resolve(port))
    })
  })
}

/** Polls `check` until it returns true; throws `what` with the process's log on timeout or death, the abort's reason on abort. */
async function waitFor (what: string, proc: LabProcess | undefined, check: () => Promise<boolean>, signal: AbortSignal | undefined): Promise<void> {
  const deadline = Date.now() + LAB_DEFAULTS.waitReadyMs
  while (Date.now() < deadline) {
    signal?.throwIfAborted()
    if (await check().catch(() => false)) return
    if (proc !== undefined && !isRunning(proc)) throw new Error(`${what}: the process exited; see ${proc.log ?? 'its log'}`)
    await sleep(LAB_DEFAULTS.pollMs)
  }
  throw new Error(`${what}: no answer within ${LAB_DEFAULTS.waitReadyMs / 1000} s${proc?.log === undefined ? '' : `; see ${proc.log}`}`)
}

function record (dir: string, p: LabProcess): void {
  updateState(dir, (s) => { s.processes.push(p) })
}

/**
 * Builds the lab in `dir`. On failure after it claimed the dir it runs `down` itself, then
 * throws; so it does when `signal` is aborted (SIGINT… lab/lab-shutdown.ts), at its next step,
 * throwing the signal's reason.
 */
export async function labUp (dir: string, progress: Progress, signal?: AbortSignal): Promise<LabState> {
  const check = (): void => { signal?.throwIfAborted() }
  if (process.getuid?.() !== 0) throw new Error('`netrank lab up` needs root (network namespaces, bridges, CNI plugins)')
  const build = buildPaths()
  if (build.missing.length > 0) throw new Error(`the build is missing ${build.missing.join(', ')}: run \`npm run build\` first`)
  checkTools()
  mkdirSync(dir, { recursive: true })
  check()

  const state = withStateLock(dir, () => {
    const old = readState(dir)
    if (old !== undefined) {
      const alive = old.processes.filter(isRunning)
      if (old.phase === 'starting' && alive.length > 0) throw new Error(`a lab is being built in ${dir} right now (${alive.length} of its processes run); wait for that \`lab up\` or run \`netrank lab down --dir ${dir}\``)
      if (old.phase === 'up' && alive.length > 0) throw new Error(`a lab is already up in ${dir} (${alive.map((p) => `${p.role} pid ${p.pid}`).join(', ')}); \`netrank lab status --dir ${dir}\` shows it`)
      throw new Error(`${dir} holds the remains of a lab that is not running (phase ${old.phase}); run \`netrank lab down --dir ${dir}\` first`)
    }
    claimOwner(dir)
    const s: LabState = {
      format: STATE_FORMAT,
      dir,
      createdAt: new Date().toISOString(),
      phase: 'starting',
      repoRoot: build.root,
      networks: LAB_DEFAULTS.networks.map((n) => ({ ...n })),
      paths: labLayout(dir, build.shim),
      bridges: LAB_DEFAULTS.networks.map((n) => n.bridge),
      processes: [],
      pods: [],
    }
    writeState(s)
    return s
  })

  // from here on this `up` owns the dir: on any failure it takes back what it made
  try {
    progress(`lab dir ${dir}`)
    writeNetworkConfs(state)
    writeCniPath(state)
    mkdirSync(state.paths.logDir, { recursive: true })
    for (const n of state.networks) progress(`network ${n.name}: bridge ${n.bridge}, host-local ${n.subnet}${n.shapeBps === undefined ? '' : `, bandwidth ${n.shapeBps / 1e6} Mbit/s each way`}`)
    progress(`CNI conf dir ${state.paths.confDir}, CNI_PATH ${state.paths.cniPath}`)

    // the stand-ins: one process, its URLs announced in stand-ins.json
    rmSync(standInsInfoPath(dir), { force: true })
    const standIns = spawnDetached('stand-ins', [process.execPath, build.labMain, 'serve-stand-ins', '--dir', dir], join(state.paths.logDir, 'stand-ins.log'))
    record(dir, standIns)
    let info = readStandInsInfo(dir)
    await waitFor('the stand-ins', standIns, async () => {
      info = readStandInsInfo(dir)
      if (info?.pid !== standIns.pid) return false
      return (await kubeRequest(info.kubeconfigPath, 'GET', '/healthz')).status === 200
    }, signal)
    if (info === undefined) throw new Error('the stand-ins did not announce their URLs')
    const { kubeApiUrl, kubeconfigPath, kubeletUrl } = info
    updateState(dir, (s) => { s.kubeApi = { url: kubeApiUrl, kubeconfigPath }; s.kubelet = { url: kubeletUrl } })
    progress(`Kubernetes API stand-in ${kubeApiUrl} (kubeconfig ${kubeconfigPath})`)
    progress(`kubelet stand-in ${kubeletUrl}/metrics/cadvisor`)

    // the agent's address goes into the shim conf before any pod is networked
    const port = await freePort()
    const agentUrl = `http://127.0.0.1:${port}`
    const withUrls = updateState(dir, (s) => { s.agent = { url: agentUrl, port } })
    writeShimConf(withUrls, agentUrl)
    writeAgentConfig(withUrls, { port, kubeletUrl, kubeconfig: kubeconfigPath })

    // the container runtime: the lab's own containerd, its CRI reading net.d (netrank's conf first)
    const ctd = containerdPaths(dir, withUrls.paths.logDir)
    prepareContainerd(ctd, { confDir: withUrls.paths.confDir, binDir: withUrls.paths.cniPath })
    const containerd = spawnDetached('containerd', containerdArgv(ctd), ctd.log)
    record(dir, containerd)
    const runtime = await waitContainerdReady(ctd, () => isRunning(containerd))
    check()
    const image = importSandboxImage(ctd)
    progress(`containerd ${runtime}: CRI at ${ctd.socket}, sandbox image ${SANDBOX_IMAGE} (${image.slice(0, 19)}…, built here)`)
    // the kubelet role: API pods bound to lab-node become CRI sandboxes
    const kubelet = spawnDetached('kubelet', [process.execPath, build.labMain, 'serve-kubelet', '--dir', dir], join(withUrls.paths.logDir, 'kubelet.log'))
    record(dir, kubelet)
    await waitFor('the lab kubelet', kubelet, async () => await Promise.resolve(readFileSync(kubelet.log ?? '', 'utf8').includes('lab kubelet up')), signal)
    check()
    progress(`lab kubelet (pid ${kubelet.pid}): pods bound to ${LAB_DEFAULTS.node} become containerd sandboxes`)

    // probe pods first: explicit `cni` annotations need no agent, and the agent finds them when it starts.
    // The networks in parallel (a then b on each), so `up` takes about two pod ADDs, not eight.
    // All settled before a failure is thrown: `down` must not run while a branch still adds a pod.
    const branches = await Promise.allSettled(withUrls.networks.map(async (net) => {
      for (const side of ['a', 'b']) {
        check()
        const pod = await addPod(dir, {
          name: `probe-${net.name}-${side}`,
          namespace: LAB_DEFAULTS.probeNamespace,
          annotations: { cni: net.name },
          labels: { [LAB_DEFAULTS.probeLabel]: net.name },
        })
        const server = spawnDetached(`iperf3-server:${pod.namespace}/${pod.name}`,
          ['nsenter', `--net=${pod.netnsPath}`, '--', 'iperf3', '-s', '-p', String(LAB_DEFAULTS.probePort), '--idle-timeout', String(LAB_DEFAULTS.probeServerIdleSeconds)],
          join(withUrls.paths.logDir, `iperf3-${pod.name}.log`))
        record(dir, server)
        // TCP_RR: the peer's transactions and the client pod's own loopback floor
        const rr = spawnDetached(`sockperf-server:${pod.namespace}/${pod.name}`,
          ['nsenter', `--net=${pod.netnsPath}`, '--', 'sockperf', 'server', '--tcp', '-p', String(LAB_DEFAULTS.probeRrPort)],
          join(withUrls.paths.logDir, `sockperf-${pod.name}.log`))
        record(dir, rr)
        await waitListening(pod.netnsPath, LAB_DEFAULTS.probePort)
        await waitListening(pod.netnsPath, LAB_DEFAULTS.probeRrPort)
        progress(`probe pod ${pod.namespace}/${pod.name}: ${pod.interfaces.map((i) => `${i.ifname} ${i.ips.join(',')}`).join(' ')} (netns ${pod.netns}), iperf3 -s pid ${server.pid}, sockperf server pid ${rr.pid}`)
      }
    }))
    const failed = branches.find((b): b is PromiseRejectedResult => b.status === 'rejected')
    if (failed !== undefined) throw failed.reason
    check()

    const agent = spawnDetached('agent', agentArgv(withUrls), join(withUrls.paths.logDir, 'agent.log'))
    record(dir, agent)
    await waitAgentHealthy(agentUrl, agent)
    progress(`agent ${agentUrl} (pid ${agent.pid}, config ${withUrls.paths.agentConfig})`)
    check()
  } catch (err) {
    if (signal?.aborted === true) progress(`up ${(signal.reason as Error).message}: cleaning up what was made`)
    else {
      progress(`up failed: ${(err as Error).message}`)
      progress('cleaning up what was made')
    }
    await labDown(dir, progress).catch((e: unknown) => { progress(`down failed too: ${(e as Error).message}`) })
    throw err
  }

  const done = updateState(dir, (s) => { s.phase = 'up' })
  progress(`lab up: ${done.pods.length} probe pods on ${done.networks.length} networks; \`netrank lab status --dir ${dir}\` shows it, \`netrank lab down --dir ${dir}\` removes it`)
  return done
}
