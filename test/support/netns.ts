// Test support for real-kernel tests: network namespaces, unique kernel-safe names, leak
// checks, host-local's on-disk reservations, the Debian CNI plugin dir, skip helpers, temp
// dirs and a CNI_PATH with netrank-cni in it. Every kernel object made here carries the
// prefix `nr` so a crashed run can be found and cleaned (cleanupKernelObjects).
// Most helpers are synchronous (execFileSync): callers may `await` them or not.
import { execFile, execFileSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { isIP } from 'node:net'
import { join, resolve } from 'node:path'

const NETNS_DEFAULTS = Object.freeze({
  maxNameLength: 15, // IFNAMSIZ - 1: the kernel's limit for link names (netns names reuse the scheme)
  minRandomChars: 3, // 36^3 ≈ 47k names per prefix and pid: enough for one test file
  execTimeoutMs: 60_000, // 60 s: a command inside a test netns (iperf3 runs included)
  pluginDirs: ['/usr/lib/cni', '/opt/cni/bin'], // Debian's containernetworking-plugins, then upstream's
  requiredPlugins: ['bridge', 'host-local', 'ptp', 'tuning', 'bandwidth', 'loopback'],
})

/** The part of a tap Test the skip and temp helpers use. */
export interface TestLike {
  plan: (n: number, comment?: string) => void
  teardown: (fn: () => unknown) => void
}

/** One entry of `ip -j addr` (fields netrank tests read; the rest kept as given). */
export interface IpAddrEntry {
  ifindex: number
  ifname: string
  flags?: string[]
  mtu?: number
  operstate?: string
  link_type?: string
  address?: string // MAC
  addr_info: Array<{ family: 'inet' | 'inet6', local: string, prefixlen: number, scope?: string, [key: string]: unknown }>
  [key: string]: unknown
}

/** The result of a command run with {@link Netns.exec}; never rejects on a non-zero exit. */
export interface ExecResult { code: number, stdout: string, stderr: string }

/** A network namespace made by {@link createNetns}. */
export interface Netns {
  name: string
  path: string // /var/run/netns/<name>, what CNI_NETNS takes
  exec: (cmd: string, args?: string[]) => Promise<ExecResult>
  addresses: () => IpAddrEntry[]
  remove: () => void
}

function ip (args: string[]): string {
  try {
    return execFileSync('ip', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stderr?: string }
    if (e.code === 'ENOENT') throw new Error('the `ip` command (iproute2) is not installed')
    throw new Error(`ip ${args.join(' ')} failed: ${(e.stderr ?? e.message).trim()}`)
  }
}

function checkPrefix (prefix: string): void {
  if (!/^nr[a-z0-9-]*$/.test(prefix)) throw new Error(`kernel object prefix "${prefix}" must start with "nr" and use only a-z, 0-9 and "-"`)
}

/**
 * A name of at most 15 characters (the kernel's link name limit): the prefix, random
 * characters, and this process's pid, so parallel test files never collide.
 */
export function uniqueName (prefix: string): string {
  checkPrefix(prefix)
  const pid = process.pid.toString(36)
  const room = NETNS_DEFAULTS.maxNameLength - prefix.length - pid.length
  if (room < NETNS_DEFAULTS.minRandomChars) {
    throw new Error(`prefix "${prefix}" is too long: names are limited to ${String(NETNS_DEFAULTS.maxNameLength)} characters and need ${String(NETNS_DEFAULTS.minRandomChars)} random ones plus the pid`)
  }
  let rand = ''
  while (rand.length < room) rand += randomBytes(8).readBigUInt64BE().toString(36)
  return `${prefix}${rand.slice(0, room)}${pid}`
}

/** Creates a network namespace named `<prefix>…` with loopback up. */
export function createNetns (prefix = 'nrt'): Netns {
  const name = uniqueName(prefix)
  ip(['netns', 'add', name])
  try {
    ip(['-n', name, 'link', 'set', 'lo', 'up'])
  } catch (err) {
    try { ip(['netns', 'delete', name]) } catch { /* already gone */ }
    throw err
  }
  return {
    name,
    path: `/var/run/netns/${name}`,
    exec: async (cmd, args = []) => await new Promise<ExecResult>((resolveExec) => {
      execFile('ip', ['netns', 'exec', name, cmd, ...args], { encoding: 'utf8', timeout: NETNS_DEFAULTS.execTimeoutMs, maxBuffer: 64 * 1024 * 1024 },
        (err, stdout, stderr) => {
          const code = err === null ? 0 : typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1
          resolveExec({ code, stdout, stderr: err !== null && stderr === '' ? err.message : stderr })
        })
    }),
    addresses: () => JSON.parse(ip(['-n', name, '-j', 'addr', 'show'])) as IpAddrEntry[],
    remove: () => {
      if (!existsSync(`/var/run/netns/${name}`)) return
      ip(['netns', 'delete', name])
    },
  }
}

/** Network namespaces and root-namespace links whose names start with `prefix`. */
export function leakedKernelObjects (prefix: string): { netns: string[], links: string[] } {
  checkPrefix(prefix)
  const netns = (JSON.parse(ip(['-j', 'netns', 'list']) || '[]') as Array<{ name: string }>)
    .map((n) => n.name).filter((n) => n.startsWith(prefix)).sort()
  const links = (JSON.parse(ip(['-j', 'link', 'show']) || '[]') as Array<{ ifname: string }>)
    .map((l) => l.ifname).filter((n) => n.startsWith(prefix)).sort()
  return { netns, links }
}

/** Removes every netns and root-namespace link starting with `prefix` (a crashed run's leftovers). */
export function cleanupKernelObjects (prefix: string): void {
  const { netns, links } = leakedKernelObjects(prefix)
  for (const n of netns) { try { ip(['netns', 'delete', n]) } catch { /* raced with its owner */ } }
  for (const l of links) { try { ip(['link', 'delete', l]) } catch { /* a veth peer went with its twin */ } }
}

/** Names of the links enslaved to `bridge` in the root namespace (veth host ends of pods). */
export function bridgePorts (bridge: string): string[] {
  if (!existsSync(`/sys/class/net/${bridge}`)) return []
  return (JSON.parse(ip(['-j', 'link', 'show', 'master', bridge]) || '[]') as Array<{ ifname: string }>).map((l) => l.ifname).sort()
}

/** One IP reservation file host-local keeps: `<dataDir>/<network>/<ip>` = `<containerID>\r\n<ifname>`. */
export interface HostLocalAllocation { network: string, ip: string, path: string, containerId: string, ifname: string }

/**
 * The reservations host-local left under `dataDir` (its `dataDir` option, default
 * /var/lib/cni/networks): files named by IP address, in `dataDir` itself or one level down
 * (per network name). `lock` and `last_reserved_ip.*` are not reservations.
 */
export function hostLocalAllocations (dataDir: string): HostLocalAllocation[] {
  if (!existsSync(dataDir)) return []
  const out: HostLocalAllocation[] = []
  const scan = (dir: string, network: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, entry.name)
      if (entry.isDirectory()) {
        if (network === '') scan(p, entry.name)
        continue
      }
      if (entry.name === 'lock' || entry.name.startsWith('last_reserved_ip.')) continue
      // IPv6 reservations are stored with ':' as is; names that are not IPs are not ours to judge
      if (isIP(entry.name) === 0) continue
      const [containerId = '', ifname = ''] = readFileSync(p, 'utf8').split(/\r?\n/)
      out.push({ network, ip: entry.name, path: p, containerId: containerId.trim(), ifname: ifname.trim() })
    }
  }
  scan(resolve(dataDir), '')
  return out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))
}

