/**
 * The lab's own containerd: Debian's containerd 1.6 + runc with root, state and sockets
 * under `<dir>/containerd`, its CRI plugin reading the lab's net.d (netrank's conf first)
 * and bin, the sandbox image built on the machine (lab-sandbox-image.ts). Started as a lab
 * background process; `down` stops it and removes what it leaves when it dies: its shims
 * (found by this containerd's socket in their command line, never by name), mounts under
 * the lab dir, sandbox netns and the pods' cgroups.
 */
import { execFileSync } from 'node:child_process'
import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { CriClient } from '../collectors/cri/cri-client.js'
import { LAB_DEFAULTS } from './lab-defaults.js'
import { isRunning, spawnDetached, stopProcess } from './lab-process.js'
import { buildSandboxImage, SANDBOX_IMAGE } from './lab-sandbox-image.js'
import { requireState, updateState } from './lab-state.js'

/** Where a lab's containerd keeps everything. */
export interface ContainerdPaths {
  dir: string
  config: string
  root: string
  state: string
  socket: string
  log: string
}

export function containerdPaths (labDir: string, logDir: string): ContainerdPaths {
  const dir = join(labDir, 'containerd')
  return {
    dir,
    config: join(dir, 'config.toml'),
    root: join(dir, 'root'),
    state: join(dir, 'state'),
    // a unix socket path has at most 107 bytes: the lab dir is short
    socket: join(dir, 'containerd.sock'),
    log: join(logDir, 'containerd.log'),
  }
}

/** The pods' cgroup parent: `<cgroupRoot>/pod<uid>` (cgroupfs syntax, as the kubelet's cgroupfs driver). */
export const CGROUP_ROOT = '/nr-lab'
export const podCgroupParent = (uid: string): string => `${CGROUP_ROOT}/pod${uid}`

const toml = (s: string): string => JSON.stringify(s) // a TOML basic string is a JSON string for these paths

/** config.toml (version 2) for containerd 1.6. */
export function containerdConfig (p: ContainerdPaths, cni: { confDir: string, binDir: string }): string {
  return [
    '# the netrank lab\'s containerd: written by `netrank lab up`, removed by `lab down`',
    'version = 2',
    `root = ${toml(p.root)}`,
    `state = ${toml(p.state)}`,
    // the btrfs/zfs/devmapper/aufs snapshotters cannot work here; skipping them keeps the log to what matters
    'disabled_plugins = ["io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.aufs", "io.containerd.tracing.processor.v1.otlp", "io.containerd.internal.v1.tracing"]',
    '',
    '[grpc]',
    `  address = ${toml(p.socket)}`,
    '[ttrpc]',
    `  address = ${toml(`${p.socket}.ttrpc`)}`,
    '',
    '[plugins."io.containerd.internal.v1.opt"]',
    `  path = ${toml(join(p.dir, 'opt'))}`,
    '',
    '[plugins."io.containerd.grpc.v1.cri"]',
    `  sandbox_image = ${toml(SANDBOX_IMAGE)}`,
    // runc cannot set the sandbox's oom_score_adj to -998 here ("can't get final child's PID from pipe")
    '  restrict_oom_score_adj = true',
    '  stream_server_address = "127.0.0.1"',
    '  stream_server_port = "0"',
    '  [plugins."io.containerd.grpc.v1.cri".cni]',
    `    bin_dir = ${toml(cni.binDir)}`,
    `    conf_dir = ${toml(cni.confDir)}`,
    // the first conf only, as on a node: netrank's 00-netrank.conflist
    '    max_conf_num = 1',
    '  [plugins."io.containerd.grpc.v1.cri".containerd]',
    '    snapshotter = "overlayfs"',
    '    default_runtime_name = "runc"',
    '    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]',
    '      runtime_type = "io.containerd.runc.v2"',
    '',
  ].join('\n')
}

/** The containerd argv for a lab. */
export function containerdArgv (p: ContainerdPaths): string[] {
  return ['containerd', '--config', p.config]
}

/** Writes the config and the folders; the binaries must be installed. */
export function prepareContainerd (p: ContainerdPaths, cni: { confDir: string, binDir: string }): void {
  for (const [tool, pkg] of [['containerd', 'containerd'], ['runc', 'runc'], ['ctr', 'containerd'], ['gcc', 'gcc']] as const) {
    try {
      execFileSync(tool, ['--version'], { stdio: 'ignore' })
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new Error(`\`${tool}\` is not installed (apt-get install ${pkg})`)
    }
  }
  mkdirSync(p.dir, { recursive: true, mode: 0o700 })
  writeFileSync(p.config, containerdConfig(p, cni), { mode: 0o600 })
}

/** Waits until the CRI answers Version and reports RuntimeReady. */
export async function waitContainerdReady (p: ContainerdPaths, alive: () => boolean): Promise<string> {
  const deadline = Date.now() + LAB_DEFAULTS.waitReadyMs
  const cri = new CriClient(p.socket, { timeoutMs: 2_000 })
  let last = ''
  try {
    while (Date.now() < deadline) {
      if (!alive()) throw new Error(`containerd exited; see ${p.log}`)
      try {
        const v = await cri.version()
        const ready = (await cri.status()).find((c) => c.type === 'RuntimeReady')
        if (ready?.status === true) return `${v.runtimeName} ${v.runtimeVersion} (CRI ${v.runtimeApiVersion})`
        last = `RuntimeReady ${String(ready?.status)}: ${ready?.message ?? ''}`
      } catch (err) { last = (err as Error).message }
      await sleep(LAB_DEFAULTS.pollMs)
    }
  } finally { cri.close() }
  throw new Error(`containerd did not become ready within ${LAB_DEFAULTS.waitReadyMs / 1000} s (${last}); see ${p.log}`)
}

