// A process's start time, to tell a pid from a later process that got the same pid: field 22
// of /proc/<pid>/stat, clock ticks since boot. Shared by the shim (a record's owner) and the
// lab (its processes).
import { readFileSync } from 'node:fs'

/** The start time of `pid` in clock ticks (as written in /proc); undefined when the pid is gone or a zombie. */
export function procStartTicks (pid: number): string | undefined {
  let stat: string
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  } catch {
    return undefined
  }
  // the command name (field 2) may hold spaces and parentheses: count from the last ')'
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  const state = rest[0]
  if (state === 'Z' || state === 'X') return undefined // a zombie has exited
  const ticks = rest[19]
  return ticks !== undefined && /^\d+$/.test(ticks) ? ticks : undefined
}
