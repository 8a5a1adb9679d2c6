/**
 * The shim's attachment records (cni/attachment-record.ts) as the collectors read them:
 * which network carries each pod interface (attribution), each probe pod's netns and
 * address on a network, how many attachments each network has (IP counting), and the
 * per-record events the agent learns only from the records (ADD durations, fallbacks,
 * because the shim could not reach the agent when it fell back).
 *
 * One source is shared by the collectors of an agent; a read is reused for
 * `minReadIntervalMs` so three collectors in one cycle read the directory once, and a read
 * parses only the record files that changed since the last one.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { parseRecord, recordDir } from '../contract/attachment-record.js'
import type { AttachmentRecord } from '../contract/attachment-record.js'
import type { AttachmentRef } from './traffic/attribution.js'
import { errorText } from './collector-hooks.js'
import type { CollectorHooks } from './collector-hooks.js'
import { podKey } from './traffic/pod-network-counters.js'

export const ATTACHMENT_SOURCE_DEFAULTS = Object.freeze({
  minReadIntervalMs: 1_000, // 1 s: collectors of one cycle share a read
  // events (ADD durations, fallbacks) of records older than this when the agent starts are
  // not counted again: they were counted by the agent that ran then
  eventLookbackMs: 3_600_000, // 1 h
  // The shim writes every record by renaming it into the directory, so an unchanged
  // directory mtime means unchanged records and the parse is skipped. A directory changed
  // this recently is read anyway: two renames within one filesystem timestamp tick would
  // leave the mtime as it was after the first.
  dirSettleMs: 2_000, // 2 s
})

/** One network attachment of one pod on this node. */
export interface RecordedAttachment {
  namespace: string
  pod: string
  podUid: string | undefined
  containerId: string
  network: string
  ifname: string
  netns: string
  /** the pod's first address on this network (no prefix length), when the delegate reported one */
  ip: string | undefined
  state: AttachmentRecord['state']
}

/** What one read of the records gives. */
export interface RecordsView {
  atMs: number
  records: readonly AttachmentRecord[]
  /** record files that could not be read or parsed */
  skipped: readonly string[]
  /** why each skipped file was skipped */
  errors: readonly RecordFileError[]
  attachments: readonly RecordedAttachment[]
}

/** A new record event, reported once per record. */
export interface RecordEvent {
  record: AttachmentRecord
  /** ADD wall time, seconds (records in state 'added' with addDurationMs) */
  addDurationSeconds?: number
  /** the shim's fallback reason (`fallback-<why>`) */
  fallbackReason?: string
}

/** The addresses in a delegate's CNI result (any 0.3.0+ version: `ips[].address` CIDRs). */
export function resultIps (result: unknown): string[] {
  if (result === null || typeof result !== 'object') return []
  const ips = (result as { ips?: unknown }).ips
  if (!Array.isArray(ips)) return []
  const out: string[] = []
  for (const e of ips) {
    const a = e !== null && typeof e === 'object' ? (e as { address?: unknown }).address : undefined
    if (typeof a === 'string' && a !== '') out.push(a.replace(/\/\d+$/, ''))
  }
  return out
}

/** The records' attachments, flattened (records without a pod are runtime-only containers and skipped). */
export function attachmentsOf (records: readonly AttachmentRecord[]): RecordedAttachment[] {
  const out: RecordedAttachment[] = []
  for (const r of records) {
    if (r.pod === null) continue
    for (const a of r.attachments) {
      out.push({
        namespace: r.pod.namespace,
        pod: r.pod.name,
        podUid: r.pod.uid === '' ? undefined : r.pod.uid,
        containerId: r.containerId,
        network: a.network,
        ifname: a.ifname,
        netns: r.netns,
        ip: resultIps(a.result)[0],
        state: r.state,
      })
    }
  }
  return out
}

