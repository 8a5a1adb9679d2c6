/**
 * Runs the netrank shim the way a container runtime does: exec `<dir>/bin/netrank-cni`
 * with CNI_* in the environment (kubelet's CNI_ARGS) and the plugin conf on stdin, then
 * reads its result or its CNI error from stdout.
 */
import { spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { LAB_DEFAULTS } from './lab-defaults.js'
import { pluginStdin } from './lab-confs.js'
import type { CniErrorJson, LabPod, LabPodInterface, LabState } from './lab-state.js'

export type { CniErrorJson } from './lab-state.js'


/** What one shim run gave. `error` is set on a non-zero exit. */
export interface ShimOutcome {
  code: number | null
  stdout: string
  stderr: string
  result?: Record<string, unknown>
  error?: CniErrorJson
}

/** kubelet's CNI_ARGS for a pod. */
export function kubeletCniArgs (pod: Pick<LabPod, 'namespace' | 'name' | 'containerId' | 'uid'>): string {
  return `IgnoreUnknown=1;K8S_POD_NAMESPACE=${pod.namespace};K8S_POD_NAME=${pod.name};K8S_POD_INFRA_CONTAINER_ID=${pod.containerId};K8S_POD_UID=${pod.uid}`
}

/** The environment of one shim call: PATH kept, NODE_EXTRA_CA_CERTS removed (a kubelet does not set it). */
export function shimEnv (s: LabState, verb: string, pod: LabPod): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin',
    CNI_COMMAND: verb,
    CNI_CONTAINERID: pod.containerId,
    CNI_NETNS: pod.netnsPath,
    CNI_IFNAME: LAB_DEFAULTS.ifname,
    CNI_PATH: s.paths.cniPath,
    CNI_ARGS: kubeletCniArgs(pod),
  }
  return env
}

/** Execs the shim for `verb` on `pod`. */
export async function runShim (s: LabState, verb: 'ADD' | 'DEL' | 'CHECK', pod: LabPod): Promise<ShimOutcome> {
  const stdin = JSON.stringify(pluginStdin(JSON.parse(readFileSync(s.paths.shimConf, 'utf8')) as Record<string, unknown>))
  const exe = join(s.paths.cniPath, 'netrank-cni')
  return await new Promise<ShimOutcome>((resolve, reject) => {
    // its own process group: Ctrl-C at the terminal (SIGINT to the foreground group) reaches the
    // demo, which takes the lab down, and not an ADD or DEL half done (lab/lab-shutdown.ts)
    const child = spawn(exe, [], { env: shimEnv(s, verb, pod), stdio: ['pipe', 'pipe', 'pipe'], detached: true })
    const out: Buffer[] = []
    const err: Buffer[] = []
    child.stdout.on('data', (c: Buffer) => out.push(c))
    child.stderr.on('data', (c: Buffer) => err.push(c))
    const timer = setTimeout(() => child.kill('SIGKILL'), LAB_DEFAULTS.shimTimeoutMs)
    child.on('error', (e) => { clearTimeout(timer); reject(new Error(`cannot run ${exe}: ${e.message}`)) })
    child.stdin.on('error', () => { /* the shim may exit before reading stdin; its exit code tells */ })
    child.stdin.end(stdin)
    child.on('close', (code) => {
      clearTimeout(timer)
      const stdout = Buffer.concat(out).toString('utf8')
      const stderr = Buffer.concat(err).toString('utf8')
      let parsed: Record<string, unknown> | undefined
      try { parsed = JSON.parse(stdout) as Record<string, unknown> } catch { /* not JSON: reported below */ }
      if (code === 0) {
        resolve({ code, stdout, stderr, ...(parsed === undefined ? {} : { result: parsed }) })
        return
      }
      const error: CniErrorJson = parsed !== undefined && typeof parsed.code === 'number'
        ? { code: parsed.code, msg: typeof parsed.msg === 'string' ? parsed.msg : '', ...(typeof parsed.details === 'string' ? { details: parsed.details } : {}) }
        : { code: code ?? -1, msg: code === null ? `the shim was killed after ${LAB_DEFAULTS.shimTimeoutMs / 1000} s` : `the shim exited ${String(code)} without a CNI error on stdout`, details: stderr.trim().slice(0, 500) }
      resolve({ code, stdout, stderr, error })
    })
  })
}

/** The interfaces with IPs of a CNI 1.0 result, for the sandbox side only (`sandbox` set). */
export function resultInterfaces (result: Record<string, unknown>, networkOf: (ifname: string) => string): LabPodInterface[] {
  const ifaces = Array.isArray(result.interfaces) ? result.interfaces as Array<{ name?: string, mac?: string, sandbox?: string }> : []
  const ips = Array.isArray(result.ips) ? result.ips as Array<{ address?: string, interface?: number }> : []
  const out: LabPodInterface[] = []
  ifaces.forEach((iface, i) => {
    if (iface.sandbox === undefined || iface.sandbox === '' || iface.name === undefined) return
    const mine = ips.filter((a) => a.interface === i && typeof a.address === 'string').map((a) => a.address as string)
    out.push({ network: networkOf(iface.name), ifname: iface.name, ips: mine, ...(iface.mac === undefined ? {} : { mac: iface.mac }) })
  })
  return out
}
