// One lab per machine. The lab owns fixed kernel names (nrbr-* bridges, 10.66.x subnets) and
// tap runs test files two at a time, so every test that brings a lab up first takes this
// machine-wide lock and holds it until its teardown. The lock is a file created atomically
// (written to a temp name, then link(2)ed into place: link fails if the name exists) holding
// "<pid> <process start time>"; a lock whose process is gone (or whose pid now belongs to a
// newer process) is stale and taken over. Waiters poll; they never skip.
import { linkSync, readFileSync, renameSync, statSync, unlinkSync, writeFileSync, accessSync, constants } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

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

interface Holder { pid: number, start: string }

// Re-entrant inside one process: a nested withLabLock (same test file) only counts.
let heldPath: string | undefined
let heldCount = 0

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

// Field 22 of /proc/<pid>/stat (start time in clock ticks since boot): tells a reused pid apart.
function processStart (pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    const afterComm = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    if (afterComm[0] === 'Z' || afterComm[0] === 'X') return undefined // a zombie holds nothing
    return afterComm[19]
  } catch {
    return undefined
  }
}

function readHolder (path: string): Holder | undefined {
  try {
    const [pid, start] = readFileSync(path, 'utf8').trim().split(' ')
    const n = Number(pid)
    return Number.isInteger(n) && n > 0 ? { pid: n, start: start ?? '' } : undefined
  } catch {
    return undefined
  }
}

function alive (h: Holder): boolean {
  const start = processStart(h.pid)
  return start !== undefined && (h.start === '' || h.start === start)
}

function tryCreate (path: string, me: Holder): boolean {
  const tmp = `${path}.${process.pid}.tmp`
  writeFileSync(tmp, `${me.pid} ${me.start}\n`)
  try {
    linkSync(tmp, path)
    return true
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false
    throw err
  } finally {
    try { unlinkSync(tmp) } catch { /* already gone */ }
  }
}

// Moves a stale lock aside (rename is atomic: of two waiters that saw the same stale lock only
// one moves it); if what got moved was in fact a fresh lock, it is linked back.
function takeOverStale (path: string, seen: Holder): void {
  const aside = `${path}.${process.pid}.stale`
  try {
    renameSync(path, aside)
  } catch {
    return // someone else moved it first
  }
  const moved = readHolder(aside)
  if (moved !== undefined && (moved.pid !== seen.pid || moved.start !== seen.start) && alive(moved)) {
    try { linkSync(aside, path) } catch { /* a new lock took its place: keep that one */ }
  }
  try { unlinkSync(aside) } catch { /* already gone */ }
}

function release (path: string): void {
  heldCount--
  if (heldCount > 0) return
  heldPath = undefined
  const h = readHolder(path)
  if (h?.pid === process.pid) {
    try { unlinkSync(path) } catch { /* already gone */ }
  }
}

function lockAge (path: string): number {
  try {
    return Date.now() - statSync(path).mtimeMs
  } catch {
    return 0
  }
}

/**
 * Acquires the machine-wide lab lock for test `t` (waiting up to 10 min for another test
 * process's lab to go) and releases it on `t.teardown`. Re-entrant within one process.
 * Throws when the wait times out, naming the holder.
 */
export async function withLabLock (t: TestLike, opts: LabLockOptions = {}): Promise<void> {
  const path = opts.path ?? labLockPath()
  const waitMs = opts.waitMs ?? LAB_LOCK_DEFAULTS.waitMs
  const pollMs = opts.pollMs ?? LAB_LOCK_DEFAULTS.pollMs
  if (heldPath === path && heldCount > 0) {
    heldCount++
    t.teardown(() => { release(path) })
    return
  }
  const me: Holder = { pid: process.pid, start: processStart(process.pid) ?? '' }
  const began = Date.now()
  let lastNotice = began
  for (;;) {
    if (tryCreate(path, me)) break
    const holder = readHolder(path)
    if (holder === undefined) {
      // unreadable or garbage: only stale when it has been so for a while (a lock is never half-written)
      if (lockAge(path) > 10 * pollMs) takeOverStale(path, { pid: 0, start: '' })
    } else if (!alive(holder)) {
      takeOverStale(path, holder)
      continue
    }
    const waited = Date.now() - began
    if (waited >= waitMs) {
      throw new Error(`another lab test holds ${path} (pid ${holder?.pid ?? '?'}) after waiting ${Math.round(waited / 1000)} s`)
    }
    if (Date.now() - lastNotice >= LAB_LOCK_DEFAULTS.noticeEveryMs) {
      lastNotice = Date.now()
      t.comment?.(`waiting for the lab lock ${path} held by pid ${holder?.pid ?? '?'} (${Math.round(waited / 1000)} s)`)
    }
    await new Promise((resolve) => setTimeout(resolve, pollMs))
  }
  heldPath = path
  heldCount = 1
  t.teardown(() => { release(path) })
}