/** The file system calls the source makes (injectable: tests count reads). */
export interface RecordsFs {
  readdirSync: (path: string) => string[]
  statSync: (path: string, opts: { bigint: true }) => { mtimeNs: bigint, ctimeNs: bigint, size: bigint, ino: bigint }
  readFileSync: (path: string, encoding: 'utf8') => string
}

const NODE_FS: RecordsFs = {
  readdirSync: (p) => readdirSync(p),
  statSync: (p, o) => statSync(p, o),
  readFileSync: (p, e) => readFileSync(p, e),
}

/** A record file that could not be read or parsed, by name. */
export interface RecordFileError {
  file: string
  error: string
}

export interface AttachmentRecordsSourceOptions {
  stateDir: string
  now?: () => number
  minReadIntervalMs?: number
  eventLookbackMs?: number
  /** see ATTACHMENT_SOURCE_DEFAULTS.dirSettleMs; the files' own change times are judged by the same span */
  settleMs?: number
  /** the wall clock the files' times are compared with (default Date.now) */
  wallClock?: () => number
  fs?: RecordsFs
}

/** What the source holds per record file: the stat identity it was parsed at, and the parse. */
interface FileEntry {
  /** mtime, ctime, size and inode: a rename of a new version changes the inode, an edit in place the mtime/size */
  mtimeNs: bigint
  ctimeNs: bigint
  size: bigint
  ino: bigint
  record: AttachmentRecord | undefined
  attachments: RecordedAttachment[]
  /** the attribution refs of the attachments, with their pod key, built once per version */
  refs: FileRef[]
  error: string | undefined
  /** the error was handed out by takeNewErrors() */
  errorTaken: boolean
  /** the read that last found the file in the directory */
  seen: number
}

/** One attachment's ref, and the index keys it is found under. */
interface FileRef {
  podKey: string
  containerId: string
  ref: AttachmentRef
}

function sameIdentity (a: FileEntry, b: FileEntry): boolean {
  return a.mtimeNs === b.mtimeNs && a.ctimeNs === b.ctimeNs && a.size === b.size && a.ino === b.ino
}

function addTo (m: Map<string, Set<string>>, key: string, name: string): void {
  let set = m.get(key)
  if (set === undefined) m.set(key, set = new Set())
  set.add(name)
}

function removeFrom (m: Map<string, Set<string>>, key: string, name: string): void {
  const set = m.get(key)
  if (set === undefined) return
  set.delete(name)
  if (set.size === 0) m.delete(key)
}

/** Read counts since the source was made (what the incremental read saves is visible here). */
export interface RecordsReadStats {
  /** reads that looked at the directory (not served from the minReadIntervalMs reuse) */
  reads: number
  /** reads that stopped at the directory: it had not changed */
  unchangedDir: number
  /** record files read and parsed */
  filesRead: number
  /** record files that failed to read or parse (each version once) */
  fileErrors: number
  /** record files dropped because they were removed */
  filesDropped: number
}

/**
 * Reads `<stateDir>/attachments` and indexes it, incrementally: each record file is read and
 * parsed again only when its (mtime, ctime, size, inode) changed, a removed file is dropped,
 * and a file that cannot be read or parsed is named in `skipped`/`errors` (and kept as such
 * until it changes) instead of failing the read.
 */
export class AttachmentRecordsSource {
  readonly stateDir: string
  readonly #dir: string
  readonly #now: () => number
  readonly #wall: () => number
  readonly #fs: RecordsFs
  readonly #minReadMs: number
  readonly #settleNs: bigint
  readonly #startedAtMs: number
  readonly #lookbackMs: number
  #view: RecordsView | undefined
  #dirMtimeNs: bigint | undefined
  readonly #dirSlash: string
  readonly #files = new Map<string, FileEntry>()
  /** the record file names, sorted; undefined when one came or went */
  #sortedNames: string[] | undefined
  #readCount = 0
  // The attribution index, kept up to date file by file: a pod's (or sandbox's) refs are
  // built again only when one of its files changed, in file-name order over those files.
  readonly #byPod = new Map<string, AttachmentRef[]>()
  readonly #byContainer = new Map<string, AttachmentRef[]>()
  readonly #podFiles = new Map<string, Set<string>>()
  readonly #containerFiles = new Map<string, Set<string>>()
  // record identity (file + createdAt) → already reported events
  readonly #seenAdd = new Set<string>()
  readonly #seenFallback = new Set<string>()
  /** the records array newEvents() last went through: an unchanged view has no new events */
  #eventsOf: readonly AttachmentRecord[] | undefined
  readonly stats: RecordsReadStats = { reads: 0, unchangedDir: 0, filesRead: 0, fileErrors: 0, filesDropped: 0 }

