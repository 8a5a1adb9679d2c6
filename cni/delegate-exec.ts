// Running a delegate plugin binary: found by `type` in the CNI_PATH directories,
// executed directly (no shell) with the conf on stdin and CNI_* in its environment,
// exactly as a runtime would. stdout is the result or a CNI error; stderr goes to our log.
import type * as ChildProcess from 'node:child_process'
import { accessSync, constants } from 'node:fs'
import { join } from 'node:path'
import { fail } from './errors.js'
import { log } from './log.js'
import { SHIM_DEFAULTS } from './shim-conf.js'

/** What a delegate run produced. */
export interface ExecOutcome {
  exitCode: number
  stdout: string
  stderr: string
  /** killed: it ran past the timeout, or printed more than the output cap */
  killed?: 'timeout' | 'output'
}

/** Bounds of one delegate run. */
export interface ExecLimits {
  timeoutMs: number
  maxOutputBytes: number
}

/** A CNI error JSON printed by a delegate. */
export interface DelegateError { code: number, msg: string, details?: string }

/** The absolute path of plugin `type` in `cniPath`; code 104 when no directory has an executable of that name. */
export function findPluginBinary (type: string, cniPath: readonly string[]): string {
  if (type.includes('/')) throw fail('NR_CNI_BAD_DELEGATE_CONF', `plugin type ${JSON.stringify(type)} must not contain '/'`)
  for (const dir of cniPath) {
    const candidate = join(dir, type)
    try {
      accessSync(candidate, constants.X_OK)
      return candidate
    } catch {
      // next directory
    }
  }
  throw fail('NR_CNI_PLUGIN_NOT_FOUND', `no executable ${JSON.stringify(type)} in CNI_PATH ${cniPath.join(':') || '(empty)'}`)
}

// node:child_process (with net and streams, ~2 ms to load) is loaded on first use, so an
// ADD can load it while it waits for the API server instead of before asking it.
let childProcess: Promise<typeof ChildProcess> | undefined

/** Starts loading what running a delegate needs (call it before waiting on the network). */
export function preloadDelegateExec (): Promise<typeof ChildProcess> {
  childProcess ??= import('node:child_process')
  return childProcess
}

/**
 * Runs `binary` with `stdin` and `env`; never throws for a non-zero exit (the caller reads the
 * outcome). The plugin runs in its own process group: past `timeoutMs`, or once stdout or
 * stderr passes `maxOutputBytes`, the whole group gets SIGKILL (a plugin's own children, a
 * shell's `sleep`, go with it) and the outcome says `killed`.
 */
export async function execPlugin (binary: string, stdin: string, env: NodeJS.ProcessEnv, limits: ExecLimits = { timeoutMs: SHIM_DEFAULTS.delegateTimeoutMs, maxOutputBytes: SHIM_DEFAULTS.delegateMaxOutputBytes }): Promise<ExecOutcome> {
  const { spawn } = await preloadDelegateExec()
  return await new Promise((resolve, reject) => {
    const child = spawn(binary, [], { env, stdio: ['pipe', 'pipe', 'pipe'], detached: true })
    const out: Buffer[] = []
    const err: Buffer[] = []
    let outBytes = 0
    let errBytes = 0
    let killed: ExecOutcome['killed']
    const killGroup = (why: NonNullable<ExecOutcome['killed']>): void => {
      if (killed !== undefined || child.pid === undefined) return
      killed = why
      try { process.kill(-child.pid, 'SIGKILL') } catch { /* already gone */ }
    }
    const timer = setTimeout(() => killGroup('timeout'), limits.timeoutMs)
    child.stdout.on('data', (b: Buffer) => {
      outBytes += b.length
      if (outBytes > limits.maxOutputBytes) killGroup('output'); else out.push(b)
    })
    child.stderr.on('data', (b: Buffer) => {
      errBytes += b.length
      if (errBytes > limits.maxOutputBytes) killGroup('output'); else err.push(b)
    })
    child.on('error', (e) => { clearTimeout(timer); reject(fail('NR_CNI_DELEGATE_FAILED', `cannot run ${binary}: ${e.message}`, e)) })
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      const outcome: ExecOutcome = {
        exitCode: code ?? (signal !== null ? 128 : 1),
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
      }
      if (killed !== undefined) outcome.killed = killed
      resolve(outcome)
    })
    // a plugin may exit without reading stdin (e.g. on a bad env); that EPIPE is not our error
    child.stdin.on('error', () => {})
    child.stdin.end(stdin)
  })
}

