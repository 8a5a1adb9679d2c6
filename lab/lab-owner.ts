/**
 * One lab per machine: the bridge names are fixed (`nrbr-fast`…), so a second lab in
 * another dir would share them. `/run/netrank-lab.owner.json` names the dir of the lab
 * that owns them; a stale claim (its dir has no state any more) is taken over. Claims and
 * releases run under `<ownerFile>.lock` (lab/file-lock.ts): two `lab up`s racing cannot both
 * see no owner and both write their claim.
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs'
import { withLockSync } from './file-lock.js'
import { LAB_DEFAULTS } from './lab-defaults.js'
import { readState } from './lab-state.js'

interface OwnerClaim { dir: string, pid: number, at: string }

function readClaim (file: string): OwnerClaim | undefined {
  try {
    const v = JSON.parse(readFileSync(file, 'utf8')) as Partial<OwnerClaim>
    return typeof v.dir === 'string' ? v as OwnerClaim : undefined
  } catch {
    return undefined
  }
}

/** The dir of the lab owning this machine's lab bridges, when it still has a state. */
export function currentOwner (file: string = LAB_DEFAULTS.ownerFile): string | undefined {
  const c = readClaim(file)
  if (c === undefined) return undefined
  try {
    return readState(c.dir) !== undefined ? c.dir : undefined
  } catch {
    return c.dir // a state that does not parse is still a lab `down` has to clean
  }
}

/** Claims the machine for the lab in `dir`; throws naming the other lab's dir. */
export function claimOwner (dir: string, file: string = LAB_DEFAULTS.ownerFile): void {
  underClaimLock(file, () => {
    const other = currentOwner(file)
    if (other !== undefined && other !== dir) {
      throw new Error(`another lab is up on this machine in ${other} (one lab per machine: the bridges nrbr-* are shared); \`netrank lab down --dir ${other}\` removes it`)
    }
    writeFileSync(file, JSON.stringify({ dir, pid: process.pid, at: new Date().toISOString() }) + '\n')
  })
}

/** True when the lab in `dir` may remove the machine's lab bridges: it owns them, or nobody does. */
export function mayOwn (dir: string, file: string = LAB_DEFAULTS.ownerFile): boolean {
  const other = currentOwner(file)
  return other === undefined || other === dir
}

/** Drops the claim when it is `dir`'s (or stale). */
export function releaseOwner (dir: string, file: string = LAB_DEFAULTS.ownerFile): void {
  underClaimLock(file, () => {
    const c = readClaim(file)
    if (c === undefined || c.dir === dir || currentOwner(file) === undefined) rmSync(file, { force: true })
  })
}

function underClaimLock (file: string, fn: () => void): void {
  withLockSync(`${file}.lock`, { waitMs: LAB_DEFAULTS.lockWaitMs, pollMs: 20 }, fn)
}
