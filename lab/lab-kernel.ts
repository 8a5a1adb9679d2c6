/**
 * The kernel objects the lab removes by force: the pods' network namespaces (made by
 * containerd for each sandbox, named `cni-<uuid>` by it and recorded in the state), the
 * `nrbr-*` bridges (created by the bridge plugin) and the bandwidth plugin's ifbs. `ip`
 * from iproute2, no shell.
 */
import { execFileSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { existsSync } from 'node:fs'

const NETNS_DIR = '/var/run/netns'

function ip (args: string[]): string {
  try {
    return execFileSync('ip', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stderr?: string }
    if (e.code === 'ENOENT') throw new Error('the `ip` command (iproute2) is not installed')
    throw new Error(`ip ${args.join(' ')} failed: ${(e.stderr ?? e.message).trim()}`)
  }
}

/** The netns path of a name: what CNI_NETNS takes. */
export function netnsPath (name: string): string {
  return `${NETNS_DIR}/${name}`
}

/** Deletes the netns (its veths go with it, and so their host ends); false when it was not there. */
export function deleteNetns (name: string): boolean {
  if (!existsSync(netnsPath(name))) return false
  ip(['netns', 'delete', name])
  return true
}

export function linkExists (name: string): boolean {
  return existsSync(`/sys/class/net/${name}`)
}

/** Deletes a root-namespace link; false when it was not there. */
export function deleteLink (name: string): boolean {
  if (!linkExists(name)) return false
  ip(['link', 'delete', name])
  return true
}

/**
 * The ifb device the bandwidth plugin (containernetworking/plugins v1.x) made for a
 * container's egress shaping: `bwp` + the first 12 hex of sha512(network + containerId).
 * Named here so `down` can remove it when the plugin's own DEL could not run.
 */
export function bandwidthIfbName (network: string, containerId: string): string {
  return `bwp${createHash('sha512').update(network + containerId).digest('hex').slice(0, 12)}`
}

/** Addresses inside a netns: `ifname → [cidr…]` (loopback left out). */
export function netnsAddresses (name: string): Record<string, string[]> {
  const entries = JSON.parse(ip(['-n', name, '-j', 'addr', 'show']) || '[]') as Array<{ ifname: string, addr_info?: Array<{ local: string, prefixlen: number }> }>
  const out: Record<string, string[]> = {}
  for (const e of entries) {
    if (e.ifname === 'lo') continue
    out[e.ifname] = (e.addr_info ?? []).map((a) => `${a.local}/${a.prefixlen}`)
  }
  return out
}