/** Parses a delegate's CNI error JSON from stdout; a made-up one when the plugin printed none. */
export function readDelegateError (outcome: ExecOutcome): DelegateError {
  try {
    const e = JSON.parse(outcome.stdout) as Record<string, unknown>
    if (typeof e.code === 'number' && typeof e.msg === 'string') {
      return { code: e.code, msg: e.msg, ...(typeof e.details === 'string' && e.details !== '' ? { details: e.details } : {}) }
    }
  } catch {
    // fall through
  }
  return { code: 999, msg: `exit ${outcome.exitCode}: ${(outcome.stdout + outcome.stderr).trim().slice(0, 500)}` }
}

/** The inputs of one delegate call. */
export interface DelegateCall {
  command: 'ADD' | 'DEL' | 'CHECK' | 'GC' | 'STATUS'
  /** the full plugin conf to put on stdin (name, cniVersion, prevResult… already injected) */
  conf: Record<string, unknown> & { type: string }
  containerId: string
  netns: string
  ifname: string
  argsRaw: string
  cniPath: readonly string[]
  /** killed after this long; default SHIM_DEFAULTS.delegateTimeoutMs */
  timeoutMs?: number
}

/**
 * Runs one delegate plugin and returns its parsed stdout (undefined when empty).
 * A non-zero exit becomes code 105 naming the plugin and quoting its error.
 */
export async function runDelegate (call: DelegateCall): Promise<unknown> {
  const binary = findPluginBinary(call.conf.type, call.cniPath)
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    CNI_COMMAND: call.command,
    CNI_CONTAINERID: call.containerId,
    CNI_NETNS: call.netns,
    CNI_IFNAME: call.ifname,
    CNI_ARGS: call.argsRaw,
    CNI_PATH: call.cniPath.join(':'),
  }
  const started = Date.now()
  const timeoutMs = call.timeoutMs ?? SHIM_DEFAULTS.delegateTimeoutMs
  const outcome = await execPlugin(binary, JSON.stringify(call.conf), env, { timeoutMs, maxOutputBytes: SHIM_DEFAULTS.delegateMaxOutputBytes })
  const fields = { plugin: call.conf.type, command: call.command, ifname: call.ifname, exitCode: outcome.exitCode, ms: Date.now() - started }
  if (outcome.stderr.trim() !== '') log.debug({ ...fields, stderr: outcome.stderr.slice(0, 2000) }, 'delegate stderr')
  if (outcome.killed !== undefined) {
    const why = outcome.killed === 'timeout' ? `did not finish within ${timeoutMs} ms (delegateTimeoutMs)` : `printed more than ${SHIM_DEFAULTS.delegateMaxOutputBytes} bytes`
    log.warn({ ...fields, killed: outcome.killed }, 'delegate killed')
    throw fail('NR_CNI_DELEGATE_FAILED', `${call.conf.type} ${call.command} on ${call.ifname} ${why}: killed with its process group`)
  }
  if (outcome.exitCode !== 0) {
    const e = readDelegateError(outcome)
    log.warn({ ...fields, err: e }, 'delegate failed')
    throw fail('NR_CNI_DELEGATE_FAILED', `${call.conf.type} ${call.command} on ${call.ifname} failed with code ${e.code}: ${e.msg}${e.details !== undefined ? ` (${e.details})` : ''}`)
  }
  log.debug(fields, 'delegate ok')
  if (outcome.stdout.trim() === '') return undefined
  try {
    return JSON.parse(outcome.stdout)
  } catch {
    throw fail('NR_CNI_BAD_DELEGATE_RESULT', `${call.conf.type} ${call.command} printed non-JSON: ${outcome.stdout.slice(0, 200)}`)
  }
}
