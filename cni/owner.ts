// Who wrote a record: the shim process's pid and its start time (contract/proc-stat.ts), so
// a later process that got the same pid is not taken for it.
import { procStartTicks } from '../contract/proc-stat.js'

/** This process as a record's owner; undefined where /proc is not readable. */
export function selfOwner (): { pid: number, startTicks: string } | undefined {
  const startTicks = procStartTicks(process.pid)
  return startTicks === undefined ? undefined : { pid: process.pid, startTicks }
}

/** The start time of `pid` in clock ticks, undefined when no such process runs. */
export const startTicksOf = procStartTicks

/** The owner still runs: same pid, same start time. */
export function ownerAlive (owner: { pid: number, startTicks: string } | undefined): boolean {
  if (owner === undefined || !Number.isInteger(owner.pid) || owner.pid <= 0) return false
  return procStartTicks(owner.pid) === owner.startTicks
}
