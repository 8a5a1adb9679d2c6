// Attachment records: what the shim attached for one container, kept in stateDir so
// DEL, CHECK and GC never need the API server or the agent, and so the collectors can
// attribute interfaces to networks.
//
// Format (JSON, one file per attachment = CNI_CONTAINERID + CNI_IFNAME):
//   path:   <stateDir>/attachments/<containerId>@<ifname>.json (container ids never hold an @,
//           so the name is unambiguous even when interface names hold _ or .)
//   fields: see AttachmentRecord below; `format` is 'netrank.io/attachment-record/v1'.
//   life:   written with state 'planned' BEFORE the first delegate ADD (the full plan:
//           every network's conf and interface name), rewritten with state 'added', the
//           delegates' results and addDurationMs after ADD; state 'del-failed' when a
//           delegate DEL failed (kept for the runtime's retry); removed after a clean DEL.
// Every write is atomic: a temp file in the same directory, fsync, rename, fsync of the
// directory. A reader therefore sees the old or the new record, never half of one.
// Different containers use different files, so concurrent operations never clash.
import { closeSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, unlinkSync, writeSync } from 'node:fs'
import { join } from 'node:path'

/** One plugin entry of a delegate conflist (its conf as given). */
export type PluginConf = Record<string, unknown> & { type: string }

/** A delegate network: a conflist, normalized. */
export interface DelegateNetwork {
  name: string
  cniVersion: string
  plugins: PluginConf[]
  disableCheck: boolean
  disableGC: boolean
  /** where it came from: a file path or `nad:<ns>/<name>` */
  source: string
}

/** The record format tag. */
export const RECORD_FORMAT = 'netrank.io/attachment-record/v1'

/** One delegate network attached (or planned) for the container. */
export interface AttachmentEntry {
  /** network name (the conf's `name`) */
  network: string
  /** the NAD as `<namespace>/<name>` when it came from the networks annotation */
  nad?: string
  /** interface name inside the pod */
  ifname: string
  /** the full delegate conf used, so DEL needs nothing else */
  conf: DelegateNetwork
  /** the delegate's ADD result as it printed it (its cniVersion); absent until added */
  result?: unknown
  /** the runtimeConfig its ADD got (portMappings, bandwidth…), passed again on DEL and CHECK */
  runtimeConfig?: Record<string, unknown>
}

/** A container's attachment record. */
export interface AttachmentRecord {
  format: typeof RECORD_FORMAT
  containerId: string
  /** CNI_IFNAME of the shim call (the pod's primary interface) */
  ifname: string
  netns: string
  /** the shim conf's cniVersion */
  cniVersion: string
  pod: { namespace: string, name: string, uid: string } | null
  /** explicit | default | smart | fallback-<why> */
  reason: string
  decisionId: string
  /** network names in attachment order */
  plugins: string[]
  state: 'planned' | 'added' | 'del-failed'
  createdAt: string
  updatedAt: string
  /** wall time of the whole ADD in ms (set when state is 'added') */
  addDurationMs?: number
  /**
   * the shim process that wrote the plan: its pid and its start time in clock ticks since boot
   * (/proc/<pid>/stat field 22), so a reused pid is not mistaken for it. While that process
   * lives, a 'planned' record is an ADD in flight: GC leaves it alone
   */
  owner?: { pid: number, startTicks: string }
  /**
   * the status annotations of an ADD that handed them to the agent (the agent path): an agent
   * killed before it patched them finds them here when it starts again (agent/status-recovery.ts)
   */
  status?: Record<string, string>
  attachments: AttachmentEntry[]
}

/** The directory holding the records. */
export function recordDir (stateDir: string): string {
  return join(stateDir, 'attachments')
}

/** The file of one record. */
export function recordPath (stateDir: string, containerId: string, ifname: string): string {
  return join(recordDir(stateDir), `${containerId}@${ifname}.json`)
}

let tmpCounter = 0

/** Writes `record` atomically (temp file, fsync, rename, fsync dir). */
export function writeRecord (stateDir: string, record: AttachmentRecord): void {
  const dir = recordDir(stateDir)
  mkdirSync(dir, { recursive: true })
  const target = recordPath(stateDir, record.containerId, record.ifname)
  // pid + a per-process counter: unique among concurrent writers without loading node:crypto
  const tmp = join(dir, `.${record.containerId}@${record.ifname}.${process.pid}.${++tmpCounter}.tmp`)
  const fd = openSync(tmp, 'w', 0o600)
  try {
    writeSync(fd, JSON.stringify(record, null, 2) + '\n')
    fsyncSync(fd)
  } finally {
    closeSync(fd)
  }
  try {
    renameSync(tmp, target)
  } catch (err) {
    try { unlinkSync(tmp) } catch { /* already gone */ }
    throw err
  }
  const dfd = openSync(dir, 'r')
  try {
    fsyncSync(dfd)
  } finally {
    closeSync(dfd)
  }
}

function isRecord (v: unknown): v is AttachmentRecord {
  if (typeof v !== 'object' || v === null) return false
  const r = v as Record<string, unknown>
  return r.format === RECORD_FORMAT && typeof r.containerId === 'string' && typeof r.ifname === 'string' && Array.isArray(r.attachments)
}

/** Parses one record's text; throws when it is not a record of this format. */
export function parseRecord (text: string): AttachmentRecord {
  const v: unknown = JSON.parse(text)
  if (!isRecord(v)) throw new Error(`not a ${RECORD_FORMAT} record`)
  return v
}

/** The record of (containerId, ifname), or undefined when there is none. Throws when the file exists but is unreadable. */
export function readRecord (stateDir: string, containerId: string, ifname: string): AttachmentRecord | undefined {
  let text: string
  try {
    text = readFileSync(recordPath(stateDir, containerId, ifname), 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw err
  }
  return parseRecord(text)
}

/** Removes the record of (containerId, ifname); no error when it is already gone. */
export function removeRecord (stateDir: string, containerId: string, ifname: string): void {
  // unlink, not rmSync: rmSync loads Node's rimraf module on every DEL for nothing
  try {
    unlinkSync(recordPath(stateDir, containerId, ifname))
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
  }
}

/**
 * Every record in stateDir (for GC and for the collectors' attribution).
 * Temp files are ignored, files removed while listing are left out, and files that
 * cannot be read or parsed are named in `skipped`.
 */
export function readAttachmentRecords (stateDir: string): { records: AttachmentRecord[], skipped: string[] } {
  const dir = recordDir(stateDir)
  let names: string[]
  try {
    names = readdirSync(dir)
  } catch {
    return { records: [], skipped: [] }
  }
  const records: AttachmentRecord[] = []
  const skipped: string[] = []
  for (const name of names.sort()) {
    if (name.startsWith('.') || !name.endsWith('.json')) continue
    let text: string
    try {
      text = readFileSync(join(dir, name), 'utf8')
    } catch (err) {
      // removed by a DEL between the listing and the read: gone, not broken
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue
      skipped.push(name)
      continue
    }
    try {
      records.push(parseRecord(text))
    } catch {
      skipped.push(name)
    }
  }
  return { records, skipped }
}
