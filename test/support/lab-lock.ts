// One lab per machine. The lab owns fixed kernel names (nrbr-* bridges, 10.66.x subnets) and
// tap runs test files two at a time, so every test that brings a lab up first takes this
// machine-wide lock (lab/file-lock.ts) and holds it until its teardown. Waiters poll; they
// never skip.
import { accessSync, constants } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { acquireLock, LockTimeout } from '../../lab/file-lock.js'

const LAB_LOCK_DEFAULTS = Object.freeze({
  dir: '/run', // tmpfs, gone after a reboot, shared by every test process on the machine
  fileName: 'netrank-lab.test.lock',
  waitMs: 600_000, // 10 min: a whole lab test file runs well under that
  pollMs: 500, // 0.5 s between attempts
  noticeEveryMs: 30_000, // 30 s between "still waiting" comments
})

/** The part of a tap Test the lock uses. */
export interface TestLike {
  teardown: (fn: () => unknown) => void
  comment?: (...args: unknown[]) => void
}

/** Options of {@link withLabLock}; defaults suit the test suite. */
export interface LabLockOptions {
  path?: string // lock file; default $NETRANK_LAB_LOCK or /run/netrank-lab.test.lock
  waitMs?: number
  pollMs?: number
}

// Re-entrant inside one process: a nested withLabLock (same test file) only counts.
let held: { path: string, count: number, release: () => void } | undefined

/** The default lock file: $NETRANK_LAB_LOCK, else /run (tmp dir when /run is not writable). */
export function labLockPath (): string {
  const env = process.env.NETRANK_LAB_LOCK
  if (env !== undefined && env !== '') return env
  try {
    accessSync(LAB_LOCK_DEFAULTS.dir, constants.W_OK)
    return join(LAB_LOCK_DEFAULTS.dir, LAB_LOCK_DEFAULTS.fileName)
  } catch {
    return join(tmpdir(), LAB_LOCK_DEFAULTS.fileName)
  }
}

/**
 * Acquires the machine-wide lab lock for test `t` (waiting up to 10 min for another test
 * process's lab to go) and releases it on `t.teardown`. Re-entrant within one process.
 * Throws when the wait times out, naming the holder.
 */
export async function withLabLock (t: TestLike, opts: LabLockOptions = {}): Promise<void> {
  const path = opts.path ?? labLockPath()
  const done = (): void => {
    if (held === undefined || --held.count > 0) return
    held.release()
    held = undefined
  }
  if (held?.path === path) {
    held.count++
    t.teardown(done)
    return
  }
  const release = await acquireLock(path, {
    waitMs: opts.waitMs ?? LAB_LOCK_DEFAULTS.waitMs,
    pollMs: opts.pollMs ?? LAB_LOCK_DEFAULTS.pollMs,
    noticeEveryMs: LAB_LOCK_DEFAULTS.noticeEveryMs,
    onWait: (pid, waited) => t.comment?.(`waiting for the lab lock ${path} held by pid ${pid ?? '?'} (${Math.round(waited / 1000)} s)`),
  }).catch((err: unknown) => {
    throw err instanceof LockTimeout ? new Error(`another lab test holds ${path} (pid ${err.holderPid ?? '?'}): ${err.message}`) : err
  })
  held = { path, count: 1, release }
  t.teardown(done)
}
