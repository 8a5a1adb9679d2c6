/**
 * The decision audit: one JSON line per answered /v1/select, written to the OS before the
 * answer leaves, made durable (fdatasync) in the background at least every `syncIntervalMs`
 * (100 ms), at rotation and at close. The guarantee: an answered decision survives the agent
 * being killed (SIGKILL included: the kernel holds what was written); a machine crash can
 * lose at most the last `syncIntervalMs` of decisions, whose pods still carry them (the
 * shim's fsync'd attachment record and the pod's netrank.io/selection annotation hold the
 * decisionId). Answering no longer waits for the disk: a write() costs microseconds, an
 * fdatasync 0.5–2 ms. Concurrent decisions share one write (group commit). Files rotate by size
 * (audit-0001.jsonl, audit-0002.jsonl …, the oldest beyond maxFiles deleted) and are read
 * back on start; a torn last line from a crash is skipped, counted and cut off.
 */
import { mkdir, open, readdir, readFile, truncate, unlink } from 'node:fs/promises'
import type { FileHandle } from 'node:fs/promises'
import { join } from 'node:path'
import type { DecisionRecord } from '../contract/decision-record.js'
import type { Logger } from '../contract/logger.js'

export interface AuditLogOptions {
  dir: string
  maxFileBytes: number
  maxFiles: number
  /** told about skipped lines (warn) and rotations (info) */
  log?: Pick<Logger, 'info' | 'warn'>
  /** the longest a written decision waits for its fdatasync, ms (default 100) */
  syncIntervalMs?: number
}

export const AUDIT_SYNC_INTERVAL_MS = 100

interface Entry { file: number, atMs: number, rec: DecisionRecord }
interface Pending { line: string, rec: DecisionRecord, resolve: () => void, reject: (err: unknown) => void }

const FILE_RE = /^audit-(\d+)\.jsonl$/
const fileName = (n: number): string => `audit-${String(n).padStart(4, '0')}.jsonl`

function isRecord (v: unknown): v is DecisionRecord {
  if (v === null || typeof v !== 'object') return false
  const r = v as Record<string, unknown>
  return typeof r.seq === 'number' && typeof r.decisionId === 'string' && typeof r.at === 'string' &&
    typeof r.plugin === 'string' && typeof r.reason === 'string' && typeof r.profile === 'string'
}

/** The append-only, fdatasync'd, size-rotated decision log. Create with `AuditLog.open()`. */
export class AuditLog {
  /** lines that could not be read back on open (torn or corrupt) */
  skippedLines = 0
  private readonly opts: AuditLogOptions
  private entries: Entry[] = []
  private fh: FileHandle | undefined
  private fileNo = 1
  private size = 0
  private pending: Pending[] = []
  private flushing: Promise<void> = Promise.resolve()
  private flushActive = false
  /** bytes written but not yet fdatasync'd */
  private unsynced = 0
  private syncTimer: NodeJS.Timeout | undefined
  private syncing: Promise<void> = Promise.resolve()
  /** fdatasync failures since open (the decisions stay written; the next sync tries again) */
  syncFailures = 0

  private constructor (opts: AuditLogOptions) {
    this.opts = opts
  }

  /** Opens (creating) the audit dir and reads every retained file back. */
  static async open (opts: AuditLogOptions): Promise<AuditLog> {
    const log = new AuditLog(opts)
    await log.load()
    return log
  }

  /** bytes written to the OS and not yet fdatasync'd */
  get unsyncedBytes (): number {
    return this.unsynced
  }

  get isOpen (): boolean {
    return this.fh !== undefined
  }

  /** Decisions retained in the files, oldest first. */
  records (): readonly DecisionRecord[] {
    return this.entries.map((e) => e.rec)
  }

  /** The highest decision sequence seen (0 when none). */
  get lastSeq (): number {
    return this.entries.at(-1)?.rec.seq ?? 0
  }

