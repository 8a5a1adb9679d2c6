/**
 * The shim's failure lines (contract/shim-failure.ts) as the agent reads them: new complete
 * lines since the last read, incrementally. The reader remembers the file's inode and the
 * offset it consumed up to; when the shim rotated the file (a new inode at the name), it
 * finishes the old one under `.1` first (when that is still the inode it was reading), then
 * reads the new one from the start. A file that shrank under the same inode (truncated by
 * hand) is read again from the start. A line without its '\n' waits for the next read (it is
 * being written); lines that do not parse are counted and skipped.
 *
 * Lines older than `lookbackMs` before the reader was made are not handed out: they were
 * counted by the agent that ran then (a restart must not page again for old failures), while
 * failures of the minutes the agent was down still are.
 */
import { closeSync, openSync, readSync, statSync } from 'node:fs'
import { failureFilePath, parseFailureChunk } from '../contract/shim-failure.js'
import type { ShimFailure } from '../contract/shim-failure.js'

export const SHIM_FAILURES_DEFAULTS = Object.freeze({
  lookbackMs: 600_000, // 10 min: an agent restarted within that counts the failures meanwhile
  maxReadBytes: 256 * 1024, // per file and read: the file is rotated at 64 KiB
})

/** What one read found. */
export interface FailuresRead {
  failures: ShimFailure[]
  /** lines that are not failure lines of the format */
  bad: number
}

export interface ShimFailuresSourceOptions {
  stateDir: string
  /** ms since the epoch (default Date.now) */
  now?: () => number
  lookbackMs?: number
  maxReadBytes?: number
}

/** Reads `<stateDir>/failures.jsonl` incrementally; never throws (a missing file is no failures). */
export class ShimFailuresSource {
  readonly file: string
  readonly #oldest: number
  readonly #maxRead: number
  #ino: bigint | undefined
  #offset = 0

  constructor (opts: ShimFailuresSourceOptions) {
    this.file = failureFilePath(opts.stateDir)
    this.#oldest = (opts.now ?? Date.now)() - (opts.lookbackMs ?? SHIM_FAILURES_DEFAULTS.lookbackMs)
    this.#maxRead = opts.maxReadBytes ?? SHIM_FAILURES_DEFAULTS.maxReadBytes
  }

  /** New complete lines since the last call. */
  read (): FailuresRead {
    const out: FailuresRead = { failures: [], bad: 0 }
    let st: { ino: bigint, size: bigint }
    try {
      st = statSync(this.file, { bigint: true })
    } catch {
      // no file (no failure yet) or unreadable: nothing new; a later file starts at 0
      return out
    }
    if (this.#ino !== undefined && st.ino !== this.#ino) {
      // rotated: the rest of the old file, when `.1` is still it
      try {
        const old = statSync(`${this.file}.1`, { bigint: true })
        if (old.ino === this.#ino) this.#take(`${this.file}.1`, this.#offset, out)
      } catch {
        // `.1` gone too (rotated twice between reads): its rest is lost
      }
      this.#offset = 0
    } else if (st.size < BigInt(this.#offset)) {
      this.#offset = 0
    }
    this.#ino = st.ino
    this.#offset += this.#take(this.file, this.#offset, out)
    return out
  }

  /** Parses the complete lines of `file` from `offset`; returns the bytes consumed. */
  #take (file: string, offset: number, out: FailuresRead): number {
    let fd: number
    try {
      fd = openSync(file, 'r')
    } catch {
      return 0
    }
    let consumed = 0
    try {
      const buf = Buffer.alloc(this.#maxRead)
      const n = readSync(fd, buf, 0, buf.length, offset)
      // bytes up to the last '\n' (an ASCII byte never inside a UTF-8 sequence): the offset stays exact whatever the bytes
      const end = n === 0 ? -1 : buf.lastIndexOf(0x0a, n - 1)
      consumed = end + 1
      const chunk = parseFailureChunk(buf.subarray(0, consumed).toString('utf8'))
      out.bad += chunk.bad
      // a full buffer without any '\n' is no line of ours: skip it rather than stall on it
      if (n === buf.length && consumed === 0) { consumed = n; out.bad++ }
      for (const f of chunk.failures) if (Date.parse(f.time) >= this.#oldest) out.failures.push(f)
    } catch {
      // a read error: try again next time from the same offset
    } finally {
      closeSync(fd)
    }
    return consumed
  }
}
