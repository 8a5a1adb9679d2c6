/**
 * The one lock of the lab and its tests: a file created atomically (written to a temp name,
 * then link(2)ed into place — link fails when the name exists) holding "<pid> <process start
 * time>". A lock whose process is gone, or whose pid now belongs to a newer process, is stale
 * and taken over (renamed aside atomically: of two waiters that saw it only one moves it).
 * Used by the lab state (`withStateLock`), the machine's lab owner claim and the test suite's
 * machine-wide lab lock.
 */
import { linkSync, readFileSync, renameSync, statSync, unlinkSync, writeFileSync } from 'node:fs'
import { setTimeout as sleep } from 'node:timers/promises'

/** How long to wait for a held lock, and how often to look again. */
export interface LockWait {
  waitMs: number
  pollMs: number
  /** called about every `noticeEveryMs` while waiting (a test's "still waiting" comment) */
  onWait?: (holderPid: number | undefined, waitedMs: number) => void
  noticeEveryMs?: number
}

interface Holder { pid: number, start: string }

/** Thrown when the wait runs out; names the holder. */
export class LockTimeout extends Error {
  readonly path: string
  readonly holderPid: number | undefined
  constructor (path: string, holderPid: number | undefined, waitedMs: number) {
    super(`${path} is held by pid ${holderPid ?? '?'} (waited ${Math.round(waitedMs / 1000)} s)`)
    this.name = 'LockTimeout'
    this.path = path
    this.holderPid = holderPid
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
  writeFileSync(tmp, `${me.pid} ${me.start}\n`, { mode: 0o600 })
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

// if what got moved aside was in fact a fresh lock (taken between our read and the rename), it is linked back
function takeOverStale (path: string, seen: Holder | undefined): void {
  const aside = `${path}.${process.pid}.stale`
  try {
    renameSync(path, aside)
  } catch {
    return // someone else moved it first
  }
  const moved = readHolder(aside)
  if (moved !== undefined && (moved.pid !== seen?.pid || moved.start !== seen.start) && alive(moved)) {
    try { linkSync(aside, path) } catch { /* a new lock took its place: keep that one */ }
  }
  try { unlinkSync(aside) } catch { /* already gone */ }
}

function lockAge (path: string): number {
  try {
    return Date.now() - statSync(path).mtimeMs
  } catch {
    return 0
  }
}

/** One attempt: true when this process now holds `path`; a stale lock is taken over first. */
function attempt (path: string, me: Holder, pollMs: number): { got: boolean, holder: Holder | undefined } {
  if (tryCreate(path, me)) return { got: true, holder: me }
  const holder = readHolder(path)
  if (holder === undefined) {
    // unreadable or garbage: only stale once it has been so for a while (a lock is never half-written)
    if (lockAge(path) > 10 * pollMs) takeOverStale(path, undefined)
  } else if (!alive(holder)) {
    takeOverStale(path, holder)
    return { got: tryCreate(path, me), holder }
  }
  return { got: false, holder }
}

function releaser (path: string): () => void {
  let released = false
  return () => {
    if (released) return
    released = true
    if (readHolder(path)?.pid === process.pid) {
      try { unlinkSync(path) } catch { /* already gone */ }
    }
  }
}

function me (): Holder {
  return { pid: process.pid, start: processStart(process.pid) ?? '' }
}

/** Takes `path`, waiting (asynchronously) as `wait` says; resolves to the release function. */
export async function acquireLock (path: string, wait: LockWait): Promise<() => void> {
  const self = me()
  const began = Date.now()
  let lastNotice = began
  for (;;) {
    const { got, holder } = attempt(path, self, wait.pollMs)
    if (got) return releaser(path)
    const waited = Date.now() - began
    if (waited >= wait.waitMs) throw new LockTimeout(path, holder?.pid, waited)
    if (wait.onWait !== undefined && Date.now() - lastNotice >= (wait.noticeEveryMs ?? 30_000)) {
      lastNotice = Date.now()
      wait.onWait(holder?.pid, waited)
    }
    await sleep(wait.pollMs)
  }
}

const sleepSync = (ms: number): void => { Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms) }

/** Runs `fn` holding `path`, waiting synchronously (for short critical sections of CLI commands). */
export function withLockSync<T> (path: string, wait: LockWait, fn: () => T): T {
  const self = me()
  const began = Date.now()
  for (;;) {
    const { got, holder } = attempt(path, self, wait.pollMs)
    if (got) break
    const waited = Date.now() - began
    if (waited >= wait.waitMs) throw new LockTimeout(path, holder?.pid, waited)
    sleepSync(wait.pollMs)
  }
  const release = releaser(path)
  try {
    return fn()
  } finally {
    release()
  }
}
