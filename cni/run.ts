// One CNI invocation from environment and stdin text to stdout text and exit code.
// Kept apart from main.ts (the process entry) so tests can drive it in-process.
import { cmdAdd } from './cmd-add.js'
import { cmdCheck } from './cmd-check.js'
import { cmdDel } from './cmd-del.js'
import { cmdGc } from './cmd-gc.js'
import { cmdStatus } from './cmd-status.js'
import { readEnv } from './env.js'
import { CniError, fail, toErrorJson } from './errors.js'
import { addLogContext, configureLog, log } from './log.js'
import { decodeStdin, parseShimConf } from './shim-conf.js'
import { assertVerbAllowed, CURRENT_VERSION, SUPPORTED_VERSIONS } from './versions.js'
import { appendFailure } from '../contract/shim-failure.js'

/** What to print and how to exit. */
export interface RunOutcome { stdout: string, exitCode: number }

function guessVersion (stdin: string): string {
  try {
    const v = (JSON.parse(stdin) as { cniVersion?: unknown }).cniVersion
    if (typeof v === 'string' && (SUPPORTED_VERSIONS as readonly string[]).includes(v)) return v
  } catch {
    // not JSON: answer in the newest version
  }
  return CURRENT_VERSION
}

/** The error outcome for any thrown value (non-CniErrors become code 199). */
export function errorOutcome (err: unknown, cniVersion: string): RunOutcome {
  const cniErr = err instanceof CniError ? err : fail('NR_CNI_INTERNAL', err instanceof Error ? err.message : String(err), err)
  log[cniErr.code === 'NR_CNI_INTERNAL' ? 'error' : 'warn']({ code: cniErr.cniCode, error: cniErr.code, details: cniErr.details, err }, 'operation failed')
  return { stdout: JSON.stringify(toErrorJson(cniErr, cniVersion)) + '\n', exitCode: 1 }
}

/**
 * The stateDir a failure line goes to: the parsed conf's, else a `stateDir` string in the raw
 * stdin (a conf that failed validation elsewhere), else none (nothing is written: the shim
 * does not guess a directory for a conf it cannot read).
 */
function failureStateDir (confStateDir: string | undefined, stdin: string): string | undefined {
  if (confStateDir !== undefined) return confStateDir
  try {
    const v = (JSON.parse(stdin) as { stateDir?: unknown }).stateDir
    if (typeof v === 'string' && v.startsWith('/')) return v
  } catch {
    // not JSON
  }
  return undefined
}

/** A failed ADD leaves one line for the agent (contract/shim-failure.ts); never throws. */
function recordAddFailure (environment: NodeJS.ProcessEnv, stateDir: string | undefined, err: unknown): void {
  if (environment.CNI_COMMAND !== 'ADD' || stateDir === undefined) return
  const cniErr = err instanceof CniError ? err : undefined
  // CNI_ARGS as far as it parses: a malformed one may be why the ADD failed
  const args: Record<string, string> = {}
  for (const pair of (environment.CNI_ARGS ?? '').split(';')) {
    const eq = pair.indexOf('=')
    if (eq > 0) args[pair.slice(0, eq)] = pair.slice(eq + 1)
  }
  const written = appendFailure(stateDir, {
    time: new Date().toISOString(),
    command: 'ADD',
    code: cniErr?.cniCode ?? 199,
    error: cniErr?.code ?? 'NR_CNI_INTERNAL',
    containerId: environment.CNI_CONTAINERID ?? '',
    ...(args.K8S_POD_NAMESPACE !== undefined ? { namespace: args.K8S_POD_NAMESPACE } : {}),
    ...(args.K8S_POD_NAME !== undefined ? { pod: args.K8S_POD_NAME } : {}),
  })
  if (!written) log.warn({ stateDir }, 'the failure line for the agent could not be written')
}

/** Runs one CNI operation. Never throws. */
export async function runShim (environment: NodeJS.ProcessEnv, stdin: string): Promise<RunOutcome> {
  const started = Date.now()
  let version = guessVersion(stdin)
  let stateDir: string | undefined
  try {
    const env = readEnv(environment)
    if (env.command === 'VERSION') {
      return { stdout: JSON.stringify({ cniVersion: CURRENT_VERSION, supportedVersions: SUPPORTED_VERSIONS }) + '\n', exitCode: 0 }
    }
    const conf = parseShimConf(decodeStdin(stdin))
    version = conf.cniVersion
    stateDir = conf.stateDir
    configureLog(conf.logFile, conf.logLevel, {})
    addLogContext({ command: env.command, containerId: env.containerId, ifname: env.ifname })
    assertVerbAllowed(env.command, conf.cniVersion)
    let stdout = ''
    switch (env.command) {
      case 'ADD': stdout = JSON.stringify(await cmdAdd(conf, env)) + '\n'; break
      case 'DEL': await cmdDel(conf, env); break
      case 'CHECK': await cmdCheck(conf, env); break
      case 'STATUS': await cmdStatus(conf, env); break
      case 'GC': await cmdGc(conf, env); break
    }
    log.debug({ ms: Date.now() - started }, 'operation done')
    return { stdout, exitCode: 0 }
  } catch (err) {
    const out = errorOutcome(err, version)
    recordAddFailure(environment, failureStateDir(stateDir, stdin), err)
    return out
  }
}
