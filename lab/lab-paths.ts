/** Where the lab's pieces are: the build it runs (dist/) and the layout of a lab dir. */
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { packageRoot } from '../cli/package-root.js'
import type { LabState } from './lab-state.js'

/** The build's executables the lab runs; `missing` names what `npm run build` must make first. */
export function buildPaths (): { root: string, cli: string, labMain: string, shim: string, missing: string[] } {
  const root = packageRoot()
  const cli = join(root, 'dist', 'bin', 'netrank.js')
  const labMain = join(root, 'dist', 'lab', 'cli-lab-main.js')
  const shim = join(root, 'dist', 'bin', 'netrank-cni')
  return { root, cli, labMain, shim, missing: [cli, labMain, shim].filter((p) => !existsSync(p)) }
}

/** The files and folders inside a lab dir. */
export function labLayout (dir: string, shim: string): LabState['paths'] {
  return {
    confDir: join(dir, 'net.d'),
    cniPath: join(dir, 'bin'),
    stateDir: join(dir, 'state'),
    ipamDir: join(dir, 'ipam'),
    logDir: join(dir, 'log'),
    kubeDir: join(dir, 'kube'),
    agentConfig: join(dir, 'agent.yaml'),
    // the shim's fast path; a unix socket path has at most 107 bytes, the lab dir is short
    agentSocket: join(dir, 'run', 'agent.sock'),
    shimConf: join(dir, 'net.d', '00-netrank.conflist'),
    shim,
    criSocket: join(dir, 'containerd', 'containerd.sock'),
  }
}
