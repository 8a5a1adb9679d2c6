/**
 * The shim's attachment records (cni/attachment-record.ts) as the collectors read them:
 * which network carries each pod interface (attribution), each probe pod's netns and
 * address on a network, how many attachments each network has (IP counting), and the
 * per-record events the agent learns only from the records (ADD durations, fallbacks,
 * because the shim could not reach the agent when it fell back).
 *
 * One source is shared by the collectors of an agent; a read is reused for
 * `minReadIntervalMs` so three collectors in one cycle read the directory once.
 */
import { statSync } from 'node:fs'
import { readAttachmentRecords, recordDir } from '../contract/attachment-record.js'
import type { AttachmentRecord } from '../contract/attachment-record.js'
import type { AttachmentRef } from './traffic/attribution.js'
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

export interface AttachmentRecordsSourceOptions {
  stateDir: string
  now?: () => number
  minReadIntervalMs?: number
  eventLookbackMs?: number
}

/** Reads `<stateDir>/attachments` and indexes it. */
export class AttachmentRecordsSource {
  readonly stateDir: string
  readonly #now: () => number
  readonly #minReadMs: number
  readonly #startedAtMs: number
  readonly #lookbackMs: number
  #view: RecordsView | undefined
  #dirMtimeNs: bigint | undefined
  #byPod = new Map<string, AttachmentRef[]>()
  // record identity (file + createdAt) → already reported events
  readonly #seenAdd = new Set<string>()
  readonly #seenFallback = new Set<string>()

  constructor (opts: AttachmentRecordsSourceOptions) {
    this.stateDir = opts.stateDir
    this.#now = opts.now ?? Date.now
    this.#minReadMs = opts.minReadIntervalMs ?? ATTACHMENT_SOURCE_DEFAULTS.minReadIntervalMs
    this.#lookbackMs = opts.eventLookbackMs ?? ATTACHMENT_SOURCE_DEFAULTS.eventLookbackMs
    this.#startedAtMs = this.#now()
  }

  /**
   * The records now: read at most every minReadIntervalMs, and parsed again only when the
   * directory changed (see dirSettleMs); `fresh` forces a full read.
   */
  read (fresh = false): RecordsView {
    const now = this.#now()
    if (!fresh && this.#view !== undefined && now - this.#view.atMs < this.#minReadMs && now >= this.#view.atMs) return this.#view
    let mtimeNs: bigint | undefined
    try {
      mtimeNs = statSync(recordDir(this.stateDir), { bigint: true }).mtimeNs
    } catch {
      mtimeNs = undefined // no directory yet: no records
    }
    const settled = mtimeNs !== undefined && BigInt(Date.now()) * 1_000_000n - mtimeNs > BigInt(ATTACHMENT_SOURCE_DEFAULTS.dirSettleMs) * 1_000_000n
    if (!fresh && this.#view !== undefined && settled && mtimeNs === this.#dirMtimeNs) {
      this.#view = { ...this.#view, atMs: now }
      return this.#view
    }
    this.#dirMtimeNs = mtimeNs
    const { records, skipped } = readAttachmentRecords(this.stateDir)
    const attachments = attachmentsOf(records)
    const byPod = new Map<string, AttachmentRef[]>()
    for (const a of attachments) {
      const k = podKey(a.namespace, a.pod)
      let l = byPod.get(k)
      if (l === undefined) byPod.set(k, l = [])
      l.push({ ifname: a.ifname, network: a.network })
    }
    this.#byPod = byPod
    this.#view = { atMs: now, records, skipped, attachments }
    return this.#view
  }

  /** Attribution source: a pod's attachments from the last read. */
  attachmentsOf = (namespace: string, pod: string): readonly AttachmentRef[] | undefined => this.#byPod.get(podKey(namespace, pod))

  /**
   * Events of records not reported before: each record's ADD duration once (when it is
   * 'added'), each fallback once. Records created long before the agent started are
   * skipped (see eventLookbackMs).
   */
  newEvents (view: RecordsView = this.read()): RecordEvent[] {
    const out: RecordEvent[] = []
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
