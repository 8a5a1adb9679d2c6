// How tests drive the lab: through its CLI only, as a user would. ONE function runs it
// (`labCli`), so switching from `node dist/lab/cli-lab-main.js` to `netrank lab` (once the
// command is registered in cli/main.ts, composed in bin/netrank.ts) is a change here only. Plus the checks every
// lab test makes: what `status --json` says, and that nothing the lab made is left.
import type { Test } from 'tap'
import { execFile, execFileSync } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { mountsUnder, removePodCgroups, shimPidsOf } from '../../lab/lab-containerd.js'
import { bandwidthIfbName } from '../../lab/lab-kernel.js'
import type { LabStatus } from '../../lab/lab-status.js'
import { hostLocalAllocations } from './netns.js'

const root = join(import.meta.dirname, '..', '..')

/** The lab's entry point (`netrank lab …`): argv before the subcommand. */
export const LAB_ENTRY = [join(root, 'dist', 'bin', 'netrank.js'), 'lab']
/** What the lab needs built. */
export const LAB_BUILD = [join(root, 'dist', 'bin', 'netrank.js'), join(root, 'dist', 'bin', 'netrank-cni'), join(root, 'dist', 'lab', 'cli-lab-main.js')]

/** One finished lab command. */
export interface LabRun { code: number, stdout: string, stderr: string }

// NODE_EXTRA_CA_CERTS costs ~90 ms per node start and a kubelet has none.
const env = { ...process.env }
delete env.NODE_EXTRA_CA_CERTS

/** Runs `netrank lab <args…> --dir <dir>`; never rejects on a non-zero exit. */
export async function labCli (dir: string, args: string[], opts: { timeoutMs?: number } = {}): Promise<LabRun> {
  return await new Promise<LabRun>((resolve) => {
    execFile(process.execPath, [...LAB_ENTRY, ...args, '--dir', dir], { env, encoding: 'utf8', timeout: opts.timeoutMs ?? 120_000, maxBuffer: 16 * 2 ** 20 }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1
      resolve({ code, stdout, stderr })
    })
  })
}

/** `lab status --json`; throws with stderr when it fails. */
export async function labStatusJson (dir: string): Promise<LabStatus> {
  const r = await labCli(dir, ['status', '--json'])
  if (r.code !== 0) throw new Error(`lab status failed (exit ${r.code}): ${r.stderr}`)
  return JSON.parse(r.stdout) as LabStatus
}

/** The last lines of a lab log, for failure messages. */
export function labLogTail (dir: string, name: string, lines = 15): string {
  try { return readFileSync(join(dir, 'log', name), 'utf8').split('\n').slice(-lines).join('\n') } catch { return '' }
}

export function netnsNames (): string[] {
  return (JSON.parse(execFileSync('ip', ['-j', 'netns', 'list'], { encoding: 'utf8' }) || '[]') as Array<{ name: string }>).map((n) => n.name)
}

export function linkExists (name: string): boolean {
  return existsSync(`/sys/class/net/${name}`)
}

/** True while `pid` runs (a zombie does not count). */
export function pidAlive (pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    return !/^\S+ \(.*\) [ZX] /.test(stat)
  } catch {
    return false
  }
}

/** The first IPv4 address of a pod (no prefix length). */
export function firstIp (p: { interfaces: Array<{ ips: string[] }> }): string {
  return (p.interfaces[0]?.ips[0] ?? '').split('/')[0] ?? ''
}

/** Asserts nothing the lab `before` describes is left: processes, netns, bridges, ifbs, reservations, the state. */
export function assertLabClean (t: Test, dir: string, before: LabStatus | undefined, bridges: readonly string[]): void {
  for (const p of before?.processes ?? []) t.notOk(pidAlive(p.pid), `${p.role} (pid ${p.pid}) is gone`)
  const left = netnsNames()
  for (const p of before?.pods ?? []) t.notOk(left.includes(p.netns), `netns ${p.netns} is gone`)
  for (const b of bridges) t.notOk(linkExists(b), `bridge ${b} is gone`)
  const ifbs = (before?.pods ?? []).flatMap((p) => (before?.networks ?? []).filter((n) => n.shaping !== null).map((n) => bandwidthIfbName(n.name, p.containerId)))
  t.same(ifbs.filter(linkExists), [], 'no bandwidth ifb of a lab pod is left')
  t.same(hostLocalAllocations(join(dir, 'ipam')), [], 'no host-local reservation is left')
  t.notOk(existsSync(join(dir, 'lab.json')), 'the state file is gone')
  // containerd's leftovers: its shims, the sandboxes' mounts, the pods' cgroups
  t.same(shimPidsOf(join(dir, 'containerd', 'containerd.sock')), [], 'no containerd-shim of the lab runs')
  t.same(mountsUnder(dir), [], 'nothing is mounted under the lab dir')
  t.same(removePodCgroups(), [], 'no pod cgroup of the lab is left')
  const tables = execFileSync('nft', ['list', 'tables'], { encoding: 'utf8' }).split('\n').filter((l) => / netrank$/.test(l.trim()))
  t.same(tables, [], 'no netrank nftables table is left')
}
