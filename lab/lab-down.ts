/**
 * `netrank lab down`: removes everything the lab made, idempotently and from any partial
 * state — the recorded processes stopped by pid, every sandbox stopped and removed through
 * containerd's CRI (its CNI DEL goes through the shim, so host-local releases its addresses
 * the real way), then by force whatever remains: containerd's shims (by its socket in their
 * argv), mounts under the lab dir, a shim DEL for pods the runtime did not remove, the
 * recorded netns, the pods' cgroups, the bandwidth plugin's ifb devices, the `nrbr-*`
 * bridges, the host-local dataDir and the lab's files. The logs stay in `<dir>/log` for a post-mortem.
 */
import { existsSync, readdirSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { LAB_DEFAULTS } from './lab-defaults.js'
import { containerdPaths, mountsUnder, removeAllSandboxes, removePodCgroups, shimPidsOf, unmountAll } from './lab-containerd.js'
import { runShim } from './lab-cni.js'
import { bandwidthIfbName, deleteLink, deleteNetns } from './lab-kernel.js'
import { mayOwn, releaseOwner } from './lab-owner.js'
import { flushRules, nftRunner } from '../agent/policy-nft.js'
import { isRunning, stopProcess } from './lab-process.js'
import { readState, statePath } from './lab-state.js'
import type { LabState } from './lab-state.js'

/** Where lab up and down report what they do, a line at a time. */
export type Progress = (line: string) => void

/** What `down` removed, and what it could not. */
export interface DownReport {
  stopped: string[]
  deleted: string[]
  removedNetns: string[]
  removedLinks: string[]
  problems: string[]
  nothing: boolean
}

// Stop order: traffic and probe servers first (they hold sockets in pod netns), the agent
// (it probes and watches) and the lab kubelet (it would make sandboxes), then — once the
// sandboxes are removed through the CRI — containerd and the stand-ins.
function stopRank (role: string): number {
  if (role.startsWith('traffic')) return 0
  if (role.startsWith('iperf3') || role.startsWith('sockperf')) return 1
  if (role === 'agent' || role === 'kubelet') return 2
  return 3
}

/** Tears the lab in `dir` down. Never throws for what is already gone. */
export async function labDown (dir: string, progress: Progress): Promise<DownReport> {
  const report: DownReport = { stopped: [], deleted: [], removedNetns: [], removedLinks: [], problems: [], nothing: false }
  let state: LabState | undefined
  try {
    state = readState(dir)
  } catch (err) {
    report.problems.push(`${(err as Error).message}: removed`)
  }
  if (state === undefined && !existsSync(statePath(dir))) {
    const leftovers = existsSync(dir) ? readdirSync(dir).filter((f) => f !== 'log') : []
    if (leftovers.length === 0) {
      report.nothing = true
      progress(`no lab in ${dir}: nothing to do`)
      return report
    }
  }

  // 1. background processes, by recorded pid and start time; the kubelet role before the
  // runtime's sandboxes go, containerd (and the stand-ins) after
  const procs = [...(state?.processes ?? [])].sort((a, b) => stopRank(a.role) - stopRank(b.role))
  const stopRanks = async (ranks: number[]): Promise<void> => {
    for (const rank of ranks) {
      await Promise.all(procs.filter((p) => stopRank(p.role) === rank).map(async (p) => {
        if (await stopProcess(p)) { report.stopped.push(`${p.role} (pid ${p.pid})`); progress(`stopped ${p.role} (pid ${p.pid})`) }
      }))
    }
  }
  await stopRanks([0, 1, 2])

  // the agent keeps its policy rules when it stops (a restart must not open a gap): down removes them
  if (mayOwn(dir)) {
    try { await flushRules(nftRunner()); } catch (err) { report.problems.push(`removing the netrank nftables tables: ${(err as Error).message}`) }
  }

  // 2. every sandbox through the CRI while containerd runs: StopPodSandbox is the runtime's CNI DEL
  const criSocket = state?.paths.criSocket ?? containerdPaths(dir, join(dir, 'log')).socket
  const gone = new Set<string>()
  if (procs.some((p) => p.role === 'containerd' && isRunning(p))) {
    const r = await removeAllSandboxes(criSocket)
    for (const id of r.removed) gone.add(id)
    report.problems.push(...r.problems)
    if (r.removed.length > 0) progress(`stopped and removed ${r.removed.length} sandbox(es) through containerd's CRI`)
  }
  await stopRanks([3])
  const survivors = procs.filter(isRunning)
  for (const p of survivors) report.problems.push(`${p.role} (pid ${p.pid}) is still running`)

  // containerd gone: its shims (and their pause processes) by this socket in their argv, then its mounts
  for (const pid of shimPidsOf(criSocket)) {
    try { process.kill(pid, 'SIGKILL'); report.stopped.push(`containerd-shim (pid ${pid})`) } catch { /* gone meanwhile */ }
  }
  const um = unmountAll(mountsUnder(dir))
  report.problems.push(...um.problems)
  if (um.unmounted.length > 0) progress(`unmounted ${um.unmounted.length} mount(s) under ${dir}`)

  // 3. CNI DEL through the shim for every pod the runtime did not remove: host-local and bandwidth clean up after themselves
  const shimThere = state !== undefined && existsSync(join(state.paths.cniPath, 'netrank-cni')) && existsSync(state.paths.shimConf)
  for (const pod of state?.pods ?? []) {
    if (gone.has(pod.containerId)) {
      report.deleted.push(`${pod.namespace}/${pod.name}`)
    } else if (shimThere && state !== undefined && pod.containerId !== '' && pod.netnsPath !== '') {
      try {
        const del = await runShim(state, 'DEL', pod)
        if (del.error === undefined) report.deleted.push(`${pod.namespace}/${pod.name}`)
        else report.problems.push(`CNI DEL of ${pod.namespace}/${pod.name}: error ${del.error.code}: ${del.error.msg}`)
      } catch (err) {
        report.problems.push(`CNI DEL of ${pod.namespace}/${pod.name}: ${(err as Error).message}`)
      }
    }
    // 4. by force: the netns (its veth goes with it, and the veth's host end), the ifb of a shaped network
    try {
      if (pod.netns !== '' && deleteNetns(pod.netns)) report.removedNetns.push(pod.netns)
    } catch (err) { report.problems.push((err as Error).message) }
    for (const net of state?.networks ?? []) {
      if (net.shapeBps === undefined) continue
      const ifb = bandwidthIfbName(net.name, pod.containerId)
      try { if (deleteLink(ifb)) report.removedLinks.push(ifb) } catch (err) { report.problems.push((err as Error).message) }
    }
  }
  if (report.deleted.length > 0) progress(`${report.deleted.length} pod(s) deleted (CNI DEL: by containerd when it stopped their sandboxes, else by the shim run here)`)
  if (report.removedNetns.length > 0) progress(`removed netns ${report.removedNetns.join(', ')}`)
  const cgroups = removePodCgroups()
  if (cgroups.length > 0) progress(`removed the pods' cgroups (${cgroups.length} folders)`)

  // 5. the bridges: only when this lab owns the machine's lab bridges (or nobody does)
  const bridges = state?.bridges ?? LAB_DEFAULTS.networks.map((n) => n.bridge)
  if (mayOwn(dir)) {
    for (const b of bridges) {
      try { if (deleteLink(b)) report.removedLinks.push(b) } catch (err) { report.problems.push((err as Error).message) }
    }
  } else report.problems.push(`the bridges ${bridges.join(', ')} belong to another lab on this machine: left alone`)
  if (report.removedLinks.length > 0) progress(`removed links ${report.removedLinks.join(', ')}`)

  // 6. the files: host-local's dataDir, the shim's records, confs, kubeconfigs, the state itself
  if (survivors.length === 0) {
    for (const f of existsSync(dir) ? readdirSync(dir) : []) {
      if (f === 'log') continue
      rmSync(join(dir, f), { recursive: true, force: true })
    }
    releaseOwner(dir)
    progress(`removed the lab's files in ${dir} (logs kept in ${join(dir, 'log')})`)
  } else {
    report.problems.push(`the state in ${dir} is kept because processes still run; run \`netrank lab down\` again`)
  }
  return report
}