/** Builds the sandbox image and imports it into the CRI's namespace (k8s.io). */
export function importSandboxImage (p: ContainerdPaths): string {
  const { archive, digest } = buildSandboxImage(p.dir)
  try {
    execFileSync('ctr', ['--address', p.socket, '--namespace', 'k8s.io', 'images', 'import', archive], { stdio: ['ignore', 'pipe', 'pipe'] })
  } catch (err) {
    const e = err as { stderr?: Buffer, message: string }
    throw new Error(`ctr images import ${archive}: ${e.stderr?.toString().trim() ?? e.message}`)
  }
  return digest
}

/**
 * Removes every sandbox of the lab's containerd through the CRI (StopPodSandbox runs the
 * CNI DEL; RemovePodSandbox drops it). Resolves with the ids removed and the problems.
 */
export async function removeAllSandboxes (socket: string): Promise<{ removed: string[], problems: string[] }> {
  const out = { removed: [] as string[], problems: [] as string[] }
  if (!existsSync(socket)) return out
  const cri = new CriClient(socket, { timeoutMs: 5_000, runTimeoutMs: 60_000 })
  try {
    let sandboxes
    try { sandboxes = await cri.listPodSandbox() } catch (err) { out.problems.push((err as Error).message); return out }
    await Promise.all(sandboxes.map(async (s) => {
      try {
        await cri.stopPodSandbox(s.id)
        await cri.removePodSandbox(s.id)
        out.removed.push(s.id)
      } catch (err) { out.problems.push(`sandbox ${s.metadata.namespace}/${s.metadata.name} (${s.id.slice(0, 12)}): ${(err as Error).message}`) }
    }))
  } finally { cri.close() }
  return out
}

/** Pids of containerd-shim processes started by the containerd at `socket` (their argv names its address). */
export function shimPidsOf (socket: string): number[] {
  const pids: number[] = []
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue
    let argv: string[]
    try { argv = readFileSync(`/proc/${e}/cmdline`, 'utf8').split('\0') } catch { continue }
    const i = argv.indexOf('-address')
    if (i >= 0 && argv[i + 1] === socket && (argv[0] ?? '').includes('containerd-shim')) pids.push(Number(e))
  }
  return pids
}

/** Mount points at or under `dir` (deepest first), from /proc/self/mountinfo. */
export function mountsUnder (dir: string): string[] {
  const unescape = (s: string): string => s.replace(/\\(\d{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)))
  const points = readFileSync('/proc/self/mountinfo', 'utf8').split('\n')
    .map((l) => unescape(l.split(' ')[4] ?? ''))
    .filter((m) => m === dir || m.startsWith(`${dir}/`))
  return [...new Set(points)].sort((a, b) => b.length - a.length)
}

/** Lazily unmounts each path; returns the ones unmounted and the errors. */
export function unmountAll (points: string[]): { unmounted: string[], problems: string[] } {
  const out = { unmounted: [] as string[], problems: [] as string[] }
  for (const m of points) {
    try {
      execFileSync('umount', ['-l', m], { stdio: ['ignore', 'ignore', 'pipe'] })
      out.unmounted.push(m)
    } catch (err) { out.problems.push(`umount ${m}: ${(err as { stderr?: Buffer }).stderr?.toString().trim() ?? (err as Error).message}`) }
  }
  return out
}

/** rmdir of a pod's cgroup (or, with no uid, of the lab's whole cgroup tree) in every hierarchy. */
export function removePodCgroups (uid?: string): string[] {
  return removeCgroupTree(uid === undefined ? CGROUP_ROOT : podCgroupParent(uid))
}

/** rmdir of the cgroup `rel` (e.g. `/nr-lab/pod<uid>`) and everything below it, in every hierarchy; busy ones stay. */
export function removeCgroupTree (rel: string): string[] {
  const removed: string[] = []
  const base = '/sys/fs/cgroup'
  let hierarchies: string[]
  try { hierarchies = readdirSync(base) } catch { return removed }
  // cgroup v2 (one hierarchy at /sys/fs/cgroup) or v1/hybrid (one folder per controller)
  const roots = existsSync(join(base, 'cgroup.controllers')) ? [base] : hierarchies.map((h) => join(base, h))
  const rmTree = (d: string): void => {
    let entries: string[] = []
    try { entries = readdirSync(d, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name) } catch { return }
    for (const e of entries) rmTree(join(d, e))
    try { rmdirSync(d); removed.push(d) } catch { /* busy (a process still in it) or gone */ }
  }
  for (const r of roots) rmTree(join(r, rel))
  return removed
}

/**
 * Restarts the lab's containerd with sandboxes running (as a node's runtime upgrade does):
 * SIGTERM — its shims and pause processes go on — then the same argv again, recorded in
 * the state in place of the old process. Resolves once the CRI answers again.
 */
export async function restartContainerd (dir: string): Promise<{ pid: number, runtime: string }> {
  const s = requireState(dir)
  const old = s.processes.find((p) => p.role === 'containerd')
  if (old === undefined) throw new Error(`the lab in ${dir} runs no containerd`)
  await stopProcess(old)
  const p = containerdPaths(dir, s.paths.logDir)
  const next = spawnDetached('containerd', containerdArgv(p), p.log)
  updateState(dir, (st) => { st.processes = st.processes.map((x) => (x.role === 'containerd' ? next : x)) })
  const runtime = await waitContainerdReady(p, () => isRunning(next))
  return { pid: next.pid, runtime }
}
