/**
 * The lab's background processes: started detached with their output in a log file, known
 * by pid plus the kernel's start time (so a pid reused by an unrelated program is never
 * signalled), stopped by pid — SIGTERM, then SIGKILL after a grace period. Never by name.
 */
import { procStartTicks } from '../contract/proc-stat.js'
import { spawn } from 'node:child_process'
import { closeSync, mkdirSync, openSync } from 'node:fs'
import { dirname } from 'node:path'
import { LAB_DEFAULTS } from './lab-defaults.js'
import { setTimeout as sleep } from 'node:timers/promises'

/** A background process the lab started. `startTicks` guards against a reused pid. */
export interface LabProcess {
  role: string
  pid: number
  startTicks: number
  log?: string
  argv: string[]
}

/** Field 22 of /proc/<pid>/stat: start time in clock ticks since boot; undefined when the pid is gone. */
export function startTicksOf (pid: number): number | undefined {
  const ticks = procStartTicks(pid)
  return ticks === undefined ? undefined : Number(ticks)
}

/** True while `pid` runs (and is not a zombie). */
export function isAlive (pid: number): boolean {
  return startTicksOf(pid) !== undefined
}

/** True while the recorded process is the one still running under its pid. */
export function isRunning (p: Pick<LabProcess, 'pid' | 'startTicks'>): boolean {
  const t = startTicksOf(p.pid)
  return t !== undefined && t === p.startTicks
}

/** Starts argv detached (own session, survives this CLI), stdout and stderr appended to `log`. */
export function spawnDetached (role: string, argv: string[], log: string, env: NodeJS.ProcessEnv = process.env): LabProcess {
  const [cmd, ...args] = argv
  if (cmd === undefined) throw new Error(`${role}: empty command`)
  mkdirSync(dirname(log), { recursive: true })
  const fd = openSync(log, 'a')
  try {
    const child = spawn(cmd, args, { detached: true, stdio: ['ignore', fd, fd], env })
    child.unref()
    const pid = child.pid
    if (pid === undefined) throw new Error(`${role}: could not start ${cmd}`)
    // /proc/<pid>/stat exists as soon as fork returned, so the start time is readable now
    const startTicks = startTicksOf(pid)
    if (startTicks === undefined) throw new Error(`${role} (${argv.join(' ')}) exited at once; see ${log}`)
    return { role, pid, startTicks, log, argv }
  } finally {
    closeSync(fd)
  }
}


/** Stops one recorded process: SIGTERM, SIGKILL after the grace. Resolves true when it ran and is gone now. */
export async function stopProcess (p: Pick<LabProcess, 'pid' | 'startTicks'>, graceMs: number = LAB_DEFAULTS.stopGraceMs): Promise<boolean> {
  if (!isRunning(p)) return false
  try { process.kill(p.pid, 'SIGTERM') } catch { return false }
  const deadline = Date.now() + graceMs
  while (Date.now() < deadline) {
    if (!isRunning(p)) return true
    await sleep(50)
  }
  if (isRunning(p)) {
    try { process.kill(p.pid, 'SIGKILL') } catch { /* gone meanwhile */ }
    for (let i = 0; i < 40 && isRunning(p); i++) await sleep(50)
  }
  return true
}
