/**
 * The lab's state file (`<dir>/lab.json`): what `up` made and started, so `status`, `pod`,
 * `traffic` and `down` (another process, maybe after a crash) know it. Every write is atomic
 * (temp file + rename) so readers — the kubelet stand-in reads the pods at every scrape —
 * never see half a file; read-modify-write goes through {@link updateState}, which holds a
 * lock file so concurrent `pod add`s do not lose each other's pods.
 */
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { randomBytes } from 'node:crypto'
import { join, resolve } from 'node:path'
import { LAB_DEFAULTS } from './lab-defaults.js'
import type { LabNetworkSpec } from './lab-defaults.js'
import { withLockSync } from './file-lock.js'
import type { LabProcess } from './lab-process.js'

export type { LabProcess } from './lab-process.js'

/** A CNI error object (CNI spec "Error"). */
export interface CniErrorJson { code: number, msg: string, details?: string }

export const STATE_FORMAT = 'netrank.io/lab-state/v1'


/** An attachment the shim made for a lab pod. */
export interface LabPodInterface {
  network: string
  ifname: string
  ips: string[]
  mac?: string
}

/** A lab pod: an object in the API stand-in and a netns networked through the shim. */
export interface LabPod {
  name: string
  namespace: string
  uid: string
  containerId: string
  netns: string
  netnsPath: string
  annotations: Record<string, string>
  labels: Record<string, string>
  /**
   * adding: the lab kubelet asked containerd for the sandbox, not done yet (a crash here
   * leaves the sandbox for `down`); ready: networked; failed: RunPodSandbox failed, `error` says why
   */
  phase: 'adding' | 'ready' | 'failed'
  /** the CNI error of a failed ADD (code from the shim's log), or why the sandbox could not be removed */
  error?: CniErrorJson
  interfaces: LabPodInterface[]
  selection?: { plugins: string[], reason: string, decisionId?: string }
}

/** Everything `up` made; fields appear as `up` progresses, so a crashed `up` leaves a usable partial state. */
export interface LabState {
  format: typeof STATE_FORMAT
  dir: string
  createdAt: string
  phase: 'starting' | 'up' | 'failed'
  repoRoot: string
  networks: LabNetworkSpec[]
  paths: {
    confDir: string
    cniPath: string
    stateDir: string
    ipamDir: string
    logDir: string
    kubeDir: string
    agentConfig: string
    agentSocket: string
    shimConf: string
    shim: string
    /** the lab's containerd: its CRI socket (absent in a state of an older lab) */
    criSocket?: string
  }
  bridges: string[]
  kubeApi?: { url: string, kubeconfigPath: string }
  kubelet?: { url: string }
  agent?: { url: string, port: number }
  processes: LabProcess[]
  pods: LabPod[]
}

/** The lab dir: --dir, else NETRANK_LAB_DIR, else /run/netrank-lab. */
export function labDir (flag: string | undefined, env: NodeJS.ProcessEnv): string {
  const d = flag ?? env[LAB_DEFAULTS.dirEnv] ?? LAB_DEFAULTS.dir
  if (d === '') throw new Error(`the lab dir is empty (--dir or ${LAB_DEFAULTS.dirEnv})`)
  return resolve(d)
}

export function statePath (dir: string): string {
  return join(dir, 'lab.json')
}

/** The state, or undefined when there is no lab in `dir`. Throws when the file is not a lab state. */
export function readState (dir: string): LabState | undefined {
  let text: string
  try {
    text = readFileSync(statePath(dir), 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw err
  }
  let v: unknown
  try {
    v = JSON.parse(text)
  } catch (err) {
    throw new Error(`${statePath(dir)} is not JSON (${(err as Error).message}); \`netrank lab down --dir ${dir}\` removes it`)
  }
  if (typeof v !== 'object' || v === null || (v as { format?: unknown }).format !== STATE_FORMAT) {
    throw new Error(`${statePath(dir)} is not a ${STATE_FORMAT} file`)
  }
  return v as LabState
}

/** Reads the state of a lab that must exist. */
export function requireState (dir: string): LabState {
  const s = readState(dir)
  if (s === undefined) throw new Error(`no lab in ${dir}: run \`netrank lab up --dir ${dir}\` first`)
  return s
}

/** Writes the state atomically. */
export function writeState (state: LabState): void {
  mkdirSync(state.dir, { recursive: true })
  const tmp = join(state.dir, `.lab.json.${process.pid}.${randomBytes(4).toString('hex')}.tmp`)
  writeFileSync(tmp, JSON.stringify(state, null, 2) + '\n', { mode: 0o600 })
  try {
    renameSync(tmp, statePath(state.dir))
  } catch (err) {
    rmSync(tmp, { force: true })
    throw err
  }
}

function lockPath (dir: string): string {
  return join(dir, 'lab.lock')
}

/** Runs `fn` holding `<dir>/lab.lock` (lab/file-lock.ts: a dead holder's lock is taken over). */
export function withStateLock<T> (dir: string, fn: () => T): T {
  mkdirSync(dir, { recursive: true })
  return withLockSync(lockPath(dir), { waitMs: LAB_DEFAULTS.lockWaitMs, pollMs: 20 }, fn)
}

/** Read-modify-write of the state under the lock; `fn` changes the state in place. */
export function updateState (dir: string, fn: (s: LabState) => void): LabState {
  return withStateLock(dir, () => {
    const s = requireState(dir)
    fn(s)
    writeState(s)
    return s
  })
}