  constructor (opts: AttachmentRecordsSourceOptions) {
    this.stateDir = opts.stateDir
    this.#dir = recordDir(opts.stateDir)
    this.#dirSlash = `${this.#dir}/` // recordDir is normalized: the same path join() gives
    this.#now = opts.now ?? Date.now
    this.#wall = opts.wallClock ?? Date.now
    this.#fs = opts.fs ?? NODE_FS
    this.#minReadMs = opts.minReadIntervalMs ?? ATTACHMENT_SOURCE_DEFAULTS.minReadIntervalMs
    this.#settleNs = BigInt(Math.max(0, Math.round(opts.settleMs ?? ATTACHMENT_SOURCE_DEFAULTS.dirSettleMs))) * 1_000_000n
    this.#lookbackMs = opts.eventLookbackMs ?? ATTACHMENT_SOURCE_DEFAULTS.eventLookbackMs
    this.#startedAtMs = this.#now()
  }

  /**
   * The records now: read at most every minReadIntervalMs; nothing is read when the
   * directory did not change (see dirSettleMs), and otherwise only the files that changed.
   * `fresh` forgets what was parsed and reads every file.
   */
  read (fresh = false): RecordsView {
    const now = this.#now()
    if (!fresh && this.#view !== undefined && now - this.#view.atMs < this.#minReadMs && now >= this.#view.atMs) return this.#view
    this.stats.reads++
    const fs = this.#fs
    const wallNs = BigInt(Math.round(this.#wall())) * 1_000_000n
    let mtimeNs: bigint | undefined
    try {
      mtimeNs = fs.statSync(this.#dir, { bigint: true }).mtimeNs
    } catch {
      mtimeNs = undefined // no directory yet: no records
    }
    const settled = mtimeNs !== undefined && wallNs - mtimeNs > this.#settleNs
    if (!fresh && this.#view !== undefined && settled && mtimeNs === this.#dirMtimeNs) {
      this.stats.unchangedDir++
      this.#view = { ...this.#view, atMs: now }
      return this.#view
    }
    this.#dirMtimeNs = mtimeNs
    if (fresh) {
      for (const name of [...this.#files.keys()]) this.#drop(name)
    }
    let names: string[]
    try {
      names = mtimeNs === undefined ? [] : fs.readdirSync(this.#dir)
    } catch {
      names = []
    }
    // files whose last change is older than this are trusted by their stat identity
    const trustedBeforeNs = wallNs - this.#settleNs
    // fresh: everything was dropped above, so the view is built anew even from an empty directory
    let changed = this.#view === undefined || fresh
    const seen = ++this.#readCount
    for (const name of names) {
      if (name.charCodeAt(0) === 46 /* . */ || !name.endsWith('.json')) continue // temp files
      const path = this.#dirSlash + name
      let st: ReturnType<RecordsFs['statSync']>
      try {
        st = fs.statSync(path, { bigint: true })
      } catch {
        continue // removed by a DEL between the listing and the stat: gone, not broken
      }
      const old = this.#files.get(name)
      // A file changed within the settle span is read again next time too: two versions
      // within one timestamp tick could otherwise share an (mtime, ctime, size, inode).
      if (old !== undefined && old.mtimeNs === st.mtimeNs && old.ctimeNs === st.ctimeNs && old.size === st.size && old.ino === st.ino &&
        st.ctimeNs < trustedBeforeNs) { old.seen = seen; continue }
      const entry = this.#readFile(path, st)
      if (entry === undefined) continue // vanished meanwhile: dropped below if it was known
      entry.seen = seen
      // the same version failing again (a re-read within the settle span) is not a new error
      if (old?.error !== undefined && entry.error !== undefined && sameIdentity(old, entry)) entry.errorTaken = old.errorTaken
      changed = true
      this.#put(name, entry)
    }
    for (const [name, e] of this.#files) {
      if (e.seen !== seen) { this.#drop(name); this.stats.filesDropped++; changed = true }
    }
    if (!changed && this.#view !== undefined) {
      this.#view = { ...this.#view, atMs: now }
      return this.#view
    }
    this.#reindex()
    const sorted = this.#sortedNames ??= [...this.#files.keys()].sort()
    const records: AttachmentRecord[] = []
    const skipped: string[] = []
    const errors: RecordFileError[] = []
    const attachments: RecordedAttachment[] = []
    for (const name of sorted) {
      const e = this.#files.get(name)
      if (e === undefined) continue
      if (e.record === undefined) {
        skipped.push(name)
        errors.push({ file: name, error: e.error ?? 'unreadable' })
        continue
      }
      records.push(e.record)
      for (const a of e.attachments) attachments.push(a)
    }
    this.#view = { atMs: now, records, skipped, errors, attachments }
    return this.#view
  }

  // pod keys and sandbox ids whose refs must be built again (#reindex)
  readonly #dirtyPods = new Set<string>()
  readonly #dirtyContainers = new Set<string>()

  /** A new version of a file (or a new file) in place of the old one. */
  #put (name: string, entry: FileEntry): void {
    const old = this.#files.get(name)
    if (old !== undefined) this.#unindex(name, old)
    else this.#sortedNames = undefined
    this.#files.set(name, entry)
    for (const r of entry.refs) {
      addTo(this.#podFiles, r.podKey, name)
      addTo(this.#containerFiles, r.containerId, name)
      this.#dirtyPods.add(r.podKey)
      this.#dirtyContainers.add(r.containerId)
    }
  }

  /** A file gone. */
  #drop (name: string): void {
    const old = this.#files.get(name)
    if (old === undefined) return
    this.#unindex(name, old)
    this.#files.delete(name)
    this.#sortedNames = undefined
  }

  #unindex (name: string, e: FileEntry): void {
    for (const r of e.refs) {
      removeFrom(this.#podFiles, r.podKey, name)
      removeFrom(this.#containerFiles, r.containerId, name)
      this.#dirtyPods.add(r.podKey)
      this.#dirtyContainers.add(r.containerId)
    }
  }

  /** The refs of every dirty pod and sandbox, from its files in file-name order. */
  #reindex (): void {
    const build = (files: Map<string, Set<string>>, index: Map<string, AttachmentRef[]>, dirty: Set<string>, keyOf: (r: FileRef) => string): void => {
      for (const key of dirty) {
        const names = files.get(key)
        if (names === undefined) { index.delete(key); continue }
        const list: AttachmentRef[] = []
        for (const name of names.size === 1 ? names : [...names].sort()) {
          for (const r of this.#files.get(name)?.refs ?? []) if (keyOf(r) === key) list.push(r.ref)
        }
        index.set(key, list)
      }
      dirty.clear()
    }
    build(this.#podFiles, this.#byPod, this.#dirtyPods, (r) => r.podKey)
    build(this.#containerFiles, this.#byContainer, this.#dirtyContainers, (r) => r.containerId)
  }

  /** One file read and parsed; undefined when it vanished meanwhile. */
  #readFile (path: string, st: ReturnType<RecordsFs['statSync']>): FileEntry | undefined {
    const entry: FileEntry = { mtimeNs: st.mtimeNs, ctimeNs: st.ctimeNs, size: st.size, ino: st.ino, record: undefined, attachments: [], refs: [], error: undefined, errorTaken: false, seen: 0 }
    let text: string
    try {
      text = this.#fs.readFileSync(path, 'utf8')
      this.stats.filesRead++
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined
      entry.error = `cannot read: ${errorText(err)}`
      this.stats.fileErrors++
      return entry
    }
    try {
      entry.record = parseRecord(text)
      entry.attachments = attachmentsOf([entry.record])
      entry.refs = entry.attachments.map((a) => ({ podKey: podKey(a.namespace, a.pod), containerId: a.containerId, ref: { ifname: a.ifname, network: a.network } }))
    } catch (err) {
      entry.error = `not a record: ${errorText(err)}`
      this.stats.fileErrors++
    }
    return entry
  }

  /**
   * Record files that failed since the last call, each failing version once (a file that
   * stays broken is not handed out again until it changes and fails anew).
   */
  takeNewErrors (): RecordFileError[] {
    const out: RecordFileError[] = []
    for (const [file, e] of this.#files) {
      if (e.error === undefined || e.errorTaken) continue
      e.errorTaken = true
      out.push({ file, error: e.error })
    }
    return out
  }

  /** Attribution source: a pod's attachments from the last read. */
  attachmentsOf = (namespace: string, pod: string): readonly AttachmentRef[] | undefined => this.#byPod.get(podKey(namespace, pod))

  /** Attribution source: a sandbox's attachments (the CNI container id is the CRI sandbox id). */
  attachmentsOfContainer = (containerId: string): readonly AttachmentRef[] | undefined => this.#byContainer.get(containerId)

  /**
   * Events of records not reported before: each record's ADD duration once (when it is
   * 'added'), each fallback once. Records created long before the agent started are
   * skipped (see eventLookbackMs).
   */
  newEvents (view: RecordsView = this.read()): RecordEvent[] {
    const out: RecordEvent[] = []
    // the same records as last time: nothing new (the seen sets hold every present record)
    if (view.records === this.#eventsOf) return out
    this.#eventsOf = view.records
    const present = new Set<string>()
    const oldest = this.#startedAtMs - this.#lookbackMs
    for (const r of view.records) {
      const id = `${r.containerId}@${r.ifname}@${r.createdAt}`
      present.add(id)
      const created = Date.parse(r.createdAt)
      if (Number.isFinite(created) && created < oldest) continue
      const ev: RecordEvent = { record: r }
      if (r.state === 'added' && typeof r.addDurationMs === 'number' && r.addDurationMs >= 0 && !this.#seenAdd.has(id)) {
        this.#seenAdd.add(id)
        ev.addDurationSeconds = r.addDurationMs / 1000
      }
      if (r.reason.startsWith('fallback-') && r.state !== 'planned' && !this.#seenFallback.has(id)) {
        this.#seenFallback.add(id)
        ev.fallbackReason = r.reason
      }
      if (ev.addDurationSeconds !== undefined || ev.fallbackReason !== undefined) out.push(ev)
    }
    // forget records that are gone, so the sets stay as small as the directory
    for (const id of this.#seenAdd) if (!present.has(id)) this.#seenAdd.delete(id)
    for (const id of this.#seenFallback) if (!present.has(id)) this.#seenFallback.delete(id)
    return out
  }

  /** Hands new events to the hooks: each ADD's duration, each fallback (counted for the plugin it fell back to). */
  reportEvents (hooks: CollectorHooks | undefined, view: RecordsView = this.read()): void {
    for (const ev of this.newEvents(view)) {
      if (ev.addDurationSeconds !== undefined) hooks?.cniAddDuration?.(ev.addDurationSeconds)
      if (ev.fallbackReason !== undefined) hooks?.fallback?.(ev.record.plugins[0] ?? 'none', ev.fallbackReason)
    }
  }
}