/** Paths of the IP-address files host-local left under `dataDir` (see {@link hostLocalAllocations}). */
export function hostLocalReservations (dataDir: string): string[] {
  return hostLocalAllocations(dataDir).map((a) => a.path)
}

/** The directory holding the real CNI plugins (bridge, host-local…), or undefined. */
export function cniPluginDir (): string | undefined {
  return NETNS_DEFAULTS.pluginDirs.find((d) => NETNS_DEFAULTS.requiredPlugins.every((p) => existsSync(join(d, p))))
}

/** Ends `t` as skipped with `reason` (plan 0 → `# SKIP reason` in the TAP output). */
export function skip (t: TestLike, reason: string): void {
  t.plan(0, reason)
}

/** Skips `t` (returns true) when not running as root. */
export function skipUnlessRoot (t: TestLike): boolean {
  if (process.getuid?.() === 0) return false
  skip(t, 'needs root (network namespaces and CNI plugins); CI runs it as root')
  return true
}

/** Skips `t` (returns true) when the real CNI plugins are not installed. */
export function skipUnlessPlugins (t: TestLike): boolean {
  if (cniPluginDir() !== undefined) return false
  skip(t, `needs the CNI plugins ${NETNS_DEFAULTS.requiredPlugins.join(', ')} in ${NETNS_DEFAULTS.pluginDirs.join(' or ')} (apt-get install containernetworking-plugins)`)
  return true
}

/** A fresh directory under the OS temp dir, removed when `t` ends. */
export function tempDir (t: TestLike, prefix: string): string {
  if (!/^[A-Za-z0-9._-]+$/.test(prefix)) throw new Error(`temp dir prefix "${prefix}" may only use letters, digits, ".", "_" and "-"`)
  const dir = mkdtempSync(join(tmpdir(), `${prefix}-`))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

/**
 * A temp CNI_PATH: a symlink to every real plugin, plus `netrank-cni` → `opts.shim`.
 * A JavaScript shim (.js/.cjs/.mjs) gets a `#!/bin/sh` wrapper that execs this Node.js
 * on it; anything else (the self-contained executable) is symlinked.
 */
export function makeCniPath (t: TestLike, opts: { shim?: string } = {}): string {
  const pluginDir = cniPluginDir()
  if (pluginDir === undefined) throw new Error('no CNI plugin directory found (apt-get install containernetworking-plugins)')
  const dir = tempDir(t, 'nr-cnipath')
  for (const f of readdirSync(pluginDir)) symlinkSync(join(pluginDir, f), join(dir, f))
  if (opts.shim !== undefined) {
    const shim = resolve(opts.shim)
    if (!existsSync(shim) || !statSync(shim).isFile()) throw new Error(`shim "${shim}" does not exist; run \`npm run build\` first`)
    const target = join(dir, 'netrank-cni')
    if (/\.(c|m)?js$/.test(shim)) {
      const q = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`
      writeFileSync(target, `#!/bin/sh\nexec ${q(process.execPath)} ${q(shim)} "$@"\n`)
      chmodSync(target, 0o755)
    } else symlinkSync(shim, target)
  }
  return dir
}