  /** Decisions with seq > since, oldest first, at most `limit`. */
  page (since: number, limit: number): { decisions: DecisionRecord[], more: boolean } {
    // entries are in seq order: binary search for the first seq > since
    let lo = 0
    let hi = this.entries.length
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if ((this.entries[mid]?.rec.seq ?? 0) <= since) lo = mid + 1
      else hi = mid
    }
    const slice = this.entries.slice(lo, lo + limit).map((e) => e.rec)
    return { decisions: slice, more: lo + limit < this.entries.length }
  }

  /** Decisions made at or after `fromMs`. */
  since (fromMs: number): DecisionRecord[] {
    const out: DecisionRecord[] = []
    for (let i = this.entries.length - 1; i >= 0; i--) {
      const e = this.entries[i]
      if (e === undefined || e.atMs < fromMs) break
      out.push(e.rec)
    }
    return out.reverse()
  }

  /** Appends one decision; resolves once it is written to the OS (fdatasync follows within syncIntervalMs). */
  append (rec: DecisionRecord): Promise<void> {
    if (this.fh === undefined) return Promise.reject(new Error('the audit log is closed'))
    return new Promise<void>((resolve, reject) => {
      this.pending.push({ line: `${JSON.stringify(rec)}\n`, rec, resolve, reject })
      // the flag is cleared synchronously when the flush loop finds nothing left, so an append
      // that arrives after that always starts a new flush (never strands in the queue)
      if (!this.flushActive) {
        this.flushActive = true
        this.flushing = this.flush()
      }
    })
  }

  /** Waits for pending appends, makes them durable, then closes the file. */
  async close (): Promise<void> {
    while (this.flushActive) await this.flushing
    await this.syncNow()
    const fh = this.fh
    this.fh = undefined
    await fh?.close()
  }

  /** fdatasync what was written; a failure is counted and logged, the next write schedules another. */
  async syncNow (): Promise<void> {
    if (this.syncTimer !== undefined) { clearTimeout(this.syncTimer); this.syncTimer = undefined }
    await this.syncing
    if (this.unsynced === 0 || this.fh === undefined) return
    const fh = this.fh
    const bytes = this.unsynced
    this.syncing = (async () => {
      try {
        // fdatasync: the data and the metadata needed to read it back (the file size), all an
        // append needs; ~4× cheaper than fsync on ext4 here (0.5 ms vs 2 ms p50)
        await fh.datasync()
        this.unsynced -= bytes
      } catch (err) {
        this.syncFailures++
        this.opts.log?.warn({ err, unsyncedBytes: this.unsynced }, 'audit: fdatasync failed; will retry with the next write')
      }
    })()
    await this.syncing
  }

  private scheduleSync (): void {
    if (this.syncTimer !== undefined) return
    this.syncTimer = setTimeout(() => { this.syncTimer = undefined; void this.syncNow() }, this.opts.syncIntervalMs ?? AUDIT_SYNC_INTERVAL_MS)
    this.syncTimer.unref()
  }

  private async load (): Promise<void> {
    const { dir } = this.opts
    await mkdir(dir, { recursive: true })
    const numbers = (await readdir(dir))
      .map((f) => FILE_RE.exec(f))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => Number(m[1]))
      .sort((a, b) => a - b)
    for (const [i, n] of numbers.entries()) {
      const path = join(dir, fileName(n))
      const text = await readFile(path, 'utf8')
      const last = i === numbers.length - 1
      let body = text
      if (last && text.length > 0 && !text.endsWith('\n')) {
        // a crash mid-write leaves a line without its newline: cut it off so the next append starts clean
        const keep = text.lastIndexOf('\n') + 1
        body = text.slice(0, keep)
        this.skippedLines++
        this.opts.log?.warn({ file: path, bytes: Buffer.byteLength(text.slice(keep)) }, 'audit: skipped a torn last line')
        await truncate(path, Buffer.byteLength(body))
      }
      for (const line of body.split('\n')) {
        if (line === '') continue
        let rec: unknown
        try {
          rec = JSON.parse(line)
        } catch {
          rec = undefined
        }
        if (!isRecord(rec) || rec.seq <= this.lastSeq) {
          this.skippedLines++
          this.opts.log?.warn({ file: path, line: line.slice(0, 120) }, 'audit: skipped an unreadable line')
          continue
        }
        this.entries.push({ file: n, atMs: Date.parse(rec.at), rec })
      }
      if (last) {
        this.fileNo = n
        this.size = Buffer.byteLength(body)
      }
    }
    this.fh = await open(join(dir, fileName(this.fileNo)), 'a')
    await syncDir(dir)
  }

  private async flush (): Promise<void> {
    while (this.pending.length > 0) {
      const batch = this.pending.splice(0)
      try {
        let chunk: Pending[] = []
        let chunkBytes = 0
        for (const p of batch) {
          const bytes = Buffer.byteLength(p.line)
          if (this.size + chunkBytes > 0 && this.size + chunkBytes + bytes > this.opts.maxFileBytes) {
            await this.writeToOs(chunk, chunkBytes)
            chunk = []
            chunkBytes = 0
            await this.rotate()
          }
          chunk.push(p)
          chunkBytes += bytes
        }
        await this.writeToOs(chunk, chunkBytes)
        for (const p of batch) p.resolve()
      } catch (err) {
        await this.dropPartialWrite()
        for (const p of batch) p.reject(err)
      }
    }
    this.flushActive = false
  }

  private async writeToOs (chunk: Pending[], bytes: number): Promise<void> {
    if (chunk.length === 0) return
    const fh = this.fh
    if (fh === undefined) throw new Error('the audit log is closed')
    await fh.write(chunk.map((p) => p.line).join(''))
    this.size += bytes
    this.unsynced += bytes
    this.scheduleSync()
    for (const p of chunk) this.entries.push({ file: this.fileNo, atMs: Date.parse(p.rec.at), rec: p.rec })
  }

  // After a failed write or sync, bytes past the last synced size may be a partial line that
  // would swallow the next decision; cut them off, or stop appending if even that fails.
  private async dropPartialWrite (): Promise<void> {
    try {
      await this.fh?.truncate(this.size)
    } catch (err) {
      this.opts.log?.warn({ err }, 'audit: cannot cut off an unsynced write; refusing further decisions')
      const fh = this.fh
      this.fh = undefined
      await fh?.close().catch(() => undefined)
    }
  }

  private async rotate (): Promise<void> {
    // the old file's last writes are made durable before it is closed
    await this.syncNow()
    await this.fh?.close()
    this.fileNo++
    this.size = 0
    this.fh = await open(join(this.opts.dir, fileName(this.fileNo)), 'a')
    await syncDir(this.opts.dir)
    const oldestKept = this.fileNo - this.opts.maxFiles + 1
    const deleted: string[] = []
    for (const f of await readdir(this.opts.dir)) {
      const m = FILE_RE.exec(f)
      if (m !== null && Number(m[1]) < oldestKept) {
        await unlink(join(this.opts.dir, f)).catch(() => undefined)
        deleted.push(f)
      }
    }
    this.entries = this.entries.filter((e) => e.file >= oldestKept)
    this.opts.log?.info({ file: fileName(this.fileNo), deleted }, 'audit: rotated')
  }
}

// A new file's directory entry is durable only once the directory itself is fsync'd.
async function syncDir (dir: string): Promise<void> {
  const d = await open(dir, 'r')
  try {
    await d.sync()
  } finally {
    await d.close()
  }
}
